#include "steerdns/health/saved_probe.h"

namespace steerdns::health {

bool parse_state_name(std::string_view name, State& out) {
    // Every value state_name() knows, so a state added to health_table.h is read back without
    // a second list here; values it does not know all print as "unknown".
    for (unsigned v = 0; v <= UINT8_MAX; ++v) {
        const auto s = static_cast<State>(v);
        if (name != state_name(s)) continue;
        if (s == State::unknown && v != static_cast<unsigned>(State::unknown)) continue;
        out = s;
        return true;
    }
    return false;
}

}  // namespace steerdns::health
