// Anti-flap: turns a stream of probe results into a member state. Pure logic, no clock, no
// I/O, so every sequence is unit-tested. Modelled on dnsdist's rise/fall
// (minRiseSuccesses / maxCheckFailures) and gdnsd's initial round:
//  - before any result the state is unknown, which answers count as up;
//  - the first result sets the state at once (a fresh start believes its first probe);
//  - after that `rise` consecutive successes bring a down member up, and `fall`
//    consecutive failures take an up member down. A result that agrees with the current
//    state resets the opposite streak.
#pragma once

#include <cstdint>

#include "steerdns/health/health_table.h"

namespace steerdns::health {

class FlapFilter {
  public:
    FlapFilter(uint32_t rise, uint32_t fall) : rise_(rise ? rise : 1), fall_(fall ? fall : 1) {}

    // Feeds one result; true when the state changed (including unknown -> up/down).
    bool feed(bool ok) {
        const State before = state_;
        if (state_ == State::unknown) {
            state_ = ok ? State::up : State::down;
        } else if (ok) {
            failures_ = 0;
            if (state_ == State::down && ++successes_ >= rise_) state_ = State::up;
        } else {
            successes_ = 0;
            if (state_ == State::up && ++failures_ >= fall_) state_ = State::down;
        }
        if (state_ != before) {
            successes_ = 0;
            failures_ = 0;
        }
        return state_ != before;
    }

    // Picks up where a previous run stopped (the state file): `state` up or down, `streak`
    // results against it so far. Below the threshold that would have flipped it, since a
    // filter that reached it would have said so.
    void restore(State state, uint32_t streak) {
        if (state != State::up && state != State::down) return;
        state_ = state;
        successes_ = 0;
        failures_ = 0;
        if (state == State::up) failures_ = streak < fall_ ? streak : fall_ - 1;
        if (state == State::down) successes_ = streak < rise_ ? streak : rise_ - 1;
    }

    State state() const { return state_; }
    // Consecutive results against the current state so far (for logs and tests).
    uint32_t streak() const { return state_ == State::up ? failures_ : successes_; }

  private:
    uint32_t rise_;
    uint32_t fall_;
    uint32_t successes_ = 0;
    uint32_t failures_ = 0;
    State state_ = State::unknown;
};

}  // namespace steerdns::health
