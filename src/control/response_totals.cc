#include "steerdns/control/response_totals.h"

#include "steerdns/control/drain_state.h"

namespace steerdns::control {

void ResponseTotals::add(const Snapshot& s) {
    if (s.counter_rows() == 0) return;
    const auto& zones = s.zones();
    for (size_t zi = 0; zi < zones.size(); ++zi) {
        const zone::Zone& z = *zones[zi];
        const std::string apex = z.apex_text();
        const auto index = static_cast<uint16_t>(zi);
        for (size_t pi = 0; pi < z.pools.size(); ++pi) {
            const lb::Pool& p = z.pools[pi];
            auto& pool = pools[{apex, p.name}];
            pool[0] += s.pool_counter_total(index, pi, Snapshot::kPoolResponses);
            pool[1] += s.pool_counter_total(index, pi, Snapshot::kPoolFallbacks);
            for (size_t mi = 0; mi < p.members.size(); ++mi) {
                std::string address = zone::canonical_address(p.members[mi].address_text);
                members[{apex, p.name, std::move(address)}] +=
                    s.pool_counter_total(index, pi, Snapshot::kPoolMembers + mi);
            }
        }
    }
}

void ResponseTotals::add(const ResponseTotals& other) {
    for (const auto& [k, v] : other.pools) {
        auto& mine = pools[k];
        mine[0] += v[0];
        mine[1] += v[1];
    }
    for (const auto& [k, v] : other.members) members[k] += v;
}

}  // namespace steerdns::control
