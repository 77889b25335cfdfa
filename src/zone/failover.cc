#include "steerdns/zone/failover.h"

#include <arpa/inet.h>

#include <cstdio>

namespace steerdns::zone {
namespace {

// The check that probes `member`: its own, else its pool's; null for none (no check, an
// unknown name the loader already reported, or a "none" check). Of a composite check, the
// part slowest to see a dead member (a member that dies fails every part).
const CheckSpec* member_check(const ZoneSpec& zone, const PoolSpec& pool,
                              const MemberSpec& member) {
    const std::optional<CheckRef>& ref = member.check() ? member.check() : pool.check;
    if (!ref) return nullptr;
    const CheckSpec* slowest = nullptr;
    uint64_t slowest_ms = 0;
    for (const Located& name : ref->names) {
        for (const CheckSpec& c : zone.checks) {
            if (c.name.text != name.text || c.def.type == health::CheckType::none) continue;
            const uint64_t ms = uint64_t{c.def.fall} * c.def.interval_ms + c.def.timeout_ms;
            if (slowest == nullptr || ms > slowest_ms) {
                slowest = &c;
                slowest_ms = ms;
            }
        }
    }
    return slowest;
}

// "37.0": the totals have one decimal, whatever the parts.
std::string tenths(uint64_t ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(ms) / 1000.0);
    return buf;
}

// What is probed, as the registry keys probes: the address's bytes (two spellings of one
// address are one target) and the check's canonical text.
std::string probe_target(const MemberSpec& member, const CheckSpec& check) {
    const std::string& text =
        member.probe_address() ? member.probe_address()->text : member.address.text;
    unsigned char buf[16] = {};
    std::string bytes = text;
    if (inet_pton(AF_INET, text.c_str(), buf) == 1) {
        bytes.assign(reinterpret_cast<const char*>(buf), 4);
    } else if (inet_pton(AF_INET6, text.c_str(), buf) == 1) {
        bytes.assign(reinterpret_cast<const char*>(buf), 16);
    }
    return bytes + '\n' + check.def.key();
}

SourcePos fallback_pos(const PoolSpec& pool) {
    if (pool.fallback) return pool.fallback->pos;
    SourcePos at = pool.pos;
    at.path += ".fallback";
    return at;
}

// Fallback "all" answers every enabled member as if all were up: the way a pool fails open.
bool fails_open(const PoolSpec& pool) {
    return !pool.fallback || pool.fallback->text == "all";
}

std::string fallback_all(const PoolSpec& pool) {
    return pool.fallback ? "fallback \"all\"" : "fallback \"all\" (the default)";
}

// Every enabled member probed at one target (probe_address and check): when that target
// fails they are all down at once, and failing open answers them all, dead or not.
void warn_one_target(const ZoneSpec& zone, const PoolSpec& pool, Diagnostics& diags) {
    std::string target;
    const MemberSpec* first = nullptr;
    const CheckSpec* first_check = nullptr;
    size_t enabled = 0;
    for (const MemberSpec& m : pool.members) {
        if (!m.enabled) continue;
        ++enabled;
        const CheckSpec* check = member_check(zone, pool, m);
        if (check == nullptr) return;  // always up: the pool never runs out
        const std::string t = probe_target(m, *check);
        if (first == nullptr) {
            target = t;
            first = &m;
            first_check = check;
        } else if (t != target) {
            return;
        }
    }
    if (enabled < 2) return;
    const std::string& address =
        first->probe_address() ? first->probe_address()->text : first->address.text;
    diags.push_back(Diagnostic{
        zone.file, fallback_pos(pool),
        "every member is probed at one target (" + address + ", check \"" + first_check->name.text +
            "\"): when it fails they are all down together and " + fallback_all(pool) +
            " answers them all again; probe each member itself, or set fallback \"none\" or "
            "another pool",
        Severity::warning});
}

// A weighted pool never draws a weight-0 member: when every weighted member of a family is
// down and only weight-0 ones are up, the pool falls back, and failing open answers the dead.
void warn_weight_zero_left(const ZoneSpec& zone, const PoolSpec& pool, Diagnostics& diags) {
    if (pool.policy.text != "weighted") return;
    for (const bool v6 : {false, true}) {
        bool zero = false;
        bool weighted = false;
        bool weighted_always_up = false;
        for (const MemberSpec& m : pool.members) {
            if (!m.enabled || (m.address.text.find(':') != std::string::npos) != v6) continue;
            if (m.weight == 0) {
                zero = true;
            } else {
                weighted = true;
                if (member_check(zone, pool, m) == nullptr) weighted_always_up = true;
            }
        }
        if (!zero || !weighted || weighted_always_up) continue;
        diags.push_back(Diagnostic{
            zone.file, fallback_pos(pool),
            std::string("when every ") + (v6 ? "IPv6" : "IPv4") +
                " member with a weight is down, only weight-0 members are left up and they are "
                "never chosen: " +
                fallback_all(pool) +
                " then answers the dead members; give the weight-0 members a weight, or set "
                "fallback \"none\" or another pool",
            Severity::warning});
        return;  // once per pool
    }
}

void check_budget(const ZoneSpec& zone, const PoolSpec& pool, Diagnostics& diags) {
    const bool own = pool.failover_budget.has_value();
    const std::optional<BudgetSpec>& budget = own ? pool.failover_budget : zone.failover_budget;
    if (!budget) return;
    const FailoverTimes t = failover_times(zone, pool);
    // The zone's budget is for the pools with a check; one the pool sets for itself is a
    // promise about that pool, which a pool nothing probes cannot keep.
    if (t.probed == 0 && !own) return;
    const SourcePos at = own ? budget->pos : pool.name.pos;
    const std::string what = own ? "the budget " : "the zone's failover_budget ";
    const std::string limit = health::seconds_text(budget->ms);
    const auto problem = [&](std::string message) {
        diags.push_back(Diagnostic{zone.file, at, std::move(message), Severity::budget});
    };
    if (t.probed == 0) {
        problem("no health check: a dead member is never removed, so " + what + limit +
                " s cannot be met");
        return;
    }
    if (t.forget_ms() > budget->ms) {
        problem("worst-case failover " + tenths(t.forget_ms()) + " s exceeds " + what + limit +
                " s (" + t.dominant() + " dominates)");
    }
    if (t.unprobed > 0) {
        problem(std::to_string(t.unprobed) + (t.unprobed == 1 ? " member has" : " members have") +
                " no health check and " + (t.unprobed == 1 ? "is" : "are") + " never removed, so " +
                what + limit + " s cannot be met for " + (t.unprobed == 1 ? "it" : "them"));
    }
}

}  // namespace

