// Member health as workers read it: one byte per probe slot, written only by the health
// thread, read with relaxed loads on the query path (flips are rare, so the cache lines stay
// shared). Slots are keyed by (probe address, check) and survive reloads, so a reload neither
// resets a member's state nor restarts its probe schedule.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace steerdns::health {

// A member without any check has no slot and is always up.
inline constexpr uint32_t kNoProbe = UINT32_MAX;

enum class State : uint8_t {
    unknown = 0,  // no result yet: counts as up, so a start or a reload never empties answers
    up = 1,
    down = 2,
    // Added by a reload, no result yet: answered only when no unknown/up member of its family
    // is left (a reload never empties answers, and never answers an untested member first).
    pending = 3,
    // Up, but held out by the pool's "failback" (health/failback.h): answered like pending,
    // only when no unknown/up member of its family is left.
    standby = 4,
};

// "up", "down", "unknown", "pending", "standby": as /status, /events and the logs write a state.
inline const char* state_name(State s) {
    switch (s) {
        case State::up:
            return "up";
        case State::down:
            return "down";
        case State::pending:
            return "pending";
        case State::standby:
            return "standby";
        case State::unknown:
            break;
    }
    return "unknown";
}

class HealthTable {
  public:
    // Capacity is fixed so the array never moves under a reading worker; untouched pages cost
    // no memory.
    explicit HealthTable(size_t capacity)
        : states_(std::make_unique<std::atomic<uint8_t>[]>(capacity)), capacity_(capacity) {}

    bool up(uint32_t slot) const {
        return slot == kNoProbe ||
               states_[slot].load(std::memory_order_relaxed) != static_cast<uint8_t>(State::down);
    }
    // Answered first: unknown or up (the values 0 and 1), one compare and no branch.
    bool preferred(uint32_t slot) const {
        return slot == kNoProbe ||
               states_[slot].load(std::memory_order_relaxed) <= static_cast<uint8_t>(State::up);
    }
    State state(uint32_t slot) const {
        return slot == kNoProbe ? State::up
                                : static_cast<State>(states_[slot].load(std::memory_order_relaxed));
    }
    void set(uint32_t slot, State s) {
        states_[slot].store(static_cast<uint8_t>(s), std::memory_order_relaxed);
    }
    size_t capacity() const { return capacity_; }

  private:
    std::unique_ptr<std::atomic<uint8_t>[]> states_;
    size_t capacity_;
};

}  // namespace steerdns::health
