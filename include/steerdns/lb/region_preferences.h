// A geo pool's "regions" lists, apart from policy_geo.h so that a Pool can hold them by value.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace steerdns::lb {

// A pool's "regions": client region -> ordered list of member regions to try. Stored as a
// rank matrix (region_count x region_count) so that finding the best region among the
// eligible members is one load per member.
class RegionPreferences {
  public:
    static constexpr uint16_t kUnranked = 0xFFFF;

    // `lists[r]`: the pool's list for client region r (ids < region_count), or empty when
    // the pool gives none: then [r] followed by every other region in id order. A region
    // listed twice keeps its first place. lists.size() may be below region_count.
    static RegionPreferences build(uint16_t region_count,
                                   std::span<const std::vector<uint16_t>> lists);

    uint16_t region_count() const { return count_; }
    std::span<const uint16_t> order(uint16_t client_region) const;
    // Place of member_region in client_region's list (0 = first), kUnranked when absent.
    uint16_t rank(uint16_t client_region, uint16_t member_region) const {
        return rank_[static_cast<size_t>(client_region) * count_ + member_region];
    }

  private:
    uint16_t count_ = 0;
    std::vector<uint16_t> rank_;
    std::vector<uint16_t> order_;  // lists back to back
    std::vector<uint32_t> start_;  // count_ + 1 offsets into order_
};

}  // namespace steerdns::lb
