#include "steerdns/health/failback.h"

#include <utility>

#include "steerdns/health/damping.h"

namespace steerdns::health {

std::string failback_text(const FailbackDef& def) {
    switch (def.mode) {
        case FailbackMode::delay:
            return "delay " + span_text(def.delay_ms);
        case FailbackMode::manual:
            return "manual";
        case FailbackMode::immediate:
            break;
    }
    return "immediate";
}

bool FailbackHold::change(State before, State after, int64_t now_ms) {
    if (def_.mode == FailbackMode::immediate) return false;
    const bool returning = before == State::down && after == State::up && was_up_;
    if (before == State::up || after == State::up) was_up_ = true;
    if (after != State::up) {
        held_ = false;  // down again: the delay counts from the next up
        return false;
    }
    if (!returning) return false;  // up at start, a first result, never served: not held
    held_ = true;
    since_ms_ = now_ms;
    return true;
}

bool FailbackHold::expire(int64_t now_ms) {
    if (!held_ || def_.mode != FailbackMode::delay || now_ms < until_ms()) return false;
    held_ = false;
    return true;
}

bool FailbackHold::release() {
    return std::exchange(held_, false);
}

bool FailbackHold::resume(int64_t now_ms) {
    if (def_.mode == FailbackMode::immediate) return false;
    held_ = was_up_ = true;
    since_ms_ = now_ms;
    return true;
}

std::string FailbackHold::reason() const {
    if (def_.mode == FailbackMode::manual) return "awaiting failback (manual)";
    return "awaiting failback for " + span_text(def_.delay_ms);
}

}  // namespace steerdns::health
