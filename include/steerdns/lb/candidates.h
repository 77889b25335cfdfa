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

#include "steerdns/lb/policy.h"
#include "steerdns/lb/pool.h"

namespace steerdns::lb {

// Region id of a member outside any region, or of a client no rule placed.
inline constexpr uint16_t kNoRegion = 0xFFFF;

// Parallel arrays indexed by position, not a vector of Member: a policy walking thousands of
// members reads only the 4 or 8 bytes it needs per member, and Member carries strings.
struct MemberTable {
    std::vector<uint32_t> weight;
    // cumulative_weight[i] = weight[0] + ... + weight[i]: a weighted draw over the whole
    // family is one binary search instead of a pass.
    std::vector<uint64_t> cumulative_weight;
    std::vector<int32_t> priority;
    std::vector<uint16_t> region;
    // hash_address() of the member's address: rendezvous scores are keyed by address, not by
    // position, so editing the member list moves only the clients of the member edited.
    std::vector<uint64_t> address_key;
    bool uniform_weight = true;  // every weight is 1: geo rotates instead of drawing
    uint32_t drawable = 0;       // members of weight > 0

    // Groups precomputed for the common case of every member up, where failover and geo then
    // answer in O(answers) instead of walking the family:
    // the positions of the highest priority, ascending (failover's answer);
    std::vector<uint32_t> top_priority;
    // positions grouped by region id, ascending inside a region: region r holds
    // by_region[region_start[r] .. region_start[r + 1]), with the running weight along that
    // slice in region_cumulative (restarting at each region). Members without a region are
    // left out.
    std::vector<uint32_t> by_region;
    std::vector<uint64_t> region_cumulative;
    std::vector<uint32_t> region_start;  // region count + 1 entries

    size_t size() const { return weight.size(); }
    uint16_t region_count() const {
        return region_start.empty() ? 0 : static_cast<uint16_t>(region_start.size() - 1);
    }
    std::span<const uint32_t> region_members(uint16_t r) const {
        return std::span<const uint32_t>(by_region).subspan(region_start[r],
                                                            region_start[r + 1] - region_start[r]);
    }
    std::span<const uint64_t> region_weights(uint16_t r) const {
        return std::span<const uint64_t>(region_cumulative)
            .subspan(region_start[r], region_start[r + 1] - region_start[r]);
    }
    uint64_t total_weight() const {
        return cumulative_weight.empty() ? 0 : cumulative_weight.back();
    }

    // `member_region` is indexed like Pool::members (region ids the loader assigned); empty
    // when the pool has no regions.
    static MemberTable build(const Pool& pool, const FamilySet& family,
                             std::span<const uint16_t> member_region = {});
};

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
