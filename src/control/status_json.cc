#include "steerdns/control/status_json.h"

#include <algorithm>

#include "steerdns/health/check.h"
#include "steerdns/health/composite.h"
#include "steerdns/lb/policy.h"
#include "steerdns/util/clock.h"

namespace steerdns::control {
namespace {

template <typename T>
nlohmann::ordered_json or_null(const std::optional<T>& v) {
    return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json text_or_null(const std::string& s) {
    return s.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s);
}

nlohmann::ordered_json time_or_null(const std::optional<int64_t>& ms) {
    return ms ? nlohmann::ordered_json(util::rfc3339(*ms)) : nlohmann::ordered_json(nullptr);
}

}  // namespace

namespace {

// A composite check: the member's own fields say what its parts add up to; each part's
// state and last result come from its probe.
void add_check_parts(const StatusInputs& in, const lb::Member& m, MemberStatus& ms) {
    const health::HealthTable* table = in.snapshot->health();
    ms.check = "composite";
    ms.latency_seconds.reset();
    ms.require = health::require_text(m.check_require, m.check_parts.size());
    for (const lb::CheckPart& part : m.check_parts) {
        MemberStatus::CheckPartStatus ps;
        ps.name = part.name;
        ps.state = health::state_name(table ? table->state(part.slot) : health::State::unknown);
        if (in.probes) {
            if (const auto p = in.probes->find(part.slot); p != in.probes->end())
                ps.reason = p->second.last_reason;
        }
        ms.checks.push_back(std::move(ps));
    }
}

MemberStatus member_status(const StatusInputs& in, const ZoneStatus& zone, const zone::Zone& z,
                           size_t pi, size_t mi) {
    const lb::Pool& pool = z.pools[pi];
    const lb::Member& m = pool.members[mi];
    MemberStatus ms;
    ms.address = zone::canonical_address(m.address_text);
    if (ms.address.empty()) ms.address = m.address_text;
    ms.weight = m.weight;
    ms.priority = m.priority;
    ms.region = m.region;
    DrainKey key;
    key.zone = zone::canonical_zone(zone.zone);
    key.pool = zone::canonical_pool(pool.name);
    key.address = ms.address;
    const std::optional<int64_t> drained_since = in.drains ? in.drains->since(key) : std::nullopt;

    // Unchecked, or drained in the file: the state began when the member's file state did.
    std::optional<int64_t> file_since = zone.loaded_unix_ms;
    if (in.member_since) {
        if (const auto since = in.member_since->since(z, pi, mi)) file_since = *since;
    }
    ms.health = "unchecked";
    std::optional<int64_t> health_since = file_since;
    health::State health = health::State::up;
    if (m.probe_slot != health::kNoProbe) {
        const health::HealthTable* table = in.snapshot->health();
        health = table ? table->state(m.probe_slot) : health::State::unknown;
        ms.health = health::state_name(health);
        if (in.targets) {
            if (const auto t = in.targets->find(m.probe_slot); t != in.targets->end()) {
                ms.check = health::check_type_name(t->second.target->check.type);
                if (t->second.target->address_text != m.address_text)
                    ms.probe_address = t->second.target->address_text;
            }
        }
        if (in.probes) {
            if (const auto p = in.probes->find(m.probe_slot); p != in.probes->end()) {
                const health::ProbeStatus& st = p->second;
                health_since = st.since_unix_ms;
                if (st.has_result) {
                    ms.last_ok = st.last_ok;
                    ms.last_reason = st.last_reason;
                    ms.last_probe_unix_ms = st.last_unix_ms;
                    ms.latency_seconds = st.last_seconds;
                }
                if (st.standby && health == health::State::standby) {
                    ms.failback_reason = st.standby_reason;
                    if (st.standby_until_unix_ms > 0)
                        ms.failback_until_unix_ms = st.standby_until_unix_ms;
                }
                if (st.suppressed && health == health::State::down) {
                    ms.suppressed_reason = st.suppressed_reason;
                    ms.suppressed_until_unix_ms = st.suppressed_until_unix_ms;
                }
            }
        }
        if (!m.check_parts.empty()) add_check_parts(in, m, ms);
    }
    if (!m.enabled) {
        ms.drained = true;
        ms.drained_by = m.in_maintenance ? "maintenance" : drained_since ? "api" : "zone file";
        ms.since_unix_ms = drained_since ? drained_since : file_since;
        // Answers stopped carrying it when the version without it was published (file_since
        // is when its file state last changed, at a publish), never before the drain itself.
        const int64_t out_since = std::max(file_since.value_or(0), drained_since.value_or(0));
        ms.safe_to_remove_unix_ms = out_since + int64_t{pool.ttl} * 1000;
        ms.state = in.now_unix_ms < *ms.safe_to_remove_unix_ms ? "draining" : "drained";
    } else {
        ms.state = health == health::State::pending          ? "pending"
                   : health == health::State::standby        ? "standby"
                   : health != health::State::down           ? "up"
                   : ms.suppressed_until_unix_ms.has_value() ? "suppressed"
                                                             : "down";
        ms.since_unix_ms = health_since;
    }
    return ms;
}

// Each member's answers over the last minute, and the pool's sum, from the sampled history.
void add_answers(const AnswerHistory* history, const std::string& zone, PoolStatus& ps) {
    const AnswerHistory::Pool* h = history ? history->pool(zone, ps.name) : nullptr;
    if (!h || history->samples() == 0) return;
    std::vector<std::string> addresses;
    addresses.reserve(ps.members.size());
    for (const MemberStatus& m : ps.members) addresses.push_back(m.address);
    const std::vector<int32_t> at = AnswerHistory::align(*h, addresses);
    uint64_t sum = 0;
    for (size_t i = 0; i < ps.members.size(); ++i) {
        if (at[i] < 0) continue;
        const uint64_t n = history->last_minute(*h, static_cast<size_t>(at[i]));
        ps.members[i].answers_last_minute = n;
        sum += n;
    }
    ps.answers_last_minute = sum;
}

const char* fallback_name(lb::Fallback f) {
    switch (f) {
        case lb::Fallback::all:
            return "all";
        case lb::Fallback::none:
            return "none";
        case lb::Fallback::pool:
            return "pool";
    }
    return "all";
}

}  // namespace

std::string pool_state(const lb::Pool& pool, const health::HealthTable* health) {
    // The answer path's own inputs (lb::choose): a family's enabled members, each up unless
    // the health table says down, and the pool's fallback when none is.
    enum Rank { ok, degraded, failing_open, empty };
    bool any = false;
    Rank worst = ok;
    for (const lb::FamilySet* fs : {&pool.v4, &pool.v6}) {
        if (fs->size() == 0) continue;
        any = true;
        size_t up = fs->size();
        size_t preferred = up;  // pending members count as up only for "failing open"
        if (health && fs->probed) {
            up = preferred = 0;
            for (const uint32_t slot : fs->slots) {
                up += health->up(slot) ? 1 : 0;
                preferred += health->preferred(slot) ? 1 : 0;
            }
        }
        Rank r = ok;
        if (up == 0)
            r = pool.fallback == lb::Fallback::all ? failing_open : empty;
        else if (preferred < fs->size())
            r = degraded;
        worst = std::max(worst, r);
    }
    if (!any) return "empty";
    static constexpr const char* kNames[] = {"ok", "degraded", "failing open", "empty"};
    return kNames[worst];
}

StatusModel build_status(const StatusInputs& in) {
    StatusModel model;
    model.version = in.version;
    model.nsid = in.nsid;
    model.now_unix_ms = in.now_unix_ms;
    model.started_unix_ms = in.started_unix_ms;
    model.rejected = in.rejected;
    if (!in.snapshot) return model;
    std::vector<const zone::Zone*> zones;
    for (const zone::ZonePtr& z : in.snapshot->zones()) zones.push_back(z.get());
    // Alphabetical, for people; the snapshot keeps deepest apex first, for lookups.
    std::sort(zones.begin(), zones.end(), [](const zone::Zone* a, const zone::Zone* b) {
        return a->apex_text() < b->apex_text();
    });
    for (const zone::Zone* z : zones) {
        ZoneStatus zs;
        zs.zone = z->apex_text();
        zs.file = z->file;
        zs.serial = z->serial;
        zs.file_sha256 = z->file_sha256;
        if (in.zones) {
            if (const auto r = in.zones->find(zs.zone); r != in.zones->end()) {
                zs.loaded_unix_ms = r->second.loaded_unix_ms;
                zs.errors = r->second.errors;
            }
        }
        for (size_t pi = 0; pi < z->pools.size(); ++pi) {
            const lb::Pool& p = z->pools[pi];
            PoolStatus ps;
            ps.name = p.name;
            ps.policy = lb::policy_name(p.policy);
            ps.ttl = p.ttl;
            if (p.ttl_degraded != p.ttl) ps.ttl_degraded = p.ttl_degraded;
            ps.fallback = fallback_name(p.fallback);
            if (p.fallback == lb::Fallback::pool && p.fallback_pool >= 0 &&
                static_cast<size_t>(p.fallback_pool) < z->pools.size())
                ps.fallback_pool = z->pools[static_cast<size_t>(p.fallback_pool)].name;
            ps.state = pool_state(p, in.snapshot->health());
            for (size_t mi = 0; mi < p.members.size(); ++mi)
                ps.members.push_back(member_status(in, zs, *z, pi, mi));
            for (const MemberStatus& m : ps.members) {
                // Pending and standby are counted with down: out of answers while others are up.
                ++(m.state == "up" ? ps.up
                   : m.state == "down" || m.state == "suppressed" || m.state == "pending" ||
                           m.state == "standby"
                       ? ps.down
                       : ps.drained);
                if (m.state == "draining") ++ps.draining;
            }
            add_answers(in.answers, zs.zone, ps);
            zs.pools.push_back(std::move(ps));
        }
        model.zones.push_back(std::move(zs));
    }
    return model;
}

nlohmann::ordered_json member_json(const MemberStatus& m) {
    nlohmann::ordered_json j;
    j["address"] = m.address;
    j["state"] = m.state;
    j["since"] = time_or_null(m.since_unix_ms);
    j["check"] = text_or_null(m.check);
    j["probe_address"] = text_or_null(m.probe_address);
    j["health"] = m.health;
    j["last_result"] = m.last_ok ? nlohmann::ordered_json(*m.last_ok ? "success" : "failure")
                                 : nlohmann::ordered_json(nullptr);
    j["reason"] = text_or_null(m.last_reason);
    j["last_probe"] = time_or_null(m.last_probe_unix_ms);
    j["latency_seconds"] = or_null(m.latency_seconds);
    j["weight"] = m.weight;
    j["priority"] = m.priority;
    j["region"] = text_or_null(m.region);
    j["drained"] = m.drained;
    j["drained_by"] = text_or_null(m.drained_by);
    j["safe_to_remove_at"] = time_or_null(m.safe_to_remove_unix_ms);
    j["suppressed_reason"] = text_or_null(m.suppressed_reason);
    j["suppressed_until"] = time_or_null(m.suppressed_until_unix_ms);
    j["failback_reason"] = text_or_null(m.failback_reason);
    j["failback_until"] = time_or_null(m.failback_until_unix_ms);
    j["answers_last_minute"] = or_null(m.answers_last_minute);
    if (!m.checks.empty()) {
        nlohmann::ordered_json parts = nlohmann::ordered_json::array();
        for (const MemberStatus::CheckPartStatus& c : m.checks)
            parts.push_back(
                {{"name", c.name}, {"state", c.state}, {"reason", text_or_null(c.reason)}});
        j["checks"] = std::move(parts);
        j["require"] = m.require;
    }
    return j;
}

void pool_fields(const PoolStatus& p, nlohmann::ordered_json& pj) {
    pj["name"] = p.name;
    pj["policy"] = p.policy;
    pj["ttl"] = p.ttl;
    pj["ttl_degraded"] = or_null(p.ttl_degraded);
    pj["fallback"] = p.fallback;
    pj["fallback_pool"] = text_or_null(p.fallback_pool);
    pj["state"] = p.state;
    pj["up"] = p.up;
    pj["down"] = p.down;
    pj["drained"] = p.drained;
    pj["draining"] = p.draining;
    pj["answers_last_minute"] = or_null(p.answers_last_minute);
}

void zone_fields(const ZoneStatus& z, nlohmann::ordered_json& zj) {
    zj["zone"] = z.zone;
    zj["serial"] = z.serial;
    zj["file_sha256"] = z.file_sha256;
    zj["file"] = z.file;
    zj["loaded_at"] = time_or_null(z.loaded_unix_ms);
    zj["errors"] = z.errors;
}

nlohmann::ordered_json rejected_json(const StatusModel& model) {
    nlohmann::ordered_json rejected = nlohmann::ordered_json::array();
    for (const RejectedFile& r : model.rejected) {
        nlohmann::ordered_json j;
        j["file"] = r.file;
        j["errors"] = r.errors;
        rejected.push_back(std::move(j));
    }
    return rejected;
}

nlohmann::ordered_json status_json(const StatusModel& model) {
    nlohmann::ordered_json zones = nlohmann::ordered_json::array();
    for (const ZoneStatus& z : model.zones) {
        nlohmann::ordered_json pools = nlohmann::ordered_json::array();
        for (const PoolStatus& p : z.pools) {
            nlohmann::ordered_json members = nlohmann::ordered_json::array();
            for (const MemberStatus& m : p.members) members.push_back(member_json(m));
            nlohmann::ordered_json pj;
            pool_fields(p, pj);
            pj["members"] = std::move(members);
            pools.push_back(std::move(pj));
        }
        nlohmann::ordered_json zj;
        zone_fields(z, zj);
        zj["pools"] = std::move(pools);
        zones.push_back(std::move(zj));
    }
    nlohmann::ordered_json doc;
    doc["version"] = model.version;
    doc["nsid"] = text_or_null(model.nsid);
    doc["now"] = util::rfc3339(model.now_unix_ms);
    doc["started"] = util::rfc3339(model.started_unix_ms);
    doc["zones"] = std::move(zones);
    doc["rejected_files"] = rejected_json(model);
    return doc;
}

}  // namespace steerdns::control
