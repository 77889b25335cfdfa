#include "steerdns/answer/why.h"

#include <algorithm>
#include <map>

#include "steerdns/dns/name.h"
#include "steerdns/dns/rr_type.h"
#include "steerdns/dns/wire.h"
#include "steerdns/health/composite.h"
#include "steerdns/lb/client_net.h"
#include "steerdns/lb/eligible.h"
#include "steerdns/lb/policy_geo.h"
#include "steerdns/lb/trace.h"
#include "steerdns/util/clock.h"
#include "steerdns/util/sockaddr.h"

namespace steerdns::why {
namespace {

// A TXT character-string holds 255 bytes; a longer line is cut and says so.
constexpr size_t kMaxLine = 255;

// CNAME chains are followed as far as the answer follows them.
constexpr int kMaxChain = 8;

void add(std::vector<std::string>& lines, std::string line) {
    if (line.size() > kMaxLine) {
        line.resize(kMaxLine - 3);
        line += "...";
    }
    lines.push_back(std::move(line));
}

std::string net_text(const lb::ClientNet& net) {
    std::string s = util::address_text(net.family, net.address);
    s += '/';
    s += std::to_string(net.prefix);
    return s;
}

std::string ms_text(double seconds) {
    const double ms = seconds * 1000.0;
    if (ms < 10) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.1fms", ms);
        return buf;
    }
    return std::to_string(static_cast<long long>(ms + 0.5)) + "ms";
}

std::string region_name(const lb::Pool& pool, uint16_t id) {
    if (pool.geo && id < pool.geo->region_names.size()) return pool.geo->region_names[id];
    return "(none)";
}

std::string client_line(const lb::Client& c) {
    const lb::ClientNet where = lb::client_address(c);
    const std::string resolver = util::address_text(c.family, c.address);
    if (where.from_ecs) return "client " + net_text(where) + " (ECS; resolver " + resolver + ")";
    return "client " + util::address_text(where.family, where.address) +
           " (source address; no ECS)";
}

// What the policy keys on, per pool kind, for the member lines.
bool shows_weight(lb::Policy p) {
    return p == lb::Policy::weighted || p == lb::Policy::hash || p == lb::Policy::geo;
}

// A composite check: each part's state, then why each failing part failed.
// " checks web up, api down (require all); api: http GET /api: status 500"
std::string composite_text(const lb::Member& m, const health::HealthTable* health,
                           const ProbeLookup& probes) {
    std::vector<std::string> names;
    std::vector<health::State> states;
    for (const lb::CheckPart& part : m.check_parts) {
        names.push_back(part.name);
        states.push_back(health->state(part.slot));
    }
    std::string s = " checks " + health::composite_reason(names, states, m.check_require);
    for (size_t i = 0; i < m.check_parts.size(); ++i) {
        if (states[i] != health::State::down) continue;
        health::ProbeStatus st;
        s.append("; ").append(names[i]).append(": ");
        s.append(probes && probes(m.check_parts[i].slot, st) && st.has_result ? st.last_reason
                                                                              : "down");
    }
    return s;
}

// Why a family is degraded, from the health answers read: "1 of 2 down", "1 of 2 awaiting
// failback", "1 of 3 down, 1 pending"; "" when every member is up (or unknown). Pending and
// standby members are not down: they are answered only when nothing else is.
std::string degraded_text(const lb::FamilySet& fs, const health::HealthTable* health) {
    if (health == nullptr || !fs.probed) return "";
    uint32_t down = 0, pending = 0, standby = 0;
    for (const uint32_t slot : fs.slots) {
        const health::State st = health->state(slot);
        down += st == health::State::down ? 1 : 0;
        pending += st == health::State::pending ? 1 : 0;
        standby += st == health::State::standby ? 1 : 0;
    }
    std::string s;
    const auto part = [&](uint32_t n, const char* what) {
        if (n == 0) return;
        const bool first = s.empty();
        if (!first) s += ", ";
        s += std::to_string(n);
        if (first) s.append(" of ").append(std::to_string(fs.size()));
        s.append(1, ' ').append(what);
    };
    part(down, "down");
    part(pending, "pending");
    part(standby, "awaiting failback");
    return s;
}

std::string member_line(const lb::Pool& pool, const lb::Member& m, const lb::TraceStep& step,
                        const health::HealthTable* health, const ProbeLookup& probes,
                        int64_t now_unix_ms, bool answered) {
    std::string s = "member " + m.address_text + " ";
    health::ProbeStatus st;
    const bool has_status = m.probe_slot != health::kNoProbe && probes && probes(m.probe_slot, st);
    if (!m.enabled) {
        s += m.drained          ? "drained (api)"
             : m.in_maintenance ? "drained (maintenance window)"
                                : "disabled (zone file: \"enabled\": false)";
    } else if (m.probe_slot == health::kNoProbe || health == nullptr) {
        s += "up (no health check)";
    } else {
        const health::State state = health->state(m.probe_slot);
        if (has_status && st.suppressed && state == health::State::down) {
            // Flap damping holds it down whatever its probes say now.
            s += "suppressed (" + st.suppressed_reason + "; until " +
                 util::rfc3339(st.suppressed_until_unix_ms) + ")";
        } else if (state == health::State::standby) {
            // Up, held out by the pool's "failback" while another member is up.
            s += "up, awaiting failback";
            if (has_status && st.standby_until_unix_ms > 0) {
                const int64_t left =
                    std::max<int64_t>(0, (st.standby_until_unix_ms - now_unix_ms + 999) / 1000);
                s += ", " + std::to_string(left) + " s left";
            } else {
                s += " (manual)";
            }
        } else {
            s +=
                state == health::State::down ? "down"
                : state == health::State::up ? "up"
                : state == health::State::pending
                    ? "pending (added by a reload, no result yet: answered only if nothing else is)"
                    : "unknown (no result yet: counts as up)";
        }
        if (has_status && st.since_unix_ms > 0) s += " since " + util::rfc3339(st.since_unix_ms);
        if (has_status && st.saved) s += " (saved state, not probed since the start)";
    }
    if (shows_weight(pool.policy)) s.append(" weight ").append(std::to_string(m.weight));
    if (pool.policy == lb::Policy::failover) s += " priority " + std::to_string(m.priority);
    if (step.geo || !m.region.empty()) s += " region " + (m.region.empty() ? "(none)" : m.region);
    if (!m.check_parts.empty() && m.enabled && health != nullptr) {
        s += composite_text(m, health, probes);
    } else if (has_status && st.has_result) {
        s += " " + st.last_reason;
        if (!st.saved) s += " " + ms_text(st.last_seconds);  // the file keeps no duration
    }
    if (answered) s += " [answered]";
    return s;
}

std::string geo_line(const lb::Pool& pool, const lb::TraceStep& step) {
    const lb::GeoMatch& w = step.where;
    std::string s = "geo: client region ";
    if (w.region == lb::kNoRegion) {
        s += "none (no rule matched and no default): every member is as near";
    } else {
        s += region_name(pool, w.region);
        s += " (";
        s += lb::geo_source_name(w.source);
        s += w.source == lb::GeoSource::fallback_default ? ")" : " rule)";
        s += "; tries";
        if (w.region < pool.regions.region_count()) {
            for (const uint16_t r : pool.regions.order(w.region))
                s.append(1, ' ').append(region_name(pool, r));
        }
    }
    return s;
}

// Among the up members of a failover pool, the priorities in order and how many are up.
std::string tier_line(const lb::Pool& pool, const lb::FamilySet& fs,
                      const health::HealthTable* health, const lb::Selection& sel, bool answered) {
    std::map<int32_t, std::pair<uint32_t, uint32_t>, std::greater<>> tiers;  // up, total
    std::map<int32_t, uint32_t> waiting;  // awaiting failback: up, but not answered first
    for (size_t i = 0; i < fs.size(); ++i) {
        const lb::Member& m = pool.members[fs.members[i]];
        auto& t = tiers[m.priority];
        ++t.second;
        if (health == nullptr || health->preferred(fs.slots[i])) ++t.first;
        if (health != nullptr && health->state(fs.slots[i]) == health::State::standby)
            ++waiting[m.priority];
    }
    std::string s = "failover tiers:";
    for (const auto& [priority, counts] : tiers) {
        s += " priority " + std::to_string(priority) + " (" + std::to_string(counts.first) +
             " of " + std::to_string(counts.second) + " up";
        if (const auto w = waiting.find(priority); w != waiting.end())
            s.append(", ").append(std::to_string(w->second)).append(" awaiting failback");
        s += ")";
    }
    if (answered && sel.count > 0) {
        const lb::Member& first = pool.members[fs.members[sel.position(0)]];
        s += "; answering: priority " + std::to_string(first.priority);
    }
    return s;
}

void describe_pool_step(std::vector<std::string>& lines, const lb::TraceStep& step, size_t hop,
                        uint16_t qtype, const health::HealthTable* health, const lb::Selection& sel,
                        bool answering, const ProbeLookup& probes, int64_t now_unix_ms,
                        size_t max_members) {
    const lb::Pool& pool = *step.pool;
    const lb::FamilySet& fs = pool.family(qtype);
    std::string head = hop == 0 ? "pool " : "fallback pool ";
    head += pool.name;
    head += " policy ";
    head += lb::policy_name(pool.policy);
    head += " answers " + (pool.answers == 0 ? std::string("all") : std::to_string(pool.answers));
    head += " ttl " + std::to_string(pool.ttl);
    size_t drained = 0;   // through the API
    size_t disabled = 0;  // by the file
    const uint8_t family = qtype == dns::type::AAAA ? 6 : 4;
    for (const lb::Member& m : pool.members) {
        if (m.family != family || m.enabled) continue;
        ++(m.drained ? drained : disabled);
    }
    const std::string degraded = degraded_text(fs, health);
    if (step.family_size == 0)
        head += " (no " + std::string(dns::rr_type_name(qtype)) + " member)";
    else if (degraded.empty())
        head += " (all " + std::to_string(step.family_size) + " up)";
    else
        head += " (degraded: " + degraded + ")";
    if (drained > 0) head.append(1, ' ').append(std::to_string(drained)).append(" drained");
    if (disabled > 0) head.append(1, ' ').append(std::to_string(disabled)).append(" disabled");
    add(lines, std::move(head));

    if (step.geo) add(lines, geo_line(pool, step));
    if (step.hashed)
        add(lines, "hash: keyed on " + net_text(step.subnet) +
                       (step.subnet.from_ecs ? " (the ECS source prefix)"
                                             : " (the source address's /" +
                                                   std::to_string(step.subnet.prefix) + ")"));
    if (pool.policy == lb::Policy::failover && step.family_size > 0)
        add(lines, tier_line(pool, fs, health, sel, answering));

    // Members of the family in file order, drained ones included (they are not in `fs`).
    size_t shown = 0;
    size_t total = 0;
    for (size_t mi = 0; mi < pool.members.size(); ++mi) {
        const lb::Member& m = pool.members[mi];
        if (m.family != family) continue;
        ++total;
        if (shown == max_members) continue;
        bool answered = false;
        if (answering) {
            for (uint32_t i = 0; i < sel.count && !answered; ++i)
                answered = fs.members[sel.position(i)] == mi;
        }
        add(lines, member_line(pool, m, step, health, probes, now_unix_ms, answered));
        ++shown;
    }
    if (total > shown)
        add(lines, "... and " + std::to_string(total - shown) + " more members not listed");

    if (step.family_size > 0 && step.up > 0 && step.picked == 0)
        add(lines, "policy: " + std::to_string(step.up) +
                       " up but none it may answer with (outside the client's regions, or "
                       "weight 0): as if none were up");
    if (step.family_size > 0 && step.up == 0) add(lines, "policy: no member up");
}

std::string scope_reason(const lb::Trace& trace, uint8_t scope) {
    if (scope == 0) return "the answer does not depend on the client";
    for (uint32_t i = 0; i < trace.count; ++i) {
        const lb::TraceStep& s = trace.steps[i];
        if (s.hashed && s.subnet.prefix == scope) return "hash key";
        if (s.geo && s.where.scope == scope) {
            switch (s.where.source) {
                case lb::GeoSource::net:
                    return "the matching net rule, capped at the client's prefix";
                case lb::GeoSource::country:
                case lb::GeoSource::continent:
                    return "the GeoIP database's network";
                case lb::GeoSource::fallback_default:
                case lb::GeoSource::none:
                    return "the geo default holds for exactly the client's prefix";
            }
        }
    }
    return "the narrowest decision on the way";
}

// The answer's TTL as lb::answer_ttl decides it, and which setting of which pool it is.
std::string ttl_line(const lb::Choice& c, const lb::Trace& trace, const lb::Pool* queried,
                     uint16_t qtype, const health::HealthTable* health) {
    const lb::Pool& pool = *c.pool;
    std::string s = "ttl " + std::to_string(lb::answer_ttl(c));
    const bool other_pool = c.fallback && c.pool != queried;
    if (!c.degraded || pool.ttl_degraded == pool.ttl)  // no ttl_degraded of its own: off
        return s + " (pool " + pool.name + (other_pool ? ", the fallback pool's)" : ")");
    s += " (ttl_degraded of pool " + pool.name;
    const lb::TraceStep* last = trace.count > 0 ? &trace.steps[trace.count - 1] : nullptr;
    if (last != nullptr && last->fail_open) return s + ": failing open)";
    if (other_pool) return s + ", the fallback pool's)";
    if (last != nullptr) {
        const std::string degraded = degraded_text(last->pool->family(qtype), health);
        if (!degraded.empty()) return s + ": " + degraded + ")";
    }
    return s + ")";
}

void explain_pool(std::vector<std::string>& lines, const Snapshot& snap, const NodeRef& at,
                  std::span<const uint8_t> owner, const Question& q, const ProbeLookup& probes,
                  int64_t now_unix_ms, size_t max_members) {
    const zone::Zone& z = *at.zone;
    const size_t index = static_cast<size_t>(at.node->pool);
    lb::Eligible eligible;
    lb::Selection sel;
    lb::Trace trace;
    // A copy: a traced draw leaves the worker's own sequence as it was.
    lb::Rng rng(static_cast<uint64_t>(now_unix_ms) ^ 0x5bd1e995u);
    const lb::Choice c = lb::select_with_fallback(z.pools, index, q.qtype, snap.health(), q.client,
                                                  rng, eligible, sel, &trace);
    for (uint32_t i = 0; i < trace.count; ++i) {
        const bool answering =
            c.kind == lb::Choice::answer && trace.steps[i].pool == c.pool && i + 1 == trace.count;
        describe_pool_step(lines, trace.steps[i], i, q.qtype, snap.health(), sel, answering, probes,
                           now_unix_ms, max_members);
        const lb::TraceStep& s = trace.steps[i];
        if (i + 1 < trace.count)
            add(lines, "fallback: no member of pool " + s.pool->name +
                           " may answer; its fallback is pool " + trace.steps[i + 1].pool->name);
    }
    const std::string name = dns::name_to_text(owner);
    const char* type = dns::rr_type_name(q.qtype);
    if (trace.count > 0 && trace.steps[trace.count - 1].fail_open) {
        const lb::TraceStep& s = trace.steps[trace.count - 1];
        add(lines, std::string("fallback \"all\": no member of pool ") + s.pool->name +
                       " is up, so it fails open: the policy runs as if every enabled member were" +
                       (s.rotated_fail_open ? " up, and picks none: plain rotation" : " up"));
    }
    const std::string scope = "ecs-scope " + std::to_string(sel.ecs_scope) + " (" +
                              scope_reason(trace, sel.ecs_scope) + ")";
    if (c.kind == lb::Choice::answer && sel.count > 0) {
        const lb::FamilySet& fs = c.pool->family(q.qtype);
        std::string s = std::string("answer ") + type;
        for (uint32_t i = 0; i < sel.count; ++i) {
            const std::string& a = c.pool->members[fs.members[sel.position(i)]].address_text;
            if (s.size() + a.size() + 1 > kMaxLine - 40) {
                s += " ... (" + std::to_string(sel.count) + " in all)";
                break;
            }
            s += " " + a;
        }
        add(lines, std::move(s));
        add(lines, scope);
        add(lines, ttl_line(c, trace, &z.pools[index], q.qtype, snap.health()));
        if (c.pool->policy == lb::Policy::weighted ||
            (c.pool->policy == lb::Policy::geo && !c.pool->family(q.qtype).table.uniform_weight))
            add(lines, "note: weighted answers are a draw per query; this is one draw");
        else if (c.pool->policy != lb::Policy::hash)
            add(lines, "note: the next " + std::string(type) + " query for " + name +
                           " gets this answer (rotation not advanced by _why)");
    } else if (c.kind == lb::Choice::nodata_short) {
        add(lines, std::string("answer NODATA: fallback \"none\" of pool ") + c.pool->name +
                       " and no member up; negative ttl " +
                       std::to_string(std::min(z.negative_ttl, zone::kFallbackNodataTtl)) +
                       " (short, so the name comes back soon)");
        add(lines, scope);
    } else {
        add(lines, std::string("answer NODATA: pool ") + c.pool->name + " has no " + type +
                       " member; negative ttl " + std::to_string(z.negative_ttl) +
                       " (SOA minimum)");
        add(lines, scope);
    }
}

std::string types_at(const zone::Zone& z, const zone::Node& n) {
    std::string s;
    for (const zone::RRset& rs : z.node_rrsets(n)) {
        if (!s.empty()) s += ' ';
        s += dns::rr_type_name(rs.type);
    }
    return s;
}

}  // namespace

