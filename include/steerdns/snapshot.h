// The world as workers see it: every zone, and one hash index from any name in any zone to
// its node. Immutable after build; published by pointer (server/snapshot_slot.h) and freed
// on the control thread once no worker holds it.
#pragma once

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
    explicit operator bool() const { return node != nullptr; }
};

// Outcome of looking a query name up.
struct Lookup {
    enum Kind : uint8_t {
        refused,   // under no zone of ours
        exact,     // the name exists (possibly as an empty non-terminal)
        nxdomain,  // inside a zone, no such name; `found` is the closest encloser
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
    explicit Snapshot(std::vector<zone::ZonePtr> zones, uint64_t generation = 0,
                      std::shared_ptr<const health::HealthTable> health = nullptr);

    Lookup find(std::span<const uint8_t> qname) const;
    NodeRef find_exact(std::span<const uint8_t> name) const;

    const std::vector<zone::ZonePtr>& zones() const { return zones_; }
    uint64_t generation() const { return generation_; }
    const health::HealthTable* health() const { return health_.get(); }

  private:
    struct Slot {
        uint32_t hash = 0;  // upper bits of the name hash; 0 marks an empty slot
        uint16_t zone = 0;
        uint32_t node = 0;
    };
    const Slot* probe(const uint8_t* name, size_t len) const;
    void insert(uint16_t zone_index, uint32_t node_index);

    std::vector<zone::ZonePtr> zones_;
    std::vector<Slot> slots_;  // open addressing, linear probing, load factor <= 0.5
    uint64_t mask_ = 0;
    uint64_t generation_ = 0;
    std::shared_ptr<const health::HealthTable> health_;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace steerdns
