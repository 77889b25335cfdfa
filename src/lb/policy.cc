#include "steerdns/lb/policy.h"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace steerdns::lb {

const char* policy_name(Policy p) {
    switch (p) {
        case Policy::round_robin:
            return "round-robin";
        case Policy::weighted:
            return "weighted";
        case Policy::failover:
            return "failover";
        case Policy::hash:
            return "hash";
        case Policy::geo:
            return "geo";
        case Policy::all:
            return "all";
    }
    return "?";
}

bool parse_policy(std::string_view text, Policy& out) {
    static constexpr Policy kAll[] = {Policy::round_robin, Policy::weighted, Policy::failover,
                                      Policy::hash,        Policy::geo,      Policy::all};
    for (Policy p : kAll) {
        if (text == policy_name(p)) {
            out = p;
            return true;
        }
    }
    return false;
}

namespace {

// The contract's rotation, among up members only: over N consecutive queries (N = eligible
// members) each comes first exactly once, whichever worker answers.
void select_round_robin(const Pool& pool, uint16_t rrtype, const Eligible& eligible,
                        Selection& out) {
    const size_t n = eligible.count();
    // Without "answers" the contract is every member; a rotation needs no per-member list.
    out.count = static_cast<uint32_t>(pool.answers == 0 ? n : std::min<size_t>(pool.answers, n));
    out.rotated = true;
    if (!eligible.all()) out.rotate_over = eligible.positions();
    if (n == 0) return;
    out.rotate_start = static_cast<uint32_t>(
        pool.counter(rrtype).next.fetch_add(1, std::memory_order_relaxed) % n);
}

// Bounds the fallback walk even if compile's loop check were bypassed (hand-built pools).
constexpr int kMaxFallbackHops = 8;

}  // namespace

void select(const Pool& pool, uint16_t rrtype, const Eligible& eligible, const Client& client,
            Rng& rng, Selection& out) {
    (void)client;
    (void)rng;
    out.count = 0;
    out.rotated = false;
    out.ecs_scope = 0;
    out.rotate_over = {};
    switch (pool.policy) {
        case Policy::round_robin:
        case Policy::weighted:
        case Policy::failover:
        case Policy::hash:
        case Policy::geo:
        case Policy::all:
            // Only round robin exists so far; compile() refuses the others, so this is the
            // single path until the steering-policies work lands.
            select_round_robin(pool, rrtype, eligible, out);
            break;
    }
}

Choice choose(std::span<const Pool> pools, size_t index, uint16_t rrtype,
              const health::HealthTable* health, const Client& client, Rng& rng, Eligible& scratch,
              Selection& out) {
    out.count = 0;
    Choice c;
    const Pool* pool = &pools[index];
    for (int hop = 0;; ++hop) {
        c.pool = pool;
        const FamilySet& fs = pool->family(rrtype);
        if (fs.size() == 0) {
            c.kind = Choice::nodata;  // nothing of this family, healthy or not
            return c;
        }
        scratch.compute(fs, health);
        if (scratch.count() == 0) {
            c.fallback = true;
            if (pool->fallback == Fallback::pool && pool->fallback_pool >= 0 &&
                static_cast<size_t>(pool->fallback_pool) < pools.size() && hop < kMaxFallbackHops) {
                pool = &pools[static_cast<size_t>(pool->fallback_pool)];
                continue;
            }
            if (pool->fallback == Fallback::none) {
                c.kind = Choice::nodata_short;
                return c;
            }
            // "all": fail open with every enabled member (drained ones are not in `fs`).
            scratch.set_all(fs);
        }
        select(*pool, rrtype, scratch, client, rng, out);
        c.kind = Choice::answer;
        return c;
    }
}

}  // namespace steerdns::lb
