#include "steerdns/lb/policy_all.h"

#include <algorithm>

namespace steerdns::lb {

void select_all(const Candidates& c, uint32_t answers, uint64_t rotation, Selection& out) {
    out.ecs_scope = 0;
    out.rotated = false;
    // The eligible positions are a list: index it, no walk, whatever the pool's size.
    const uint32_t n = c.count();
    out.count = std::min(answer_limit(answers == 0 ? kAllDefaultAnswers : answers), n);
    if (n == 0) return;
    const auto start = static_cast<uint32_t>(rotation % n);
    for (uint32_t i = 0; i < out.count; ++i) out.index[i] = c.eligible[(start + i) % n];
}

}  // namespace steerdns::lb
