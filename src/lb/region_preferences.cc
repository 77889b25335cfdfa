#include "steerdns/lb/region_preferences.h"

namespace steerdns::lb {

RegionPreferences RegionPreferences::build(uint16_t region_count,
                                           std::span<const std::vector<uint16_t>> lists) {
    RegionPreferences p;
    p.count_ = region_count;
    p.rank_.assign(static_cast<size_t>(region_count) * region_count, kUnranked);
    p.start_.reserve(static_cast<size_t>(region_count) + 1);
    for (uint16_t client = 0; client < region_count; ++client) {
        p.start_.push_back(static_cast<uint32_t>(p.order_.size()));
        uint16_t next_rank = 0;
        auto append = [&](uint16_t region) {
            if (region >= region_count) return;
            uint16_t& r = p.rank_[static_cast<size_t>(client) * region_count + region];
            if (r != kUnranked) return;
            r = next_rank++;
            p.order_.push_back(region);
        };
        if (client < lists.size() && !lists[client].empty()) {
            for (const uint16_t region : lists[client]) append(region);
        } else {
            append(client);
            for (uint16_t region = 0; region < region_count; ++region) append(region);
        }
    }
    p.start_.push_back(static_cast<uint32_t>(p.order_.size()));
    return p;
}

std::span<const uint16_t> RegionPreferences::order(uint16_t client_region) const {
    if (client_region >= count_) return {};
    return std::span<const uint16_t>(order_).subspan(
        start_[client_region], start_[client_region + 1] - start_[client_region]);
}

}  // namespace steerdns::lb
