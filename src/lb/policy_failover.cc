#include "steerdns/lb/policy_failover.h"

namespace steerdns::lb {

void select_failover(const Candidates& c, uint32_t answers, uint64_t rotation, Selection& out) {
    out.ecs_scope = 0;
    const MemberTable& t = *c.table;
    if (c.all_eligible()) {
        // Everyone up: the top group is known since load.
        out.rotated = false;
        const auto group = static_cast<uint32_t>(t.top_priority.size());
        out.count = std::min(answer_limit(answers), group);
        if (group == 0) return;
        const auto start = static_cast<uint32_t>(rotation % group);
        for (uint32_t i = 0; i < out.count; ++i) out.index[i] = t.top_priority[(start + i) % group];
        return;
    }
    int32_t best = 0;
    uint32_t group_size = 0;
    c.walk([&](uint32_t position) {
        const int32_t p = t.priority[position];
        if (group_size == 0 || p > best) {
            best = p;
            group_size = 1;
        } else if (p == best) {
            ++group_size;
        }
        return true;
    });
    take_rotated(
        c, [&](uint32_t position) { return t.priority[position] == best; }, group_size, answers,
        rotation, out);
}

}  // namespace steerdns::lb
