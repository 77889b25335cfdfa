#include "steerdns/control/metrics.h"

#include <charconv>

#include "steerdns/dns/rr_type.h"
#include "steerdns/dns/wire.h"
#include "steerdns/health/check.h"
#include "steerdns/zone/drain_set.h"

namespace steerdns::control {

std::string escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

void MetricsWriter::family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    for (char c : help) {  // HELP escapes backslash and line feed only
        if (c == '\\') {
            out_ += "\\\\";
        } else if (c == '\n') {
            out_ += "\\n";
        } else {
            out_ += c;
        }
    }
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
}

void MetricsWriter::head(std::string_view name, Labels labels) {
    out_ += name;
    if (labels.size() > 0) {
        out_ += '{';
        bool first = true;
        for (const auto& [k, v] : labels) {
            if (!first) out_ += ',';
            first = false;
            out_ += k;
            out_ += "=\"";
            out_ += escape_label_value(v);
            out_ += '"';
        }
        out_ += '}';
    }
    out_ += ' ';
}

void MetricsWriter::sample(std::string_view name, Labels labels, uint64_t value) {
    head(name, labels);
    out_ += std::to_string(value);
    out_ += '\n';
}

void MetricsWriter::sample(std::string_view name, Labels labels, double value) {
    head(name, labels);
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, value);  // shortest round-trip form
    out_.append(buf, r.ptr);
    out_ += '\n';
}

std::string qtype_label(size_t slot) {
    return slot < kQtypeSlots - 1 ? dns::rr_type_text(kCountedQtypes[slot]) : "other";
}

std::string rcode_label(size_t rcode) {
    const char* name = dns::rcode_name(static_cast<uint16_t>(rcode));
    return name != nullptr ? name : std::to_string(rcode);
}