uint64_t FailoverTimes::leave_ms() const {
    return static_cast<uint64_t>(fall) * interval_ms + timeout_ms;
}

uint64_t FailoverTimes::forget_ms() const {
    return leave_ms() + static_cast<uint64_t>(ttl) * 1000;
}

uint64_t FailoverTimes::recover_ms() const {
    return static_cast<uint64_t>(rise) * rise_interval_ms +
           static_cast<uint64_t>(ttl_degraded.value_or(ttl)) * 1000;
}

std::string FailoverTimes::dominant() const {
    // The timeout is below the interval, so it never outweighs fall x interval.
    if (static_cast<uint64_t>(ttl) * 1000 >= static_cast<uint64_t>(fall) * interval_ms)
        return "ttl " + std::to_string(ttl);
    return "fall " + std::to_string(fall) + " x interval " + health::seconds_text(interval_ms);
}

FailoverTimes failover_times(const ZoneSpec& zone, const PoolSpec& pool) {
    FailoverTimes t;
    t.ttl = pool.ttl.value_or(zone.ttl);
    t.ttl_degraded = pool.ttl_degraded;
    for (const MemberSpec& m : pool.members) {
        const CheckSpec* check = member_check(zone, pool, m);
        if (check == nullptr) {
            ++t.unprobed;
            continue;
        }
        const health::CheckDef& d = check->def;
        const uint64_t leave = static_cast<uint64_t>(d.fall) * d.interval_ms + d.timeout_ms;
        if (t.probed == 0 || leave > t.leave_ms()) {
            t.fall = d.fall;
            t.interval_ms = d.interval_ms;
            t.timeout_ms = d.timeout_ms;
        }
        const uint64_t back = static_cast<uint64_t>(d.rise) * d.interval_ms;
        if (t.probed == 0 || back > static_cast<uint64_t>(t.rise) * t.rise_interval_ms) {
            t.rise = d.rise;
            t.rise_interval_ms = d.interval_ms;
        }
        ++t.probed;
    }
    return t;
}

std::string failover_summary(const PoolSpec& pool, const FailoverTimes& t) {
    std::string out = pool.name.text + ": ";
    if (t.probed == 0) return out + "no health check: a dead member is never removed";
    out += "a dead member leaves answers within " + tenths(t.leave_ms()) + " s (fall " +
           std::to_string(t.fall) + " x interval " + health::seconds_text(t.interval_ms) +
           " + timeout " + health::seconds_text(t.timeout_ms) + "), resolvers forget it within " +
           tenths(t.forget_ms()) + " s (+ ttl " + std::to_string(t.ttl) +
           "); a recovered one returns within " + tenths(t.recover_ms()) + " s";
    if (t.ttl_degraded) out += " (+ ttl_degraded " + std::to_string(*t.ttl_degraded) + ")";
    if (pool.failback && pool.failback->mode == health::FailbackMode::delay)
        out.append(", then waits ")
            .append(health::seconds_text(pool.failback->delay_ms))
            .append(" s more (failback delay)");
    if (pool.failback && pool.failback->mode == health::FailbackMode::manual)
        out += ", once released (failback manual: steerdns failback)";
    if (t.unprobed > 0) {
        out += "; " + std::to_string(t.unprobed) +
               (t.unprobed == 1 ? " member has no health check and is never removed"
                                : " members have no health check and are never removed");
    }
    return out;
}

void check_failover(const ZoneSpec& zone, Diagnostics& diags) {
    for (const PoolSpec& pool : zone.pools) {
        check_budget(zone, pool, diags);
        if (!fails_open(pool)) continue;
        warn_one_target(zone, pool, diags);
        warn_weight_zero_left(zone, pool, diags);
    }
}

}  // namespace steerdns::zone
