// weighted: each answer holds distinct members drawn without replacement, each draw
// proportional to weight among the members not drawn yet; weight 0 is never drawn.
#pragma once

#include <cstdint>

#include "steerdns/lb/candidates.h"
#include "steerdns/lb/rng.h"

namespace steerdns::lb {

// Draws min(answer_limit(answers), eligible members of weight > 0) members into `out`
// (explicit list, ecs_scope 0: the answer does not depend on the client).
//
// Cost: each draw is a binary search over the cumulative weights built at load, retried when
// it lands on a member that is down or already drawn; after a run of misses (most of the
// weight down or drawn), or straight away with fewer than 1 member in 16 eligible or a
// handful of members, an exact walk over the eligible members. Both give exactly the same
// distribution (rejection is conditioning), so the choice between them is only a matter of speed.
void select_weighted(const Candidates& candidates, uint32_t answers, Rng& rng, Selection& out);

// The same draw restricted to the eligible members of one region (geo's policy inside a
// region): by rejection on the region's own cumulative weights while every member is up,
// else the walk. Leaves out.ecs_scope alone (geo sets it).
void select_weighted_in_region(const Candidates& candidates, uint16_t region, uint32_t answers,
                               Rng& rng, Selection& out);

// Least retries of the binary-search draw before walking. At half the weight eligible, 16
// misses in a row happen once in 65 536 draws.
inline constexpr int kMaxRejections = 16;

// Up to this many eligible members, walking them (a few adds) beats binary searches.
inline constexpr uint32_t kWalkAtMost = 8;

}  // namespace steerdns::lb