std::string render_metrics(const StatusModel& status, const ResponseTotals& responses,
                           const ServerCounters& c) {
    MetricsWriter w;
    w.family("steerdns_build_info", "gauge",
             "Always 1; the version and the --nsid (\"\" when unset) in labels, which tell the "
             "servers of one NS set apart.");
    w.sample("steerdns_build_info", {{"version", status.version}, {"nsid", status.nsid}},
             uint64_t{1});
    w.family("steerdns_start_time_seconds", "gauge", "When the daemon started, Unix time.");
    w.sample("steerdns_start_time_seconds", {},
             static_cast<double>(status.started_unix_ms) / 1000.0);

    w.family("steerdns_queries_total", "counter",
             "DNS queries answered, by transport, query type and response code.");
    for (size_t t = 0; t < 2; ++t) {
        const char* transport = t == 0 ? "udp" : "tcp";
        for (size_t q = 0; q < kQtypeSlots; ++q) {
            for (size_t r = 0; r < kRcodeSlots; ++r) {
                if (c.queries[t][q][r] == 0) continue;  // only combinations seen
                w.sample("steerdns_queries_total",
                         {{"transport", transport},
                          {"qtype", qtype_label(q)},
                          {"rcode", rcode_label(r)}},
                         c.queries[t][q][r]);
            }
        }
    }
    w.family("steerdns_truncated_responses_total", "counter",
             "UDP responses sent with TC set because the answer did not fit.");
    w.sample("steerdns_truncated_responses_total", {}, c.truncated);
    w.family("steerdns_dropped_packets_total", "counter",
             "Packets received and not answered, by reason.");
    w.sample("steerdns_dropped_packets_total", {{"reason", "malformed"}}, c.dropped_malformed);
    w.sample("steerdns_dropped_packets_total", {{"reason", "oversized"}}, c.dropped_oversized);
    w.sample("steerdns_dropped_packets_total", {{"reason", "source_port_zero"}},
             c.dropped_source_port);
    w.sample("steerdns_dropped_packets_total", {{"reason", "reflection"}}, c.reflection_dropped);
    w.family("steerdns_rrl_responses_total", "counter",
             "UDP responses held back by response rate limiting, by action (dropped, or slipped: "
             "sent as an empty TC=1 answer).");
    w.sample("steerdns_rrl_responses_total", {{"action", "dropped"}}, c.rrl_dropped);
    w.sample("steerdns_rrl_responses_total", {{"action", "slipped"}}, c.rrl_slipped);
    w.family("steerdns_send_failures_total", "counter",
             "UDP responses the kernel would not send (full buffer, unreachable peer).");
    w.sample("steerdns_send_failures_total", {}, c.send_failed);
    w.family("steerdns_tcp_connections_total", "counter", "TCP connections accepted.");
    w.sample("steerdns_tcp_connections_total", {}, c.tcp_accepted);
    w.family("steerdns_tcp_connections_rejected_total", "counter",
             "TCP connections closed at once, by the cap reached (--tcp-max-clients, "
             "--tcp-max-clients-per-address).");
    w.sample("steerdns_tcp_connections_rejected_total", {{"cap", "total"}}, c.tcp_rejected);
    w.sample("steerdns_tcp_connections_rejected_total", {{"cap", "per_address"}},
             c.tcp_rejected_per_client);
    w.family("steerdns_tcp_connections_closed_total", "counter",
             "TCP connections we closed, by reason: a timeout, or --tcp-max-queries reached.");
    w.sample("steerdns_tcp_connections_closed_total", {{"reason", "idle_timeout"}},
             c.tcp_idle_timeouts);
    w.sample("steerdns_tcp_connections_closed_total", {{"reason", "read_timeout"}},
             c.tcp_read_timeouts);
    w.sample("steerdns_tcp_connections_closed_total", {{"reason", "write_timeout"}},
             c.tcp_write_timeouts);
    w.sample("steerdns_tcp_connections_closed_total", {{"reason", "query_limit"}},
             c.tcp_query_limit_closes);
    w.family("steerdns_query_log_dropped_total", "counter",
             "--query-log records lost because the writer fell behind.");
    w.sample("steerdns_query_log_dropped_total", {}, c.query_log_dropped);
    w.family("steerdns_why_queries_total", "counter",
             "`_why` decision-trace queries: answered, or refused (client not in "
             "--explain-from).");
    w.sample("steerdns_why_queries_total", {{"result", "answered"}}, c.why_answered);
    w.sample("steerdns_why_queries_total", {{"result", "refused"}}, c.why_refused);
    w.family("steerdns_signature_cache_total", "counter",
             "Signed zones: balanced answer sets not signed at load, found in a worker's "
             "--signature-cache (hit), signed on first use (miss), or evicted.");
    w.sample("steerdns_signature_cache_total", {{"result", "hit"}}, c.signature_cache_hits);
    w.sample("steerdns_signature_cache_total", {{"result", "miss"}}, c.signature_cache_misses);
    w.sample("steerdns_signature_cache_total", {{"result", "eviction"}},
             c.signature_cache_evictions);
    w.family("steerdns_probes_delayed_total", "counter",
             "Health probe runs that waited for a place under --max-probes-in-flight or "
             "--max-exec-checks.");
    w.sample("steerdns_probes_delayed_total", {}, c.probes_delayed);

    w.family("steerdns_pool_responses_total", "counter",
             "A/AAAA queries answered by a balanced name (pool), whatever the answer.");
    // The pools and members served (by position in the layout), then those kept by name.
    const auto pool_family = [&](std::string_view name, size_t counter) {
        for (size_t zi = 0; zi < responses.layout.size(); ++zi) {
            const zone::Zone& z = *responses.layout[zi];
            const std::string apex = z.apex_text();
            for (size_t pi = 0; pi < z.pools.size(); ++pi)
                w.sample(name, {{"zone", apex}, {"pool", z.pools[pi].name}},
                         responses.counts[zi][pi][counter]);
        }
        for (const auto& [k, v] : responses.pools)
            w.sample(name, {{"zone", std::get<0>(k)}, {"pool", std::get<1>(k)}}, v[counter]);
    };
    pool_family("steerdns_pool_responses_total", Snapshot::kPoolResponses);
    w.family("steerdns_pool_fallback_responses_total", "counter",
             "Pool queries answered by the pool's fallback: no member was up.");
    pool_family("steerdns_pool_fallback_responses_total", Snapshot::kPoolFallbacks);
    w.family("steerdns_member_responses_total", "counter",
             "Answers a member was in (counted in the pool that answered).");
    for (size_t zi = 0; zi < responses.layout.size(); ++zi) {
        const zone::Zone& z = *responses.layout[zi];
        const std::string apex = z.apex_text();
        for (size_t pi = 0; pi < z.pools.size(); ++pi) {
            const lb::Pool& p = z.pools[pi];
            for (size_t mi = 0; mi < p.members.size(); ++mi) {
                std::string address = zone::canonical_address(p.members[mi].address_text);
                if (address.empty()) address = p.members[mi].address_text;
                w.sample("steerdns_member_responses_total",
                         {{"zone", apex}, {"pool", p.name}, {"address", address}},
                         responses.counts[zi][pi][Snapshot::kPoolMembers + mi]);
            }
        }
    }
    for (const auto& [k, v] : responses.members)
        w.sample("steerdns_member_responses_total",
                 {{"zone", std::get<0>(k)}, {"pool", std::get<1>(k)}, {"address", std::get<2>(k)}},
                 v);

    w.family("steerdns_member_up", "gauge",
             "1 when the member's health allows answering it (up, or not probed yet), 0 when "
             "its probe says down, it is pending (added by a reload, not probed yet) or in "
             "standby (up, awaiting failback).");
    for (const ZoneStatus& z : status.zones)
        for (const PoolStatus& p : z.pools)
            for (const MemberStatus& m : p.members)
                w.sample(
                    "steerdns_member_up",
                    {{"zone", z.zone}, {"pool", p.name}, {"address", m.address}},
                    uint64_t{m.health == "down" || m.health == "pending" || m.health == "standby"
                                 ? 0u
                                 : 1u});
    w.family("steerdns_member_drained", "gauge",
             "1 when the member is out of answers by a drain (POST /drain or \"enabled\": false).");
    for (const ZoneStatus& z : status.zones)
        for (const PoolStatus& p : z.pools)
            for (const MemberStatus& m : p.members)
                w.sample("steerdns_member_drained",
                         {{"zone", z.zone}, {"pool", p.name}, {"address", m.address}},
                         uint64_t{m.drained ? 1u : 0u});
    w.family("steerdns_member_draining", "gauge",
             "1 while a drained member may still be in resolvers' caches (until the pool's TTL "
             "has passed since it left the answers).");
    for (const ZoneStatus& z : status.zones)
        for (const PoolStatus& p : z.pools)
            for (const MemberStatus& m : p.members)
                w.sample("steerdns_member_draining",
                         {{"zone", z.zone}, {"pool", p.name}, {"address", m.address}},
                         uint64_t{m.state == "draining" ? 1u : 0u});
    w.family("steerdns_probe_duration_seconds", "gauge",
             "How long the member's last health probe took.");
    for (const ZoneStatus& z : status.zones)
        for (const PoolStatus& p : z.pools)
            for (const MemberStatus& m : p.members)
                if (m.latency_seconds)
                    w.sample("steerdns_probe_duration_seconds",
                             {{"zone", z.zone}, {"pool", p.name}, {"address", m.address}},
                             *m.latency_seconds);
    w.family("steerdns_probe_results_total", "counter",
             "Health probe results, by check type and outcome.");
    for (size_t t = 0; t < c.probe_results.success.size(); ++t) {
        const auto type = static_cast<health::CheckType>(t);
        if (type == health::CheckType::none) continue;
        const char* name = health::check_type_name(type);
        w.sample("steerdns_probe_results_total", {{"type", name}, {"outcome", "success"}},
                 c.probe_results.success[t]);
        w.sample("steerdns_probe_results_total", {{"type", name}, {"outcome", "failure"}},
                 c.probe_results.failure[t]);
    }

    w.family("steerdns_reloads_total", "counter",
             "Reloads that read or dropped a zone file, by result (failure: a file was rejected "
             "and its previous version kept serving).");
    w.sample("steerdns_reloads_total", {{"result", "success"}}, c.reloads_success);
    w.sample("steerdns_reloads_total", {{"result", "failure"}}, c.reloads_failure);
    w.family("steerdns_zone_serial", "gauge", "SOA serial of the zone version serving.");
    for (const ZoneStatus& z : status.zones)
        w.sample("steerdns_zone_serial", {{"zone", z.zone}}, uint64_t{z.serial});
    w.family("steerdns_zone_file_rejected", "gauge",
             "1 when the zone file's current text is rejected (its previous version, or "
             "another file's, serves); one series per file.");
    for (const ZoneStatus& z : status.zones)
        w.sample("steerdns_zone_file_rejected", {{"zone", z.zone}, {"file", z.file}},
                 uint64_t{z.errors.empty() ? 0u : 1u});
    // Files none of whose text serves: never loaded, or a duplicate of a served zone.
    for (const RejectedFile& r : status.rejected)
        w.sample("steerdns_zone_file_rejected", {{"zone", r.zone}, {"file", r.file}}, uint64_t{1});
    return w.text();
}

}  // namespace steerdns::control
