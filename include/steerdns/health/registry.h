// Probe slots: one per distinct (probe address, check definition), however many members,
// pools and zones share it. Compile asks for a member's slot; the answer is stable across
// reloads (same key, same slot, same state, same probe schedule), so a reload neither resets
// health nor causes a burst of probes. Thread-safe: compile may run on any thread (the
// libuv threadpool), the monitor reads the active set and recycles slots on its own thread.
//
// Slot life: acquired by a compiled zone's ProbeLease -> released when the zone is freed
// (refcount 0, "retiring": the key still maps to it, so a reload that brings the key back
// gets the same slot) -> recycled only once the monitor says it stopped probing it, so a
// late result of the old probe can never land in the slot of a new key.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "steerdns/health/check.h"
#include "steerdns/health/health_table.h"

namespace steerdns::health {

// Where to probe and how.
struct ProbeTarget {
    uint8_t family = 4;  // 4 or 6
    uint8_t address[16] = {};
    std::string address_text;  // the probe address (probe_address, else the member's)
    CheckDef check;
};

// Who uses a probe, for the log line of a state change.
struct ProbeLabel {
    std::string zone;
    std::string pool;
    std::string address;  // the answered address
    std::string check;    // the check's name in that zone ("web+api" for a composite)
    bool part = false;    // probes one part of a composite check, not the member itself
};

// What the monitor runs for one slot.
struct ProbeSpec {
    uint32_t slot = kNoProbe;
    std::string key;  // identity: a slot whose key changed is a different probe
    std::shared_ptr<const ProbeTarget> target;
    ProbeLabel label;  // the first of its users (one that is not only a part, if any)
    uint32_t users = 0;
    // A composite check's derived slot: no probe of its own, its state is recomputed from
    // these slots (health::composite_state). `target` then only names the member's address.
    std::vector<uint32_t> parts;
    std::vector<std::string> part_names;
    uint32_t require = 0;
};

namespace detail {
struct RegistryState;
}

// The slots one compiled zone holds; destroying it releases them. Owned by the Zone.
class ProbeLease {
  public:
    ~ProbeLease();
    ProbeLease(const ProbeLease&) = delete;
    ProbeLease& operator=(const ProbeLease&) = delete;

    // The slot probing `target`, shared with every other user of the same key; kNoProbe
    // when the table is full.
    uint32_t acquire(const ProbeTarget& target, ProbeLabel label);
    // The derived slot of a composite check over `parts` (slots this lease acquired), shared
    // like any other; it starts in the state its parts give. kNoProbe when the table is full.
    uint32_t acquire_composite(const ProbeTarget& member, std::vector<uint32_t> parts,
                               std::vector<std::string> names, uint32_t require, ProbeLabel label);
    size_t size() const { return slots_.size(); }

  private:
    friend class ProbeRegistry;
    struct Composite {
        std::vector<uint32_t> parts;
        std::vector<std::string> names;
        uint32_t require = 0;
    };
    uint32_t take(std::string key, const ProbeTarget& target, ProbeLabel label,
                  Composite composite);
    ProbeLease(std::shared_ptr<detail::RegistryState> state, uint64_t id)
        : state_(std::move(state)), id_(id) {}

    // Shared ownership: a zone may outlive the registry object that leased it (a test, or
    // a snapshot freed late at shutdown) without touching freed memory.
    std::shared_ptr<detail::RegistryState> state_;
    uint64_t id_;
    std::vector<uint32_t> slots_;
};

class ProbeRegistry {
  public:
    // One byte per slot; a quarter million distinct probes is far beyond what one host
    // can probe, and 256 KiB is nothing.
    static constexpr size_t kDefaultCapacity = 1u << 18;

    explicit ProbeRegistry(size_t capacity = kDefaultCapacity);
    ~ProbeRegistry();
    ProbeRegistry(const ProbeRegistry&) = delete;
    ProbeRegistry& operator=(const ProbeRegistry&) = delete;

    std::unique_ptr<ProbeLease> lease();
    // After the first load: a key acquired from now on (a member a reload adds, a changed
    // check) starts pending, not unknown, until its first result.
    void set_loaded();

    // Read side for snapshots; the table never moves, whatever the registry does.
    std::shared_ptr<const HealthTable> table() const;
    // Write side: the monitor's thread only (and tests).
    HealthTable& states();

    // Every slot some zone uses, by slot number.
    std::vector<ProbeSpec> active() const;
    // Changes whenever the active set does; a cheap "anything to hand over?".
    uint64_t version() const;
    // The monitor stopped probing these: free them unless a zone took them back meanwhile.
    void recycle(std::span<const uint32_t> slots);
    size_t capacity() const;

  private:
    std::shared_ptr<detail::RegistryState> state_;
};

}  // namespace steerdns::health
