// The per-member attributes of one address family laid out for the policies (see
// candidates.h), built once at load into each FamilySet. Apart from pool.h so that a FamilySet
// can hold its table by value.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace steerdns::lb {

struct Pool;
struct FamilySet;

// Region id of a member outside any region, or of a client no rule placed.
inline constexpr uint16_t kNoRegion = 0xFFFF;

// A hash family with at least this many members of weight > 0 ranks clients through a
// HashBuckets table; below it the per-client walk is cheap enough (~0.5 µs at 256 members)
// and keeps every client subnet its own ranking.
inline constexpr uint32_t kHashTableMinMembers = 256;

struct MemberTable;

// The hash policy's table for big families: each of the 2^16 client buckets' best kDepth
// members (rendezvous ranking with the bucket's key, hash_rank.h), best first, so that a
// selection walks at most kDepth entries instead of scoring every member. A member going down
// is skipped in the walk, so only its clients move; when fewer than `answers` of a bucket's
// kDepth are eligible the policy ranks the bucket in full with the same draws, which gives the
// order the table would have continued with.
//
// The price of a fixed bucket count: clients are spread over 65 536 rankings, so at n members
// each member heads about 65 536 / n of them and its share of clients varies accordingly
// (bench/README.md: the measured shares). Positions are 16 bits, so families of more than
// 65 535 members keep the walk.
struct HashBuckets {
    static constexpr uint32_t kDepth = 8;
    std::vector<uint16_t> ranked;  // bucket b: ranked[b * kDepth .. b * kDepth + kDepth)

    bool empty() const { return ranked.empty(); }
    const uint16_t* bucket(uint32_t b) const { return ranked.data() + size_t{b} * kDepth; }
    size_t bytes() const { return ranked.capacity() * sizeof(uint16_t); }

    // Empty unless the family qualifies (see above). Deterministic: a function of the members'
    // addresses and weights only, so every server sends a client to the same member.
    static HashBuckets build(const MemberTable& table);
};

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
    // Every weight of the pool is 1, counting both families and drained members: geo rotates
    // instead of drawing. Decided per pool so that "weighted inside a region" does not change
    // between A and AAAA of one pool because one family happens to have no weights.
    bool uniform_weight = true;
    uint32_t drawable = 0;  // members of weight > 0

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
    // hash pools only, and only big families (see HashBuckets).
    HashBuckets hash_buckets;

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

}  // namespace steerdns::lb
