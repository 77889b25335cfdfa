#include "steerdns/lb/policy_weighted.h"

#include <algorithm>
#include <array>
#include <span>

namespace steerdns::lb {

namespace {

bool drawn_already(const Selection& out, uint32_t position) {
    for (uint32_t i = 0; i < out.count; ++i)
        if (out.index[i] == position) return true;
    return false;
}

// Exact sequential draws by walking the eligible members: total the weight still available,
// pick a point in it, walk to the member holding that point. Drawn members are kept sorted
// beside the walk (a merge, since the walk is in ascending order) so skipping them costs O(1) each.
template <class Keep>
void draw_by_walk(const Candidates& c, Keep keep, uint32_t want, Rng& rng, Selection& out) {
    const MemberTable& t = *c.table;
    std::array<uint32_t, kMaxAnswers> drawn;
    uint32_t drawn_count = out.count;
    std::copy_n(out.index.begin(), out.count, drawn.begin());
    std::sort(drawn.begin(), drawn.begin() + drawn_count);
    // Both walks skip what is drawn by advancing `d` through the sorted copy.
    auto is_drawn = [&](uint32_t position, uint32_t& d) {
        while (d < drawn_count && drawn[d] < position) ++d;
        return d < drawn_count && drawn[d] == position;
    };

    uint64_t remaining = 0;
    uint32_t d = 0;
    c.walk([&](uint32_t position) {
        if (!is_drawn(position, d) && keep(position)) remaining += t.weight[position];
        return true;
    });
    while (out.count < want && remaining > 0) {
        uint64_t point = rng.bounded(remaining);
        d = 0;
        c.walk([&](uint32_t position) {
            if (is_drawn(position, d) || !keep(position)) return true;
            const uint32_t w = t.weight[position];
            if (point >= w) {
                point -= w;
                return true;
            }
            out.index[out.count++] = position;
            remaining -= w;
            // Into the sorted copy too; at most kMaxAnswers entries.
            auto at = std::upper_bound(drawn.begin(), drawn.begin() + drawn_count, position);
            std::copy_backward(at, drawn.begin() + drawn_count, drawn.begin() + drawn_count + 1);
            *at = position;
            ++drawn_count;
            return false;
        });
    }
}

// Draws from `slice` (ascending positions; empty = every position) by a binary search on
// `cumulative` (running weight along the slice), retrying members that are down or already
// drawn: exactly the distribution over the rest, at O(log n) per try. Gives up after `budget`
// misses in a row, leaving the remaining draws to the walk.
void draw_by_rejection(const Candidates& c, std::span<const uint32_t> slice,
                       std::span<const uint64_t> cumulative, uint32_t want, int budget, Rng& rng,
                       Selection& out) {
    if (cumulative.empty() || cumulative.back() == 0) return;
    const uint64_t total = cumulative.back();
    while (out.count < want) {
        bool hit = false;
        for (int attempt = 0; attempt < budget && !hit; ++attempt) {
            const uint64_t point = rng.bounded(total);
            const auto i = static_cast<uint32_t>(
                std::upper_bound(cumulative.begin(), cumulative.end(), point) - cumulative.begin());
            const uint32_t position = slice.empty() ? i : slice[i];
            if (!c.contains(position) || drawn_already(out, position)) continue;
            out.index[out.count++] = position;
            hit = true;
        }
        if (!hit) return;
    }
}

// Tries the rejection draw gets: about four times the expected number of tries (members per
// eligible member), so the walk is rarely needed. None for a handful of eligible members, or
// below one member in 16 up: there the walk is cheaper than the misses.
int rejection_budget(uint64_t eligible, uint64_t members) {
    if (eligible <= kWalkAtMost || eligible * 16 < members) return 0;
    return static_cast<int>(std::clamp<uint64_t>(4 * members / eligible, kMaxRejections, 64));
}

}  // namespace

void select_weighted(const Candidates& c, uint32_t answers, Rng& rng, Selection& out) {
    out.rotated = false;
    out.count = 0;
    out.ecs_scope = 0;
    const MemberTable& t = *c.table;
    uint32_t want = std::min(answer_limit(answers), c.count());
    if (c.all_eligible()) want = std::min(want, t.drawable);
    if (want == 0) return;
    draw_by_rejection(c, {}, t.cumulative_weight, want, rejection_budget(c.count(), t.size()), rng,
                      out);
    if (out.count < want)
        draw_by_walk(
            c, [](uint32_t) { return true; }, want, rng, out);
}

void select_weighted_in_region(const Candidates& c, uint16_t region, uint32_t answers, Rng& rng,
                               Selection& out) {
    out.rotated = false;
    out.count = 0;
    const MemberTable& t = *c.table;
    uint32_t want = std::min(answer_limit(answers), c.count());
    if (c.all_eligible() && region < t.region_count()) {
        const auto members = t.region_members(region);
        want = std::min(want, static_cast<uint32_t>(members.size()));
        draw_by_rejection(c, members, t.region_weights(region), want, kMaxRejections, rng, out);
    }
    if (out.count < want)
        draw_by_walk(
            c, [&](uint32_t position) { return t.region[position] == region; }, want, rng, out);
}

}  // namespace steerdns::lb
