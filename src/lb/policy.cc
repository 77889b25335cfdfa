#include "steerdns/lb/policy.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "steerdns/lb/candidates.h"
#include "steerdns/lb/client_net.h"
#include "steerdns/lb/policy_all.h"
#include "steerdns/lb/policy_failover.h"
#include "steerdns/lb/policy_geo.h"
#include "steerdns/lb/policy_hash.h"
#include "steerdns/lb/policy_weighted.h"
#include "steerdns/lb/trace.h"

namespace steerdns::lb {

namespace {

// A traced (`_why`) query shows what the next query would get without taking its turn.
uint64_t next_rotation(const Pool& pool, uint16_t rrtype, bool advance) {
    std::atomic<uint64_t>& next = pool.counter(rrtype).next;
    return advance ? next.fetch_add(1, std::memory_order_relaxed)
                   : next.load(std::memory_order_relaxed);
}

// The contract's rotation, among up members only: over N consecutive queries (N = eligible
// members) each comes first exactly once, whichever worker answers.
void select_round_robin(const Pool& pool, uint16_t rrtype, const Eligible& eligible, Selection& out,
                        bool advance) {
    const size_t n = eligible.count();
    // Without "answers" the contract is every member; a rotation needs no per-member list.
    out.count = static_cast<uint32_t>(pool.answers == 0 ? n : std::min<size_t>(pool.answers, n));
    out.rotated = true;
    out.rotate_over = eligible.positions();
    if (n == 0) return;
    out.rotate_start = static_cast<uint32_t>(next_rotation(pool, rrtype, advance) % n);
}

// One member is what client affinity means; more would be a stable set, which the operator
// asks for with "answers".
constexpr uint32_t kHashDefaultAnswers = 1;

void select_geo_pool(const Pool& pool, const Candidates& candidates, const Client& client, Rng& rng,
                     uint16_t rrtype, Selection& out, TraceStep* step) {
    GeoMatch where;  // no geo section (hand-built pools; compile refuses it): any member
    if (const GeoConfig* geo = pool.geo.get())
        where = resolve_region(geo->rules, client_address(client), geo->database.get());
    if (step != nullptr) {
        step->geo = true;
        step->where = where;
    }
    // A weighted pool draws instead of rotating: the shared counter is not touched.
    const uint64_t rotation = candidates.table->uniform_weight
                                  ? next_rotation(pool, rrtype, step == nullptr)
                                  : uint64_t{0};
    select_geo(candidates, pool.regions, where, pool.answers, rotation, rng, out);
    out.client_region = where.region;
}

// Bounds the fallback walk even if compile's loop check were bypassed (hand-built pools).
constexpr int kMaxFallbackHops = 8;

}  // namespace

void select_from_eligible(const Pool& pool, uint16_t rrtype, const Eligible& eligible,
                          const Client& client, Rng& rng, Selection& out, TraceStep* step) {
    out.count = 0;
    out.rotated = false;
    out.ecs_scope = 0;
    out.client_region = kNoRegion;
    out.rotate_over = {};
    const bool advance = step == nullptr;
    const Candidates candidates{&pool.family(rrtype).table, eligible.positions()};
    switch (pool.policy) {
        case Policy::round_robin:
            select_round_robin(pool, rrtype, eligible, out, advance);
            break;
        case Policy::weighted:
            select_weighted(candidates, pool.answers, rng, out);
            break;
        case Policy::failover:
            select_failover(candidates, pool.answers, next_rotation(pool, rrtype, advance), out);
            break;
        case Policy::hash: {
            const ClientNet subnet = hashing_subnet(client);
            if (step != nullptr) {
                step->hashed = true;
                step->subnet = subnet;
            }
            select_hash(candidates, pool.answers == 0 ? kHashDefaultAnswers : pool.answers, subnet,
                        out);
            break;
        }
        case Policy::geo:
            select_geo_pool(pool, candidates, client, rng, rrtype, out, step);
            break;
        case Policy::all:
            select_all(candidates, pool.answers, next_rotation(pool, rrtype, advance), out);
            break;
    }
}

Choice select_with_fallback(std::span<const Pool> pools, size_t index, uint16_t rrtype,
                            const health::HealthTable* health, const Client& client, Rng& rng,
                            Eligible& scratch, Selection& out, Trace* trace) {
    out.count = 0;
    out.ecs_scope = 0;
    out.client_region = kNoRegion;
    Choice c;
    const Pool* pool = &pools[index];
    // An answer is only as wide as the narrowest decision on the way to it: a geo pool that
    // found nothing in the client's regions and fell back depended on where the client is.
    uint8_t scope = 0;
    for (int hop = 0;; ++hop) {
        c.pool = pool;
        const FamilySet& fs = pool->family(rrtype);
        TraceStep* step = trace != nullptr ? trace->add(pool) : nullptr;
        if (step != nullptr) step->family_size = static_cast<uint32_t>(fs.size());
        if (fs.size() == 0) {
            c.kind = Choice::nodata;  // nothing of this family, healthy or not
            out.ecs_scope = scope;
            return c;
        }
        scratch.compute(fs, health);
        if (step != nullptr) step->up = scratch.count();
        if (scratch.count() > 0) {
            select_from_eligible(*pool, rrtype, scratch, client, rng, out, step);
            scope = std::max(scope, out.ecs_scope);
            if (step != nullptr) step->picked = out.count;
            if (out.count > 0) {
                c.kind = Choice::answer;
                c.degraded = c.fallback || !scratch.all();
                out.ecs_scope = scope;
                return c;
            }
            // Members are up but the policy may answer with none of them (geo: none in the
            // client's regions; weighted: only weight 0 left): as if none were up.
        }
        c.fallback = true;
        if (pool->fallback == Fallback::pool && pool->fallback_pool >= 0 &&
            static_cast<size_t>(pool->fallback_pool) < pools.size() && hop < kMaxFallbackHops) {
            pool = &pools[static_cast<size_t>(pool->fallback_pool)];
            continue;
        }
        if (pool->fallback == Fallback::none) {
            c.kind = Choice::nodata_short;
            out.ecs_scope = scope;
            return c;
        }
        // "all": fail open with every enabled member (drained ones are not in `fs`), through
        // the policy as if all were up, and by rotation when even then it picks none.
        scratch.set_all(fs);
        select_from_eligible(*pool, rrtype, scratch, client, rng, out, step);
        scope = std::max(scope, out.ecs_scope);
        if (step != nullptr) step->fail_open = true;
        if (out.count == 0) {
            select_round_robin(*pool, rrtype, scratch, out, trace == nullptr);
            if (step != nullptr) step->rotated_fail_open = true;
        }
        c.kind = Choice::answer;
        c.degraded = true;
        out.ecs_scope = scope;
        return c;
    }
}

}  // namespace steerdns::lb
