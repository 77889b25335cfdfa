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

void select_round_robin(const Pool& pool, uint16_t rrtype, Selection& out) {
    const FamilySet& fs = pool.family(rrtype);
    const size_t n = fs.members.size();
    // Without "answers" the contract is every member; a rotation needs no per-member list.
    out.count = static_cast<uint32_t>(pool.answers == 0 ? n : std::min<size_t>(pool.answers, n));
    out.rotated = true;
    if (n == 0) return;
    out.rotate_start = static_cast<uint32_t>(
        pool.counter(rrtype).next.fetch_add(1, std::memory_order_relaxed) % n);
}

}  // namespace

void select(const Pool& pool, uint16_t rrtype, const Client& client, Rng& rng, Selection& out) {
    (void)client;
    (void)rng;
    out.count = 0;
    out.rotated = false;
    out.ecs_scope = 0;
    switch (pool.policy) {
        case Policy::round_robin:
        case Policy::weighted:
        case Policy::failover:
        case Policy::hash:
        case Policy::geo:
        case Policy::all:
            // Only round robin exists so far; compile() refuses the others, so this is the
            // single path until the steering-policies work lands.
            select_round_robin(pool, rrtype, out);
            break;
    }
}

}  // namespace steerdns::lb
