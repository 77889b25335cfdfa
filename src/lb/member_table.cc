#include "steerdns/lb/member_table.h"

#include <algorithm>

#include "steerdns/lb/hash64.h"
#include "steerdns/lb/pool.h"

namespace steerdns::lb {

MemberTable MemberTable::build(const Pool& pool, const FamilySet& family,
                               std::span<const uint16_t> member_region) {
    MemberTable t;
    const size_t n = family.members.size();
    t.weight.reserve(n);
    t.cumulative_weight.reserve(n);
    t.priority.reserve(n);
    t.region.reserve(n);
    t.address_key.reserve(n);
    uint64_t running = 0;
    for (const uint32_t index : family.members) {
        const Member& m = pool.members[index];
        t.weight.push_back(m.weight);
        running += m.weight;
        t.cumulative_weight.push_back(running);
        t.priority.push_back(m.priority);
        t.region.push_back(index < member_region.size() ? member_region[index] : kNoRegion);
        t.address_key.push_back(hash_address(m.family, m.family == 6 ? 128 : 32, m.address));
        if (m.weight != 0) ++t.drawable;
    }
    for (const Member& m : pool.members)
        if (m.weight != 1) t.uniform_weight = false;

    for (uint32_t p = 0; p < n; ++p) {
        if (!t.top_priority.empty() && t.priority[p] < t.priority[t.top_priority.front()]) continue;
        if (!t.top_priority.empty() && t.priority[p] > t.priority[t.top_priority.front()])
            t.top_priority.clear();
        t.top_priority.push_back(p);
    }

    uint16_t regions = 0;
    for (const uint16_t r : t.region)
        if (r != kNoRegion) regions = std::max<uint16_t>(regions, r + 1);
    t.region_start.assign(static_cast<size_t>(regions) + 1, 0);
    for (const uint16_t r : t.region)
        if (r != kNoRegion) ++t.region_start[r + 1];
    for (uint16_t r = 0; r < regions; ++r) t.region_start[r + 1] += t.region_start[r];
    t.by_region.resize(t.region_start[regions]);
    t.region_cumulative.resize(t.region_start[regions]);
    std::vector<uint32_t> fill(t.region_start.begin(), t.region_start.end() - 1);
    for (uint32_t p = 0; p < n; ++p) {  // ascending, so each region's slice is ascending
        const uint16_t r = t.region[p];
        if (r == kNoRegion) continue;
        const uint32_t at = fill[r]++;
        t.by_region[at] = p;
        t.region_cumulative[at] =
            (at == t.region_start[r] ? 0 : t.region_cumulative[at - 1]) + t.weight[p];
    }
    if (pool.policy == Policy::hash) t.hash_buckets = HashBuckets::build(t);
    return t;
}

}  // namespace steerdns::lb
