#include "steerdns/control/status_view.h"

#include <cmath>

#include "steerdns/util/clock.h"
#include "steerdns/zone/drain_set.h"

namespace steerdns::control {
namespace {

using json = nlohmann::ordered_json;

bool zone_selected(const ZoneStatus& z, const StatusQuery& q) {
    return q.zone.empty() || zone::canonical_zone(z.zone) == q.zone;
}

bool pool_selected(const PoolStatus& p, const StatusQuery& q) {
    return q.pool.empty() || zone::canonical_pool(p.name) == q.pool;
}

// The answers of each member of `p` (model order) in samples [from, history.samples()): one
// array per sample, oldest first, one count per member (0 for one not sampled yet).
json answer_columns(const AnswerHistory& history, const std::string& zone, const PoolStatus& p,
                    uint64_t from) {
    json columns = json::array();
    const AnswerHistory::Pool* h = history.pool(zone, p.name);
    std::vector<int32_t> at(p.members.size(), -1);
    if (h) {
        std::vector<std::string> addresses;
        addresses.reserve(p.members.size());
        for (const MemberStatus& m : p.members) addresses.push_back(m.address);
        at = AnswerHistory::align(*h, addresses);
    }
    for (uint64_t n = from; n < history.samples(); ++n) {
        json column = json::array();
        for (const int32_t i : at)
            column.push_back(i < 0 ? 0u : AnswerHistory::count(*h, static_cast<size_t>(i), n));
        columns.push_back(std::move(column));
    }
    return columns;
}

// The first sample filed after revision `since` (history.samples() when there is none).
uint64_t first_sample_after(const AnswerHistory& history, uint64_t since) {
    uint64_t n = history.first_kept();
    while (n < history.samples() && history.revision_of(n) <= since) ++n;
    return n;
}

json head(const StatusModel& model, const StatusRevisions& revisions, const StatusQuery& query,
          bool full) {
    json doc;
    doc["version"] = model.version;
    doc["nsid"] = model.nsid.empty() ? json(nullptr) : json(model.nsid);
    doc["revision"] = revisions.current();
    if (query.since) {
        doc["since"] = *query.since;
        doc["full"] = full;
        doc["sample_interval_seconds"] = kAnswerSampleMs / 1000;
    }
    doc["now"] = util::rfc3339(model.now_unix_ms);
    doc["started"] = util::rfc3339(model.started_unix_ms);
    return doc;
}

json full_view(const StatusModel& model, const StatusRevisions& revisions,
               const AnswerHistory& history, const StatusQuery& query) {
    json doc = head(model, revisions, query, true);
    // Answer series go with ?since= (the page's polling), not into every /status: 60 numbers
    // per member would double the document. Not with ?state=: its member lists change.
    const bool series = query.since.has_value() && query.state.empty();
    json zones = json::array();
    for (const ZoneStatus& z : model.zones) {
        if (!zone_selected(z, query)) continue;
        json pools = json::array();
        for (const PoolStatus& p : z.pools) {
            if (!pool_selected(p, query)) continue;
            json members = json::array();
            for (const MemberStatus& m : p.members)
                // "drained" selects every member out of answers, draining ones included.
                if (query.state.empty() || m.state == query.state ||
                    (query.state == "drained" && m.state == "draining"))
                    members.push_back(member_json(m));
            if (!query.state.empty() && members.empty()) continue;
            json pj;
            pool_fields(p, pj);
            pj["members"] = std::move(members);
            if (series) pj["answers"] = answer_columns(history, z.zone, p, history.first_kept());
            pools.push_back(std::move(pj));
        }
        if (!query.state.empty() && pools.empty()) continue;
        json zj;
        zone_fields(z, zj);
        zj["pools"] = std::move(pools);
        zones.push_back(std::move(zj));
    }
    doc["zones"] = std::move(zones);
    doc["rejected_files"] = rejected_json(model);
    return doc;
}

// [last_probe, latency_seconds] of a member whose probe moved on; microseconds are plenty,
// and a short number keeps a 10 000-member refresh small.
json probe_news(const MemberStatus& m) {
    json j = json::array();
    j.push_back(m.last_probe_unix_ms ? json(util::rfc3339(*m.last_probe_unix_ms)) : json(nullptr));
    j.push_back(m.latency_seconds ? json(std::round(*m.latency_seconds * 1e6) / 1e6)
                                  : json(nullptr));
    return j;
}

// Only what changed after `since`: a zone or pool listed has its own fields when they
// changed, "members" that changed (whatever ?state= says: a member leaving the state is news
// too), "probes" ({address: [last_probe, latency_seconds]}) refreshed, and "answers" columns
// for samples taken since.
json partial_view(const StatusModel& model, const StatusRevisions& revisions,
                  const AnswerHistory& history, const StatusQuery& query) {
    const uint64_t since = *query.since;
    json doc = head(model, revisions, query, false);
    const uint64_t from =
        query.state.empty() ? first_sample_after(history, since) : history.samples();
    json zones = json::array();
    for (size_t zi = 0; zi < model.zones.size(); ++zi) {
        const ZoneStatus& z = model.zones[zi];
        if (!zone_selected(z, query)) continue;
        json zj;
        zj["zone"] = z.zone;
        if (revisions.zone(zi) > since) zone_fields(z, zj);
        json pools = json::array();
        for (size_t pi = 0; pi < z.pools.size(); ++pi) {
            const PoolStatus& p = z.pools[pi];
            if (!pool_selected(p, query)) continue;
            json pj;
            pj["name"] = p.name;
            if (revisions.pool(zi, pi) > since) pool_fields(p, pj);
            json members = json::array();
            json probes = json::object();
            for (size_t mi = 0; mi < p.members.size(); ++mi) {
                const MemberStatus& m = p.members[mi];
                if (revisions.member(zi, pi, mi) > since)
                    members.push_back(member_json(m));
                else if (revisions.probe(zi, pi, mi) > since)
                    probes[m.address] = probe_news(m);
            }
            if (!members.empty()) pj["members"] = std::move(members);
            if (!probes.empty()) pj["probes"] = std::move(probes);
            if (from < history.samples()) pj["answers"] = answer_columns(history, z.zone, p, from);
            if (pj.size() > 1) pools.push_back(std::move(pj));
        }
        if (!pools.empty()) zj["pools"] = std::move(pools);
        if (zj.size() > 1) zones.push_back(std::move(zj));
    }
    doc["zones"] = std::move(zones);
    doc["rejected_files"] = rejected_json(model);
    return doc;
}

}  // namespace

std::optional<std::string> unknown_selection(const StatusModel& model, const StatusQuery& query) {
    if (query.zone.empty() && query.pool.empty()) return std::nullopt;
    std::string zones;
    bool zone_found = false;
    for (const ZoneStatus& z : model.zones) {
        zones += (zones.empty() ? "" : ", ") + z.zone;
        if (!zone_selected(z, query)) continue;
        zone_found = true;
        for (const PoolStatus& p : z.pools)
            if (pool_selected(p, query)) return std::nullopt;
    }
    if (!query.zone.empty() && !zone_found)
        return "zone " + query.zone +
               " not found (zones served: " + (zones.empty() ? "none" : zones) + ")";
    return "pool \"" + query.pool + "\" not found" +
           (query.zone.empty() ? std::string(" in any zone") : " in zone " + query.zone);
}

json status_view(const StatusModel& model, const StatusRevisions& revisions,
                 const AnswerHistory& history, const StatusQuery& query) {
    if (query.since && revisions.can_patch(*query.since))
        return partial_view(model, revisions, history, query);
    return full_view(model, revisions, history, query);
}

}  // namespace steerdns::control