uint16_t traced_type(std::span<const uint8_t> qname, std::span<const uint8_t>& target) {
    static constexpr uint8_t kWhy[] = {4, '_', 'w', 'h', 'y'};
    static constexpr uint8_t kWhy6[] = {5, '_', 'w', 'h', 'y', '6'};
    const auto starts = [qname](std::span<const uint8_t> label) {
        // Something must follow the label: `_why.` alone names nothing.
        return qname.size() > label.size() + 1 &&
               std::equal(label.begin(), label.end(), qname.begin());
    };
    if (starts(kWhy)) {
        target = qname.subspan(sizeof kWhy);
        return dns::type::A;
    }
    if (starts(kWhy6)) {
        target = qname.subspan(sizeof kWhy6);
        return dns::type::AAAA;
    }
    return 0;
}

std::vector<std::string> explain(const Snapshot& snap, const Question& q, const ProbeLookup& probes,
                                 int64_t now_unix_ms, size_t max_members) {
    std::vector<std::string> lines;
    add(lines, client_line(q.client));
    std::string name = dns::name_to_text(q.name);
    Lookup lk = snap.find(q.name);
    if (lk.kind == Lookup::refused) {
        add(lines, name + " is in no zone served here: REFUSED");
        return lines;
    }
    const zone::Zone* const zone = lk.found.zone;
    const char* type = dns::rr_type_name(q.qtype);
    std::span<const uint8_t> owner = q.name;
    for (int hop = 0; hop <= kMaxChain; ++hop) {
        const zone::Zone& z = *lk.found.zone;
        const zone::Node& n = *lk.found.node;
        const std::string zone_name = z.apex_text();
        if (n.flags & (zone::node_flag::delegation | zone::node_flag::occluded)) {
            const zone::Node& cut =
                (n.flags & zone::node_flag::delegation) ? n : z.nodes[static_cast<size_t>(n.cut)];
            add(lines, name + " is at or below the delegation " +
                           dns::name_to_text(z.node_name(cut)) +
                           ": a referral to its NS (not balanced)");
            return lines;
        }
        if (lk.kind == Lookup::nxdomain) {
            add(lines, name + " does not exist in zone " + zone_name + ": NXDOMAIN");
            return lines;
        }
        if (lk.kind == Lookup::wildcard)
            add(lines, name + " is synthesized from the wildcard " +
                           dns::name_to_text(z.node_name(n)) + " (RFC 4592)");
        if (const zone::RRset* cname = z.find_rrset(n, dns::type::CNAME)) {
            const uint8_t* image = z.images.data() + cname->offset;
            const std::span<const uint8_t> to(image + 10, dns::load_u16(image + 8));
            add(lines, name + " is a CNAME to " + dns::name_to_text(to) + " (static)");
            lk = snap.find(to);
            if (lk.kind == Lookup::refused || lk.found.zone != zone) {
                add(lines, "the target is outside this zone: the resolver follows it");
                return lines;
            }
            owner = to;
            name = dns::name_to_text(to);
            continue;
        }
        if (n.pool >= 0) {
            explain_pool(lines, snap, lk.found, owner, q, probes, now_unix_ms, max_members);
            return lines;
        }
        if (n.empty()) {
            add(lines, name + " is an empty non-terminal in zone " + zone_name + ": NODATA");
        } else if (z.find_rrset(n, q.qtype) != nullptr) {
            add(lines, name + " is a static " + type + " RRset in zone " + zone_name +
                           " (not balanced; types here: " + types_at(z, n) + ")");
        } else {
            add(lines, name + " has no " + type + " in zone " + zone_name +
                           ": NODATA (not balanced; types here: " + types_at(z, n) + ")");
        }
        return lines;
    }
    add(lines,
        "the CNAME chain is longer than " + std::to_string(kMaxChain) + ": left to resolvers");
    return lines;
}

bool name_from_text(std::string_view text, std::vector<uint8_t>& wire, std::string& error) {
    wire.clear();
    if (!text.empty() && text.back() == '.') text.remove_suffix(1);
    if (text.empty()) {
        wire.push_back(0);
        return true;
    }
    while (true) {
        const size_t dot = text.find('.');
        const std::string_view label = text.substr(0, dot);
        if (label.empty()) {
            error = "empty label";
            return false;
        }
        if (label.size() > 63) {
            error = "a label longer than 63 bytes";
            return false;
        }
        wire.push_back(static_cast<uint8_t>(label.size()));
        for (const char ch : label) {
            if (ch == '\\' || static_cast<unsigned char>(ch) <= ' ') {
                error = "escapes and spaces are not supported in names here";
                return false;
            }
            wire.push_back(static_cast<uint8_t>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch));
        }
        if (dot == std::string_view::npos) break;
        text.remove_prefix(dot + 1);
    }
    wire.push_back(0);
    if (wire.size() > 255) {
        error = "longer than 255 bytes";
        return false;
    }
    return true;
}

}  // namespace steerdns::why
