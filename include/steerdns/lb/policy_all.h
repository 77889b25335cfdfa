// all: every eligible member, capped (Route 53 multivalue answers up to 8), starting one member
// further on each query so that, with more members up than the cap, each gets its turn.
#pragma once

#include <cstdint>

#include "steerdns/lb/candidates.h"

namespace steerdns::lb {

// Route 53's multivalue cap, the contract's default when the pool gives no `answers`.
inline constexpr uint32_t kAllDefaultAnswers = 8;

// `answers`: the pool's value, 0 = kAllDefaultAnswers. `rotation`: the pool's shared rotation
// counter value. ecs_scope 0.
void select_all(const Candidates& candidates, uint32_t answers, uint64_t rotation, Selection& out);

}  // namespace steerdns::lb
