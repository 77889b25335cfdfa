// Picks the members one answer carries. One entry point dispatching on the pool's policy with
// a switch: a fixed set of policies needs no indirection, and the switch inlines.
#pragma once

#include <cstdint>
#include <span>

#include "steerdns/dns/query.h"
#include "steerdns/health/health_table.h"
#include "steerdns/lb/eligible.h"
#include "steerdns/lb/pool.h"
#include "steerdns/lb/rng.h"

namespace steerdns::lb {

struct Trace;      // trace.h
struct TraceStep;  // trace.h

// Who asked: the transport source address, and the ECS option when the query carried one.
struct Client {
    uint8_t family = 4;  // of `address`
    uint8_t address[16] = {};
    const dns::ClientSubnet* ecs = nullptr;
};

// Result of a selection, in answer order: either an explicit list of positions in the
// pool's FamilySet (weighted draws and the like, at most kMaxAnswers), or a rotation
// (`count` positions starting at `rotate_start`, wrapping), which needs no list however many
// members a pool has. A rotation runs over the eligible positions only: `rotate_start` is
// the rank of the first one among them (with every member eligible, rank = position).
// `ecs_scope`: the ECS prefix the answer is valid for (0 = everyone).
struct Selection {
    std::array<uint32_t, kMaxAnswers> index;
    uint32_t count = 0;
    uint32_t rotate_start = 0;
    bool rotated = false;
    uint8_t ecs_scope = 0;
    // geo: the client's region (kNoRegion otherwise), for the query log.
    uint16_t client_region = kNoRegion;
    // A rotation runs over these positions (ascending: the Eligible's, which is the family's
    // identity list when every member is up).
    std::span<const uint32_t> rotate_over;

    uint32_t position(uint32_t i) const {
        return rotated ? rotate_over[(rotate_start + i) % rotate_over.size()] : index[i];
    }
};

// The pool's policy alone: picks among the `eligible` (count() > 0) positions of the pool's
// family for `rrtype` as given, with no fallback, and sets out.ecs_scope: 0 unless the answer
// depends on the client (hash: the hashing prefix; geo: what resolve_region() says).
// out.count may be 0 (weighted, hash and geo when the eligible members are all of weight 0 or
// outside the client's regions).
// With a `trace` (a `_why` query) the rotation counters are read, not advanced, and what the
// policy keyed on (geo region, hash subnet) is written to `step`.
void select_from_eligible(const Pool& pool, uint16_t rrtype, const Eligible& eligible,
                          const Client& client, Rng& rng, Selection& out,
                          TraceStep* step = nullptr);

// What a balanced name answers once health and the fallback rule are applied.
struct Choice {
    enum Kind : uint8_t {
        answer,        // the records `out` selects from `pool`'s family
        nodata,        // the pool has no member of the queried family
        nodata_short,  // fallback "none": every member down, NODATA with a short TTL
    } kind = nodata;
    const Pool* pool = nullptr;  // the pool answering: the queried one or a fallback pool
    bool fallback = false;       // true when no member of the queried pool was up
    // The answer is given while something is wrong: the answering pool has a member of the
    // family down, or it answers as a fallback (fail open, or for another pool). Costs nothing:
    // Eligible::compute learns it on the way.
    bool degraded = false;
};

// The TTL of `c`'s records: the answering pool's ttl_degraded when c.degraded, else its ttl.
// The answer path (through FamilySet::image_base) and the `_why` trace both decide here.
inline uint32_t answer_ttl(const Choice& c) {
    return c.degraded ? c.pool->ttl_degraded : c.pool->ttl;
}

// The whole per-pool step of a query: eligible members of `pools[index]` (health), the
// policy (select_from_eligible), and the fallback when no member is up or the policy can
// answer with none of those that are (geo: none in the client's regions): "all": the policy
// again as if every enabled member were up, and rotation over them if it still picks none;
// "none"; another pool, followed along its own fallback, a chain compile keeps short and
// loop-free.
// out.ecs_scope is the longest scope of the decisions on the way (a fallback taken because of
// where the client is depends on it), also for the NODATA kinds. `scratch` holds the eligible
// positions out.rotate_over may point into. No allocation, no lock.
// `trace`: null for every normal query; for a `_why` query each pool looked at adds a step,
// and no shared rotation counter moves.
Choice select_with_fallback(std::span<const Pool> pools, size_t index, uint16_t rrtype,
                            const health::HealthTable* health, const Client& client, Rng& rng,
                            Eligible& scratch, Selection& out, Trace* trace = nullptr);

}  // namespace steerdns::lb
