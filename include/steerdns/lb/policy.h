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

// Result of a selection, in answer order: either an explicit list of positions in the
// pool's FamilySet (weighted draws and the like, at most kMaxAnswers), or a rotation
// (`count` positions starting at `rotate_start`, wrapping), which needs no list however many
// members a pool has. `ecs_scope`: the ECS prefix the answer is valid for (0 = everyone).
struct Selection {
    std::array<uint32_t, kMaxAnswers> index;
    uint32_t count = 0;
    uint32_t rotate_start = 0;
    bool rotated = false;
    uint8_t ecs_scope = 0;

    uint32_t position(uint32_t i, size_t family_size) const {
        return rotated ? static_cast<uint32_t>((rotate_start + i) % family_size) : index[i];
    }
};

void select(const Pool& pool, uint16_t rrtype, const Client& client, Rng& rng, Selection& out);

}  // namespace steerdns::lb
