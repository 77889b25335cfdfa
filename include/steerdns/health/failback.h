// Failback (a pool's "failback" key): a member that comes back up after being down is held
// out of answers ("standby", shown as "up (awaiting failback)") until it has been up for a
// delay (keepalived's preempt_delay) or until an operator releases it (nopreempt), so a
// flapping primary does not pull traffic back and forth. Pure logic driven by explicit
// timestamps (milliseconds on any monotonic clock), so a fake clock tests it.
#pragma once

#include <cstdint>
#include <string>

#include "steerdns/health/health_table.h"

namespace steerdns::health {

enum class FailbackMode : uint8_t { immediate, delay, manual };

// The "failback" of a pool: "immediate" (the default, no hold), {"delay": S} or "manual".
struct FailbackDef {
    FailbackMode mode = FailbackMode::immediate;
    uint32_t delay_ms = 0;  // delay only
    // manual only: the pool ("zone pool") whose operator releases it. A manual hold belongs
    // to one pool member, so it is part of the probe key and a member of a manual pool has a
    // probe of its own; a delay is the same for every pool using it and shares the probe.
    std::string scope;
};

// "immediate", "manual", "delay 2s".
std::string failback_text(const FailbackDef& def);

class FailbackHold {
  public:
    explicit FailbackHold(FailbackDef def) : def_(std::move(def)) {}

    // A change of the member's state (after flap damping) from `before` to `after` at
    // `now_ms`. down -> up starts a hold, if it was up before it went down; up -> down ends
    // one (the delay restarts at the next up). A first result (unknown -> up), a pending
    // member's, or the first up of a member down since its first result (a backend not ready
    // when steerdns started: it never served) is no return: not held. True when it started
    // a hold.
    bool change(State before, State after, int64_t now_ms);
    // The delay is over at `now_ms`: ends the hold. True when it released.
    bool expire(int64_t now_ms);
    // An operator's release (POST /failback). True when it was held.
    bool release();
    // A hold the state file kept across a restart, resumed at `now_ms` (a delay starts over).
    // False for "immediate", which holds nothing.
    bool resume(int64_t now_ms);

    bool held() const { return held_; }
    // What answers use: standby while held and up, else the state it is given.
    State effective(State s) const { return held_ && s == State::up ? State::standby : s; }
    // While held with a delay: when it ends (on the clock change() was given); 0 for manual.
    int64_t until_ms() const {
        return held_ && def_.mode == FailbackMode::delay ? since_ms_ + def_.delay_ms : 0;
    }
    // "awaiting failback (manual)", "awaiting failback for 2s".
    std::string reason() const;
    const FailbackDef& def() const { return def_; }

  private:
    FailbackDef def_;
    bool held_ = false;
    bool was_up_ = false;  // seen up once: a later down -> up is a return
    int64_t since_ms_ = 0;
};

}  // namespace steerdns::health
