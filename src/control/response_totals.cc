#include "steerdns/control/response_totals.h"

#include <unordered_map>

#include "steerdns/control/zone_align.h"

namespace steerdns::control {
namespace {

constexpr size_t kMembers = Snapshot::kPoolMembers;

// Moves (adds) one pool's counts `from` onto `to`, member by member through `map` (empty:
// same positions); members with no place go to `rest(i, count)`.
template <typename Rest>
void move_pool(const std::vector<uint64_t>& from, std::vector<uint64_t>& to,
               const std::vector<int32_t>& map, Rest rest) {
    to[Snapshot::kPoolResponses] += from[Snapshot::kPoolResponses];
    to[Snapshot::kPoolFallbacks] += from[Snapshot::kPoolFallbacks];
    for (size_t i = 0; i + kMembers < from.size(); ++i) {
        const uint64_t n = from[kMembers + i];
        if (map.empty()) {
            to[kMembers + i] += n;
        } else if (map[i] >= 0) {
            to[kMembers + static_cast<size_t>(map[i])] += n;
        } else {
            rest(i, n);
        }
    }
}

}  // namespace

void ResponseTotals::add(const Snapshot& s) {
    if (s.counter_rows() == 0) return;
    const auto& zones = s.zones();
    for (size_t zi = 0; zi < zones.size(); ++zi) {
        const zone::Zone& z = *zones[zi];
        const std::string apex = z.apex_text();
        const auto index = static_cast<uint16_t>(zi);
        const int32_t lz = zone_index(layout, z, apex);
        const std::vector<int32_t> pmap = lz >= 0
                                              ? pool_map(z, *layout[static_cast<size_t>(lz)], false)
                                              : std::vector<int32_t>(z.pools.size(), -1);
        for (size_t pi = 0; pi < z.pools.size(); ++pi) {
            const lb::Pool& p = z.pools[pi];
            std::vector<uint64_t> row(kMembers + p.members.size());
            for (size_t c = 0; c < row.size(); ++c) row[c] = s.pool_counter_total(index, pi, c);
            const auto by_name = [&](size_t i, uint64_t n) {
                members[{apex, p.name, member_address_key(p.members[i])}] += n;
            };
            if (pmap[pi] < 0) {
                auto& pool = pools[{apex, p.name}];
                pool[0] += row[Snapshot::kPoolResponses];
                pool[1] += row[Snapshot::kPoolFallbacks];
                for (size_t i = 0; i < p.members.size(); ++i) by_name(i, row[kMembers + i]);
                continue;
            }
            const auto lzi = static_cast<size_t>(lz);
            const auto lpi = static_cast<size_t>(pmap[pi]);
            const lb::Pool& lp = layout[lzi]->pools[lpi];
            move_pool(row, counts[lzi][lpi],
                      &z == layout[lzi].get() ? std::vector<int32_t>{} : member_map(p, lp),
                      by_name);
        }
    }
}

void ResponseTotals::align(const Snapshot& s) {
    const auto& zones = s.zones();
    std::vector<std::vector<std::vector<uint64_t>>> next(zones.size());
    for (size_t zi = 0; zi < zones.size(); ++zi) {
        next[zi].resize(zones[zi]->pools.size());
        for (size_t pi = 0; pi < zones[zi]->pools.size(); ++pi)
            next[zi][pi].assign(kMembers + zones[zi]->pools[pi].members.size(), 0);
    }
    // What the old layout counted: to its new place, or by name.
    for (size_t oz = 0; oz < layout.size(); ++oz) {
        const zone::Zone& z = *layout[oz];
        const std::string apex = z.apex_text();
        const int32_t nz = zone_index(zones, z, apex);
        const std::vector<int32_t> pmap = nz >= 0
                                              ? pool_map(z, *zones[static_cast<size_t>(nz)], false)
                                              : std::vector<int32_t>(z.pools.size(), -1);
        for (size_t pi = 0; pi < z.pools.size(); ++pi) {
            const lb::Pool& p = z.pools[pi];
            const std::vector<uint64_t>& row = counts[oz][pi];
            const auto by_name = [&](size_t i, uint64_t n) {
                members[{apex, p.name, member_address_key(p.members[i])}] += n;
            };
            if (pmap[pi] < 0) {
                auto& pool = pools[{apex, p.name}];
                pool[0] += row[Snapshot::kPoolResponses];
                pool[1] += row[Snapshot::kPoolFallbacks];
                for (size_t i = 0; i < p.members.size(); ++i) by_name(i, row[kMembers + i]);
                continue;
            }
            const auto nzi = static_cast<size_t>(nz);
            const auto npi = static_cast<size_t>(pmap[pi]);
            const lb::Pool& np = zones[nzi]->pools[npi];
            move_pool(row, next[nzi][npi],
                      &z == zones[nzi].get() ? std::vector<int32_t>{} : member_map(p, np), by_name);
        }
    }
    // What was kept by name and is served again: back to its place.
    for (size_t zi = 0; zi < zones.size() && !(pools.empty() && members.empty()); ++zi) {
        const zone::Zone& z = *zones[zi];
        const std::string apex = z.apex_text();
        for (size_t pi = 0; pi < z.pools.size(); ++pi) {
            const lb::Pool& p = z.pools[pi];
            std::vector<uint64_t>& row = next[zi][pi];
            if (const auto it = pools.find({apex, p.name}); it != pools.end()) {
                row[Snapshot::kPoolResponses] += it->second[0];
                row[Snapshot::kPoolFallbacks] += it->second[1];
                pools.erase(it);
            }
            auto it = members.lower_bound({apex, p.name, std::string()});
            if (it == members.end() || std::get<0>(it->first) != apex ||
                std::get<1>(it->first) != p.name)
                continue;
            std::unordered_map<std::string, size_t> at;
            at.reserve(p.members.size());
            for (size_t i = 0; i < p.members.size(); ++i)
                at.emplace(member_address_key(p.members[i]), i);
            while (it != members.end() && std::get<0>(it->first) == apex &&
                   std::get<1>(it->first) == p.name) {
                const auto m = at.find(std::get<2>(it->first));
                if (m == at.end()) {
                    ++it;
                    continue;
                }
                row[kMembers + m->second] += it->second;
                it = members.erase(it);
            }
        }
    }
    layout = zones;
    counts = std::move(next);
}

const std::vector<std::vector<uint64_t>>* ResponseTotals::aligned(const zone::Zone& z) const {
    for (size_t i = 0; i < layout.size(); ++i)
        if (layout[i].get() == &z) return &counts[i];
    return nullptr;
}

uint64_t ResponseTotals::member(const zone::Zone& z, size_t pi, size_t mi) const {
    if (const auto* rows = aligned(z)) return (*rows)[pi][kMembers + mi];
    const lb::Pool& p = z.pools[pi];
    const auto it = members.find({z.apex_text(), p.name, member_address_key(p.members[mi])});
    return it == members.end() ? 0 : it->second;
}

}  // namespace steerdns::control
