// Flap damping for backends, after RFC 2439's route-flap damping: each state change of a
// member's rise/fall filter adds a penalty of 1 that halves every `half_life`; a member whose
// penalty exceeds `suppress` is held down ("suppressed") until the penalty decays below
// `reuse` while the filter says up, and never longer than `max_suppress`. Pure logic driven
// by explicit timestamps (milliseconds on any monotonic clock), so a fake clock tests it.
#pragma once

#include <cstdint>
#include <string>

#include "steerdns/health/health_table.h"

namespace steerdns::health {

// The "damping" object of a check or a member, defaults filled in.
struct DampingDef {
    uint32_t half_life_ms = 60000;
    double suppress = 3;
    double reuse = 1;
    uint32_t max_suppress_ms = 900000;
};

// "2m10s", "15s", "1h2m", "1.2s" (tenths below 10 s): a span for reasons and logs.
std::string span_text(int64_t ms);

class Damper {
  public:
    explicit Damper(DampingDef def);

    // A state change of the rise/fall filter (up -> down or down -> up) at `now_ms`; the first
    // result of a probe (unknown -> anything) is not a change. True when it suppressed.
    bool change(int64_t now_ms);
    // Called with every result and the filter's state: ends a suppression whose penalty
    // decayed below reuse while up, or that lasted max_suppress. True when it released.
    bool release(int64_t now_ms, State filtered);

    bool suppressed() const { return suppressed_; }
    // The state answers use: down while suppressed, else the filter's.
    State effective(State filtered) const { return suppressed_ ? State::down : filtered; }
    double penalty(int64_t now_ms) const;
    // While suppressed: "flapping: 4 changes in 15s": the changes since the penalty was last
    // near zero, and the span from the first of them to the one that suppressed.
    const std::string& reason() const { return reason_; }
    // While suppressed: when the penalty falls below reuse if no change comes meanwhile, or
    // when max_suppress ends it, whichever is first (release() still needs the member up).
    int64_t until_ms() const;
    // Why the last release() released: "penalty below reuse" or "max_suppress".
    const char* released_by() const { return released_by_; }
    const DampingDef& def() const { return def_; }

  private:
    DampingDef def_;
    double penalty_ = 0;    // as of last_ms_
    int64_t last_ms_ = 0;   // when penalty_ was last updated
    uint32_t changes_ = 0;  // in the current episode
    int64_t episode_ms_ = 0;
    bool suppressed_ = false;
    int64_t suppressed_ms_ = 0;
    std::string reason_;
    const char* released_by_ = "";
};

}  // namespace steerdns::health
