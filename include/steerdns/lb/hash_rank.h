// The rendezvous ranking of the hash policy, shared by its query path (policy_hash.cc) and the
// bucket table built at load (hash_buckets.cc), which must rank exactly alike: how a member is
// scored for a key, and which of two scored members is better.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <span>

#include "steerdns/lb/hash64.h"
#include "steerdns/lb/pool.h"

namespace steerdns::lb::hash_rank {

inline constexpr double kPruneMargin = 1.0 - 0x1.0p-20;

// A draw u in (0, 1), never 0 or 1, so -ln(u) is finite and positive.
inline double unit_interval(uint64_t h) {
    return (static_cast<double>(h >> 11) + 0.5) * 0x1.0p-53;
}

struct Scored {
    double score;   // weight / -ln(u); unused on the equal-weights path
    uint64_t draw;  // the pair's draw: orders equal weights, then breaks score ties
    uint64_t key;   // member address key: the last tie-break, still independent of position
    uint32_t position;
};

// Higher is better. The same order on both paths: with equal weights the score is a strictly
// increasing function of u, and u of the draw's top 53 bits, so comparing draws first gives
// the order the scores would. That keeps every other client's answer unchanged when one
// member's weight moves the pool from one path to the other.
inline bool better_draw(const Scored& a, const Scored& b) {
    if (a.draw != b.draw) return a.draw > b.draw;
    return a.key > b.key;
}
inline bool better_score(const Scored& a, const Scored& b) {
    if (a.score != b.score) return a.score > b.score;
    return better_draw(a, b);
}

// Keeps the best `limit` entries sorted best first; insertion because limit is small
// (kMaxAnswers) and most candidates are rejected by the first comparison with the worst.
template <class Better>
void offer(std::array<Scored, kMaxAnswers>& top, uint32_t& count, uint32_t limit, const Scored& s,
           Better better) {
    if (count == limit && !better(s, top[count - 1])) return;
    uint32_t i = count < limit ? count++ : count - 1;
    while (i > 0 && better(s, top[i - 1])) {
        top[i] = top[i - 1];
        --i;
    }
    top[i] = s;
}

// Big families rank per bucket, not per client (see HashBuckets in member_table.h): a client
// subnet falls into bucket client_key >> 48, and the bucket's ranking is rendezvous hashing
// with a draw whose top 16 bits are a per-member permutation of the buckets. The permutation
// is what makes the table cheap to build: the buckets where a member draws in the top t values
// are found by inverting it t times, without scoring the member in every bucket.
inline constexpr uint32_t kBucketBits = 16;
inline constexpr uint32_t kBuckets = 1u << kBucketBits;

inline uint32_t bucket_of(uint64_t client_key) {
    return static_cast<uint32_t>(client_key >> (64 - kBucketBits));
}
inline uint64_t bucket_key(uint32_t bucket) {
    return mix64(bucket ^ 0xC0AC29B7C97C50DDull);
}

// A four-round Feistel network on 16 bits (two 8-bit halves), its round keys from the member's
// address key: a bijection of the bucket numbers per member, cheap both ways.
class BucketPermutation {
  public:
    explicit BucketPermutation(uint64_t member_key)
        : keys_(mix64(member_key ^ 0x3F84D5B5B5470917ull)) {}

    uint32_t forward(uint32_t bucket) const {
        uint32_t left = bucket >> 8;
        uint32_t right = bucket & 0xFF;
        for (uint32_t i = 0; i < 4; ++i) {
            const uint32_t next = left ^ round(i, right);
            left = right;
            right = next;
        }
        return (left << 8) | right;
    }
    uint32_t inverse(uint32_t value) const {
        uint32_t left = value >> 8;
        uint32_t right = value & 0xFF;
        for (uint32_t i = 4; i-- > 0;) {
            const uint32_t previous = right ^ round(i, left);
            right = left;
            left = previous;
        }
        return (left << 8) | right;
    }

  private:
    // 8 bits out of murmur3's 32-bit finalizer over (round key, half).
    uint32_t round(uint32_t i, uint32_t half) const {
        uint32_t h = (static_cast<uint32_t>(keys_ >> (16 * i)) << 8) ^ half ^ (i << 24);
        h ^= h >> 16;
        h *= 0x85EBCA6Bu;
        h ^= h >> 13;
        h *= 0xC2B2AE35u;
        h ^= h >> 16;
        return h & 0xFF;
    }
    uint64_t keys_;
};

// The draw of member `member_key` in bucket `bucket` (whose bucket_key() is `key`): the
// permuted bucket number on top, the pair's rendezvous hash below to order equal tops.
inline uint64_t bucket_draw(uint32_t permuted, uint64_t key, uint64_t member_key) {
    return (uint64_t{permuted} << 48) | (rendezvous_hash(key, member_key) >> 16);
}

// Writes the best min(limit, eligible members of weight > 0) of `eligible` into top, best
// first, and returns how many; draw(position) is the member's draw for the key being ranked.
// Equal weights order by draw alone; with weights, the bound w / -ln(u) <= w / (1 - u) skips
// the logarithm for members that cannot enter.
template <class Draw>
uint32_t rank(const MemberTable& t, std::span<const uint32_t> eligible, uint32_t limit, Draw draw,
              std::array<Scored, kMaxAnswers>& top) {
    uint32_t count = 0;
    if (t.uniform_weight) {
        for (const uint32_t position : eligible)
            offer(top, count, limit, Scored{0, draw(position), t.address_key[position], position},
                  better_draw);
        return count;
    }
    for (const uint32_t position : eligible) {
        const uint32_t w = t.weight[position];
        if (w == 0) continue;
        const uint64_t d = draw(position);
        const double u = unit_interval(d);
        // Compared as w < score * (1 - u) to spare a division, with a margin far above
        // rounding so the skip never drops a member that would have entered.
        if (count == limit && w < top[count - 1].score * (1.0 - u) * kPruneMargin) continue;
        offer(top, count, limit, Scored{w / -std::log(u), d, t.address_key[position], position},
              better_score);
    }
    return count;
}

// rank() in bucket `bucket`: what HashBuckets holds for it (limit kDepth, every member
// eligible), and what a selection falls back to when too few of those are up.
inline uint32_t rank_bucket(const MemberTable& t, std::span<const uint32_t> eligible,
                            uint32_t bucket, uint32_t limit, std::array<Scored, kMaxAnswers>& top) {
    const uint64_t key = bucket_key(bucket);
    return rank(
        t, eligible, limit,
        [&](uint32_t position) {
            const uint64_t member_key = t.address_key[position];
            return bucket_draw(BucketPermutation(member_key).forward(bucket), key, member_key);
        },
        top);
}

}  // namespace steerdns::lb::hash_rank
