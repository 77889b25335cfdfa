// Responses per pool and per member, added up over snapshots: the workers count in the
// snapshot they answer from (Snapshot::pool_counters), and a reload retires that snapshot.
// The control thread adds a retired snapshot's final counts here before freeing it, so the
// totals /metrics shows never go backwards across reloads. A member keeps its count when the
// file around it changes: counts follow zone apex, pool name and address, not positions.
//
// Memory: the counts of what the current snapshot serves are kept by position, aligned with
// its zones (align() moves them at every publish), so 100 000 members cost 8 bytes each, not
// a map node with three strings. Only what left the zones (and, with no layout, everything)
// is kept by name, so that a member removed and added back gets its count again.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "steerdns/answer/snapshot.h"

namespace steerdns::control {

struct ResponseTotals {
    using PoolKey = std::tuple<std::string, std::string>;                 // zone, pool
    using MemberKey = std::tuple<std::string, std::string, std::string>;  // zone, pool, address
    // By name: counts of pools and members the layout below does not hold.
    std::map<PoolKey, std::array<uint64_t, 2>> pools;  // responses, fallbacks
    std::map<MemberKey, uint64_t> members;
    // By position: counts[z][p] is pool p of layout[z] as Snapshot counts it,
    // [kPoolResponses, kPoolFallbacks, kPoolMembers + i for member i].
    std::vector<zone::ZonePtr> layout;
    std::vector<std::vector<std::vector<uint64_t>>> counts;

    // Adds every counter of `s` (summed over its worker rows), by position where `s`'s pools
    // and members are in the layout, by name otherwise.
    void add(const Snapshot& s);
    // Re-keys the counts onto `s`'s zones (the snapshot about to serve): what `s` has moves
    // to (or back to) its position, what it lacks is kept by name.
    void align(const Snapshot& s);
    // The counts of `z`'s pools when `z` is the layout's zone object, else null.
    const std::vector<std::vector<uint64_t>>* aligned(const zone::Zone& z) const;
    // Member `mi` of pool `pi` of `z`: by position when aligned, by name otherwise.
    uint64_t member(const zone::Zone& z, size_t pi, size_t mi) const;
};

}  // namespace steerdns::control
