// HashBuckets::build: each bucket's best kDepth members without scoring every member in every
// bucket (65 536 x n draws: seconds at 10 000 members).
//
// A member's draw in bucket b has its permuted bucket number pi_m(b) on top (hash_rank.h).
// Pick a cutoff that about kCaptured members per bucket pass: with equal weights, the top t
// permuted values of every member, t = kCaptured * 65 536 / n; with weights, every pair whose
// score w / -ln(u) reaches a cutoff S (u >= exp(-w / S), so the values from
// floor(65 536 * exp(-w / S)) - 1 up). Inverting pi_m on those values finds the member's
// buckets directly: about kCaptured x 65 536 draws in all, whatever n. Every pair above the
// cutoff is found, and every pair not found ranks below it, so a bucket's found pairs above
// the cutoff, sorted, are the top of its full ranking; the rare bucket with fewer than kDepth
// of them (a Poisson tail: ~1e-4 of buckets at kCaptured = 24) is ranked in full.
#include <algorithm>
#include <cmath>
#include <vector>

#include "steerdns/lb/hash_rank.h"
#include "steerdns/lb/member_table.h"

namespace steerdns::lb {

namespace {

using hash_rank::kBuckets;

constexpr double kCaptured = 24;

// The weighted cutoff S: expected pairs per bucket above it, sum over members of
// 1 - exp(-w / S), equal to kCaptured. Solved over the distinct weights by bisection on a log
// scale; any S works for correctness, it only sets the build's cost.
double weighted_cutoff(const MemberTable& t) {
    std::vector<uint32_t> weights;
    for (const uint32_t w : t.weight)
        if (w != 0) weights.push_back(w);
    std::sort(weights.begin(), weights.end());
    std::vector<std::pair<double, double>> classes;  // weight, members
    uint64_t total = 0;
    for (size_t i = 0; i < weights.size(); ++i) {
        total += weights[i];
        if (i == 0 || weights[i] != weights[i - 1]) classes.push_back({weights[i], 0});
        classes.back().second += 1;
    }
    auto expected = [&](double s) {
        double sum = 0;
        for (const auto& [w, members] : classes) sum -= members * std::expm1(-w / s);
        return sum;
    };
    // At lo every member passes nearly surely (>= kHashTableMinMembers > kCaptured pairs); at
    // hi the sum is at most total / hi = 1.
    double lo = classes.front().first / 16;
    double hi = static_cast<double>(total);
    for (int i = 0; i < 40; ++i) {
        const double mid = std::sqrt(lo * hi);
        (expected(mid) > kCaptured ? lo : hi) = mid;
    }
    return lo;
}

}  // namespace

HashBuckets HashBuckets::build(const MemberTable& t) {
    using namespace hash_rank;
    HashBuckets buckets;
    const size_t n = t.size();
    if (t.drawable < kHashTableMinMembers || n > 0xFFFF) return buckets;

    // The first permuted value each member passes the cutoff with; kBuckets = never.
    std::vector<uint32_t> first(n, kBuckets);
    double cutoff = 0;
    if (t.uniform_weight) {
        const auto top = static_cast<uint32_t>(std::ceil(kCaptured * kBuckets / t.drawable));
        std::fill(first.begin(), first.end(), kBuckets - std::min(top, kBuckets));
    } else {
        cutoff = weighted_cutoff(t);
        for (size_t p = 0; p < n; ++p) {
            if (t.weight[p] == 0) continue;
            const double w = t.weight[p];
            const double low = std::floor(std::exp(-w / cutoff) * kBuckets);
            first[p] = low >= 1 ? static_cast<uint32_t>(low) - 1 : 0;
        }
    }

    // Found pairs grouped by bucket (a counting sort): (position << 16) | permuted value.
    std::vector<uint32_t> start(kBuckets + 1, 0);
    for (size_t p = 0; p < n; ++p) {
        const BucketPermutation pi(t.address_key[p]);
        for (uint32_t v = first[p]; v < kBuckets; ++v) ++start[pi.inverse(v) + 1];
    }
    for (uint32_t b = 0; b < kBuckets; ++b) start[b + 1] += start[b];
    std::vector<uint32_t> found(start[kBuckets]);
    {
        std::vector<uint32_t> fill(start.begin(), start.end() - 1);
        for (size_t p = 0; p < n; ++p) {
            const BucketPermutation pi(t.address_key[p]);
            for (uint32_t v = first[p]; v < kBuckets; ++v)
                found[fill[pi.inverse(v)]++] = static_cast<uint32_t>(p << 16) | v;
        }
    }

    buckets.ranked.resize(size_t{kBuckets} * kDepth);
    std::vector<uint32_t> everyone(n);
    for (uint32_t p = 0; p < n; ++p) everyone[p] = p;
    std::vector<Scored> scored;
    std::array<Scored, kMaxAnswers> top;
    for (uint32_t b = 0; b < kBuckets; ++b) {
        const uint64_t key = bucket_key(b);
        scored.clear();
        uint32_t above = 0;  // found pairs at or above the cutoff
        for (uint32_t i = start[b]; i < start[b + 1]; ++i) {
            const uint32_t p = found[i] >> 16;
            const uint64_t draw = bucket_draw(found[i] & 0xFFFF, key, t.address_key[p]);
            const double score =
                t.uniform_weight ? 0 : t.weight[p] / -std::log(unit_interval(draw));
            if (t.uniform_weight || score >= cutoff) ++above;
            scored.push_back({score, draw, t.address_key[p], p});
        }
        uint16_t* out = buckets.ranked.data() + size_t{b} * kDepth;
        if (above >= kDepth) {
            // Two calls rather than a function pointer, so the comparison inlines.
            if (t.uniform_weight)
                std::partial_sort(
                    scored.begin(), scored.begin() + kDepth, scored.end(),
                    [](const Scored& x, const Scored& y) { return better_draw(x, y); });
            else
                std::partial_sort(
                    scored.begin(), scored.begin() + kDepth, scored.end(),
                    [](const Scored& x, const Scored& y) { return better_score(x, y); });
            for (uint32_t i = 0; i < kDepth; ++i)
                out[i] = static_cast<uint16_t>(scored[i].position);
        } else {
            const uint32_t count = rank_bucket(t, everyone, b, kDepth, top);
            for (uint32_t i = 0; i < count; ++i) out[i] = static_cast<uint16_t>(top[i].position);
        }
    }
    return buckets;
}

}  // namespace steerdns::lb
