#include "steerdns/lb/policy_hash.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "steerdns/lb/hash64.h"

namespace steerdns::lb {

namespace {

constexpr double kPruneMargin = 1.0 - 0x1.0p-20;

// A draw u in (0, 1), never 0 or 1, so -ln(u) is finite and positive.
double unit_interval(uint64_t h) {
    return (static_cast<double>(h >> 11) + 0.5) * 0x1.0p-53;
}

struct Scored {
    double score;   // weight / -ln(u); unused on the equal-weights path
    uint64_t draw;  // rendezvous_hash(): orders equal weights, then breaks score ties
    uint64_t key;   // member address key: the last tie-break, still independent of position
    uint32_t position;
};

// Higher is better. The same order on both paths: with equal weights the score is a strictly
// increasing function of u, and u of the draw's top 53 bits, so comparing draws first gives
// the order the scores would. That keeps every other client's answer unchanged when one
// member's weight moves the pool from one path to the other.
bool better_draw(const Scored& a, const Scored& b) {
    if (a.draw != b.draw) return a.draw > b.draw;
    return a.key > b.key;
}
bool better_score(const Scored& a, const Scored& b) {
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

}  // namespace

void select_hash(const Candidates& c, uint32_t answers, const ClientNet& subnet, Selection& out) {
    out.rotated = false;
    out.count = 0;
    out.ecs_scope = subnet.prefix;
    const MemberTable& t = *c.table;
    const uint32_t limit = answer_limit(answers);
    const uint64_t client_key = hash_address(subnet.family, subnet.prefix, subnet.address);

    std::array<Scored, kMaxAnswers> top;
    uint32_t count = 0;
    if (t.uniform_weight) {
        c.walk([&](uint32_t position) {
            const uint64_t key = t.address_key[position];
            offer(top, count, limit, Scored{0, rendezvous_hash(client_key, key), key, position},
                  better_draw);
            return true;
        });
    } else {
        c.walk([&](uint32_t position) {
            const uint32_t w = t.weight[position];
            if (w == 0) return true;
            const uint64_t key = t.address_key[position];
            const uint64_t draw = rendezvous_hash(client_key, key);
            const double u = unit_interval(draw);
            // -ln(u) >= 1 - u, so w / (1 - u) bounds the score from above: a member whose
            // bound is below the worst kept score cannot enter, skip the logarithm. Compared
            // as w < score * (1 - u) to spare a division, with a margin far above rounding
            // so the skip never drops a member that would have entered.
            if (count == limit && w < top[count - 1].score * (1.0 - u) * kPruneMargin) return true;
            offer(top, count, limit, Scored{w / -std::log(u), draw, key, position}, better_score);
            return true;
        });
    }
    for (uint32_t i = 0; i < count; ++i) out.index[i] = top[i].position;
    out.count = count;
}

}  // namespace steerdns::lb
