// hash (client affinity): weighted rendezvous hashing, also called highest random weight.
// Every (client subnet, member address) pair gets a pseudo-random draw u in (0, 1); the member
// scores weight / -ln(u) and the highest scores answer. A member's score does not depend on
// which other members exist, so a member going down, or being removed from the file, moves
// only the clients it was answering, and a weight w member wins w times as often as a weight 1
// one.
#pragma once

#include <cstdint>

#include "steerdns/lb/candidates.h"
#include "steerdns/lb/client_net.h"

namespace steerdns::lb {

// Writes the min(answer_limit(answers), eligible members of weight > 0) highest scores for
// `subnet` (see hashing_subnet()), best first; ecs_scope = subnet.prefix.
//
// Cost: one multiply-and-mix per eligible member. With equal weights the order of u is the
// order of the scores, so no logarithm is taken; with weights, the bound
// w / -ln(u) <= w / (1 - u) skips the logarithm for members that cannot enter the answer.
// Families with a HashBuckets table (kHashTableMinMembers and more) rank the client's bucket
// instead: at most HashBuckets::kDepth lookups, the full walk only when too few of those are
// eligible.
void select_hash(const Candidates& candidates, uint32_t answers, const ClientNet& subnet,
                 Selection& out);

}  // namespace steerdns::lb
