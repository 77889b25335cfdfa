// What every policy chooses from: the per-member attributes of one address family laid out
// for the query path (MemberTable, built at load), and the members eligible for this query
// (ascending positions that passed the health filter, lb::Eligible::positions(); drained
// members are not in the family at all). Together: Candidates.
//
// Positions are indices into FamilySet::members, so a Selection built from them indexes the
// family's pre-rendered record images directly.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "steerdns/lb/member_table.h"
#include "steerdns/lb/policy.h"
#include "steerdns/lb/pool.h"

namespace steerdns::lb {

struct Candidates {
    const MemberTable* table = nullptr;
    // Ascending, distinct positions. Ascending lets contains() binary-search and keeps every
    // walk in member order, so rotations are stable from one query to the next.
    std::span<const uint32_t> eligible;

    uint32_t count() const { return static_cast<uint32_t>(eligible.size()); }
    bool all_eligible() const { return eligible.size() == table->size(); }
    bool contains(uint32_t position) const {
        return all_eligible() ? position < table->size()
                              : std::binary_search(eligible.begin(), eligible.end(), position);
    }

    // Calls f(position) for every eligible position in ascending order, until f returns false.
    template <class F>
    void walk(F&& f) const {
        for (const uint32_t position : eligible)
            if (!f(position)) return;
    }
};

// Records per answer for a policy: the pool's `answers`, where 0 means "as many as the policy
// gives", capped by what one Selection holds.
inline uint32_t answer_limit(uint32_t answers) {
    return answers == 0 ? static_cast<uint32_t>(kMaxAnswers)
                        : std::min(answers, static_cast<uint32_t>(kMaxAnswers));
}

// Writes up to `answers` of the `group_size` eligible positions for which in_group() holds,
// starting at the (rotation % group_size)-th and wrapping: over group_size consecutive
// rotation values each member of the group comes first once. One pass, no buffer, so it
// works for groups of any size.
template <class InGroup>
void take_rotated(const Candidates& candidates, InGroup in_group, uint32_t group_size,
                  uint32_t answers, uint64_t rotation, Selection& out) {
    out.rotated = false;
    out.count = 0;
    if (group_size == 0) return;
    const uint32_t count = std::min(answer_limit(answers), group_size);
    const auto start = static_cast<uint32_t>(rotation % group_size);
    // Without wrap-around the tail after start + count need not be walked.
    const uint32_t stop = start + count <= group_size ? start + count : group_size;
    uint32_t k = 0;  // index of `position` within the group
    candidates.walk([&](uint32_t position) {
        if (!in_group(position)) return true;
        const uint32_t slot = k >= start ? k - start : k + group_size - start;
        if (slot < count) out.index[slot] = position;
        return ++k < stop;
    });
    out.count = count;
}

}  // namespace steerdns::lb
