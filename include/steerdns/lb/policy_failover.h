// failover: the eligible members of the highest priority that has any (higher is preferred,
// as keepalived), rotated among equals. Lower priorities answer only when every member above
// them is down.
#pragma once

#include <cstdint>

#include "steerdns/lb/candidates.h"

namespace steerdns::lb {

// `rotation`: the pool's shared rotation counter value for this query (fetch_add by the
// caller), so equals rotate exactly across workers as round-robin does. Writes
// min(answer_limit(answers), group size) positions; ecs_scope 0.
// Every member up: O(answers) from the group precomputed at load. Else two passes over the
// eligible members (find the group, then take from it); no buffer.
void select_failover(const Candidates& candidates, uint32_t answers, uint64_t rotation,
                     Selection& out);

}  // namespace steerdns::lb
