// Responses per pool and per member, added up over snapshots: the workers count in the
// snapshot they answer from (Snapshot::pool_counters), and a reload retires that snapshot.
// The control thread adds a retired snapshot's final counts here before freeing it, so the
// totals /metrics shows never go backwards across reloads. Keys are names, not positions:
// a member keeps its count when the file around it changes.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "steerdns/answer/snapshot.h"

namespace steerdns::control {

struct ResponseTotals {
    using PoolKey = std::tuple<std::string, std::string>;                 // zone, pool
    using MemberKey = std::tuple<std::string, std::string, std::string>;  // zone, pool, address
    std::map<PoolKey, std::array<uint64_t, 2>> pools;                     // responses, fallbacks
    std::map<MemberKey, uint64_t> members;

    // Adds every counter of `s` (summed over its worker rows).
    void add(const Snapshot& s);
    void add(const ResponseTotals& other);
};

}  // namespace steerdns::control
