#include "steerdns/lb/policy_geo.h"

#include <algorithm>

#include "steerdns/lb/policy_weighted.h"

namespace steerdns::lb {

void select_geo(const Candidates& c, const RegionPreferences& preferences, GeoMatch where,
                uint32_t answers, uint64_t rotation, Rng& rng, Selection& out) {
    const MemberTable& t = *c.table;
    const uint16_t regions = preferences.region_count();
    const bool weighted = !t.uniform_weight;
    if (where.region >= regions) {
        // No region for this client (the rules give no default): every member is as near.
        if (weighted)
            select_weighted(c, answers, rng, out);
        else
            take_rotated(
                c, [](uint32_t) { return true; }, c.count(), answers, rotation, out);
        out.ecs_scope = where.scope;
        return;
    }
    out.rotated = false;
    out.count = 0;
    out.ecs_scope = where.scope;

    if (c.all_eligible()) {
        // Everyone up: the first listed region with members answers, from its slice built at
        // load, in O(answers) (rotation) or O(answers log n) (weights).
        for (const uint16_t region : preferences.order(where.region)) {
            if (region >= t.region_count() || t.region_members(region).empty()) continue;
            if (weighted) {
                if (t.region_weights(region).back() == 0) continue;
                select_weighted_in_region(c, region, answers, rng, out);
                return;
            }
            const auto members = t.region_members(region);
            const auto group = static_cast<uint32_t>(members.size());
            out.count = std::min(answer_limit(answers), group);
            const auto start = static_cast<uint32_t>(rotation % group);
            for (uint32_t i = 0; i < out.count; ++i) out.index[i] = members[(start + i) % group];
            return;
        }
        return;
    }

    // Some members down: one pass finds the best-ranked region with an eligible member, and
    // how many it has.
    uint16_t best_rank = RegionPreferences::kUnranked;
    uint16_t best_region = kNoRegion;
    uint32_t group_size = 0;
    c.walk([&](uint32_t position) {
        const uint16_t region = t.region[position];
        if (region >= regions) return true;
        if (weighted && t.weight[position] == 0) return true;
        const uint16_t rank = preferences.rank(where.region, region);
        if (rank < best_rank) {
            best_rank = rank;
            best_region = region;
            group_size = 1;
        } else if (rank == best_rank && rank != RegionPreferences::kUnranked) {
            ++group_size;
        }
        return true;
    });
    if (group_size == 0) return;
    if (weighted) {
        select_weighted_in_region(c, best_region, answers, rng, out);
        return;
    }
    take_rotated(
        c, [&](uint32_t position) { return t.region[position] == best_region; }, group_size,
        answers, rotation, out);
}

}  // namespace steerdns::lb
