// Picks the members one answer carries. One entry point dispatching on the pool's policy with
// a switch: a fixed set of policies needs no indirection, and the switch inlines.
#pragma once

#include <cstdint>
#include <span>

#include "steerdns/dns/query.h"
#include "steerdns/lb/pool.h"
#include "steerdns/lb/rng.h"

namespace steerdns::lb {

// Who asked: the transport source address, and the ECS option when the query carried one.
struct Client {
    uint8_t family = 4;  // of `address`
    uint8_t address[16] = {};
    const dns::ClientSubnet* ecs = nullptr;
};

// Result of a selection: positions in the pool's FamilySet for the queried type, in answer
// order, plus the ECS scope the answer is valid for (0 = the same for every client).
struct Selection {
    std::array<uint16_t, kMaxAnswers> index;
    uint16_t count = 0;
    uint8_t ecs_scope = 0;
};

void select(const Pool& pool, uint16_t rrtype, const Client& client, Rng& rng, Selection& out);

}  // namespace steerdns::lb
