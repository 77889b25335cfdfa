#include "steerdns/control/member_since.h"

#include "steerdns/control/zone_align.h"

namespace steerdns::control {

void MemberSinceTable::update(const Snapshot& s, int64_t now_unix_ms) {
    const auto& zones = s.zones();
    std::vector<std::vector<std::vector<int64_t>>> next(zones.size());
    for (size_t zi = 0; zi < zones.size(); ++zi) {
        const zone::Zone& z = *zones[zi];
        next[zi].resize(z.pools.size());
        const int32_t old = zone_index(zones_, z, z.apex_text());
        const zone::Zone* oz = old >= 0 ? zones_[static_cast<size_t>(old)].get() : nullptr;
        // Pool names as zone::canonical_pool compares them (a drain's key does the same).
        const std::vector<int32_t> pmap =
            oz ? pool_map(z, *oz, true) : std::vector<int32_t>(z.pools.size(), -1);
        for (size_t pi = 0; pi < z.pools.size(); ++pi) {
            const lb::Pool& p = z.pools[pi];
            std::vector<int64_t>& row = next[zi][pi];
            row.assign(p.members.size(), now_unix_ms);
            if (pmap[pi] < 0) continue;
            const auto opi = static_cast<size_t>(pmap[pi]);
            const lb::Pool& op = oz->pools[opi];
            const std::vector<int64_t>& was = since_[static_cast<size_t>(old)][opi];
            const std::vector<int32_t> mmap = oz == &z ? std::vector<int32_t>{} : member_map(p, op);
            for (size_t mi = 0; mi < p.members.size(); ++mi) {
                const int32_t at = mmap.empty() ? static_cast<int32_t>(mi) : mmap[mi];
                if (at >= 0 && op.members[static_cast<size_t>(at)].enabled == p.members[mi].enabled)
                    row[mi] = was[static_cast<size_t>(at)];
            }
        }
    }
    zones_ = zones;
    since_ = std::move(next);
}

std::optional<int64_t> MemberSinceTable::since(const zone::Zone& z, size_t pi, size_t mi) const {
    for (size_t i = 0; i < zones_.size(); ++i)
        if (zones_[i].get() == &z) return since_[i][pi][mi];
    return std::nullopt;
}

}  // namespace steerdns::control
