// The world as workers see it: every zone, and one hash index from any name in any zone to
// its node. Immutable after build; published by pointer (server/snapshot_slot.h) and freed
// on the control thread once no worker holds it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "steerdns/health/health_table.h"
#include "steerdns/zone/zone.h"

namespace steerdns {

struct NodeRef {
    const zone::Zone* zone = nullptr;
    const zone::Node* node = nullptr;
    uint16_t zone_index = 0;  // of `zone` in Snapshot::zones(): where its counters are
    explicit operator bool() const { return node != nullptr; }
};

// One more for a counter only its own thread writes: a relaxed load and store, which compile
// to plain moves on x86 (no locked instruction), and stay well-defined for concurrent readers.
inline void count_one(std::atomic<uint64_t>& c) {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// Outcome of looking a query name up.
struct Lookup {
    enum Kind : uint8_t {
        refused,   // under no zone of ours
        exact,     // the name exists (possibly as an empty non-terminal)
        nxdomain,  // inside a zone, no such name; `found` is the closest encloser
        wildcard,  // no such name, but `*.<closest encloser>` is: `found` is that wildcard
                   // node, whose data answers with the query name as owner (RFC 4592)
    } kind = refused;
    NodeRef found;
};

class Snapshot {
  public:
    // Zones with the same apex must not be passed twice. With nested zones the deepest apex
    // wins for every name below it, as "longest match" demands.
    // `health`: the member states workers read (null: every member is up). It is the same
    // table in every snapshot, written in place by the probe thread, so a state change
    // reaches answers without a publish.
    // `counter_rows`: one row of response counters per worker (0: none are counted).
    explicit Snapshot(std::vector<zone::ZonePtr> zones, uint64_t generation = 0,
                      std::shared_ptr<const health::HealthTable> health = nullptr,
                      unsigned counter_rows = 0);

    Lookup find(std::span<const uint8_t> qname) const;
    NodeRef find_exact(std::span<const uint8_t> name) const;

    const std::vector<zone::ZonePtr>& zones() const { return zones_; }
    uint64_t generation() const { return generation_; }
    const health::HealthTable* health() const { return health_.get(); }

    // Responses per pool and per member: each worker counts in its own row (count_one, no
    // shared write, no allocation); the control thread sums the rows for /metrics and carries
    // the totals of a retired snapshot forward. A pool's counters are
    // [kPoolResponses, kPoolFallbacks, kPoolMembers + i for Pool::members[i]].
    static constexpr size_t kPoolResponses = 0;  // queries for the pool's name and type
    static constexpr size_t kPoolFallbacks = 1;  // of those, answered by its fallback
    static constexpr size_t kPoolMembers = 2;    // times member i was in an answer
    std::atomic<uint64_t>* pool_counters(unsigned row, uint16_t zone_index, size_t pool) const {
        if (row >= rows_.size()) return nullptr;
        return rows_[row].get() + kRowPad + pool_base_[zone_pool_start_[zone_index] + pool];
    }
    // The sum over every row of one counter of a pool.
    uint64_t pool_counter_total(uint16_t zone_index, size_t pool, size_t counter) const;
    unsigned counter_rows() const { return static_cast<unsigned>(rows_.size()); }

  private:
    struct Slot {
        uint32_t hash = 0;  // upper bits of the name hash; 0 marks an empty slot
        uint16_t zone = 0;
        uint32_t node = 0;
    };
    const Slot* probe(const uint8_t* name, size_t len) const;
    // `*.<encloser>` when it exists and may synthesize answers; null otherwise.
    NodeRef wildcard_below(const NodeRef& encloser) const;
    void insert(uint16_t zone_index, uint32_t node_index);

    std::vector<zone::ZonePtr> zones_;
    std::vector<Slot> slots_;  // open addressing, linear probing, load factor <= 0.5
    uint64_t mask_ = 0;
    uint64_t generation_ = 0;
    std::shared_ptr<const health::HealthTable> health_;
    // A cache line of padding before and after each row: rows of different workers never
    // share one.
    static constexpr size_t kRowPad = 8;
    std::vector<uint32_t> zone_pool_start_;  // per zone: its first entry in pool_base_
    std::vector<uint32_t> pool_base_;        // per pool: its first counter in a row
    std::vector<std::unique_ptr<std::atomic<uint64_t>[]>> rows_;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace steerdns
