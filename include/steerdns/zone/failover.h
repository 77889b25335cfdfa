// How long a pool's health checks and TTL let a dead member linger, worst case, read from the
// zone file alone: for `steerdns check`'s per-pool line, for the "failover_budget" a pool or
// zone may declare, and for the settings under which failing open brings dead members back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "steerdns/zone/diagnostic.h"
#include "steerdns/zone/zone_spec.h"

namespace steerdns::zone {

// The worst case over a pool's members, each probed by its own check or else the pool's.
// Every member counts, enabled or not: a drained member comes back with its check.
// The answers holding a member that just died were given while it was still up, so with
// the pool's TTL: resolvers forget it within the ttl, whatever "ttl_degraded" says. The
// answers without a recovered member were given while it was down, so with ttl_degraded:
// that is the TTL of its return.
struct FailoverTimes {
    size_t probed = 0;    // members with a check other than "none"
    size_t unprobed = 0;  // members without one: always up, never removed
    // The check behind the slowest removal: a member that dies just after a passing probe is
    // marked down by the fall-th failing probe, the first starting at most one interval later
    // and the last failing only at its timeout.
    uint32_t fall = 0;
    uint32_t interval_ms = 0;
    uint32_t timeout_ms = 0;
    // The check behind the slowest return: rise passing probes, one per interval.
    uint32_t rise = 0;
    uint32_t rise_interval_ms = 0;
    uint32_t ttl = 0;                      // the pool's (else the zone's)
    std::optional<uint32_t> ttl_degraded;  // the pool's "ttl_degraded", when set

    // Until the member is out of answers: fall x interval + timeout.
    uint64_t leave_ms() const;
    // Until resolvers have forgotten it too: + the TTL. This is what a budget limits.
    uint64_t forget_ms() const;
    // Until a recovered member is answered again: rise x interval + ttl_degraded (resolvers
    // keep the answer without it, given while the pool was degraded, that long).
    uint64_t recover_ms() const;
    // "ttl 30" or "fall 3 x interval 10": the larger part of forget_ms().
    std::string dominant() const;
};

FailoverTimes failover_times(const ZoneSpec& zone, const PoolSpec& pool);

// `steerdns check`'s line for the pool (without indentation or newline):
// "www: a dead member leaves answers within 7.0 s (fall 3 x interval 2 + timeout 1), ...".
std::string failover_summary(const PoolSpec& pool, const FailoverTimes& t);

// Appends, for every pool: a Severity::budget diagnostic when its worst case exceeds its
// "failover_budget" (else the zone's), and warnings where fallback "all" (failing open) would
// answer members known to be dead.
void check_failover(const ZoneSpec& zone, Diagnostics& diags);

}  // namespace steerdns::zone
