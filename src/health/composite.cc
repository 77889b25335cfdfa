#include "steerdns/health/composite.h"

namespace steerdns::health {

CompositeCounts composite_counts(std::span<const State> parts) {
    CompositeCounts c;
    for (State s : parts) {
        // A part never carries failback itself (compile gives it only to single checks), but
        // standby is up by definition: counted so, should that change.
        if (s == State::up || s == State::standby) {
            ++c.up;
        } else if (s == State::down) {
            ++c.down;
        }
    }
    return c;
}

State composite_state(std::span<const State> parts, uint32_t require) {
    if (parts.empty() || require == 0) {
        return State::unknown;
    }
    const CompositeCounts c = composite_counts(parts);
    if (c.up >= require) {
        return State::up;
    }
    // The parts not down could all still come up: down once even that is not enough.
    if (c.down > parts.size() - require) {
        return State::down;
    }
    return State::unknown;
}

State derived_state(std::span<const State> parts, uint32_t require) {
    const State s = composite_state(parts, require);
    if (s != State::unknown) return s;
    for (State p : parts)
        if (p == State::pending) return State::pending;
    return s;
}

std::string require_text(uint32_t require, size_t parts) {
    if (require == parts) {
        return "all";
    }
    if (require == 1) {
        return "any";
    }
    return std::to_string(require);
}

std::string composite_reason(std::span<const std::string> names, std::span<const State> parts,
                             uint32_t require) {
    std::string out;
    for (size_t i = 0; i < names.size() && i < parts.size(); ++i) {
        if (i > 0) {
            out.append(", ");
        }
        out.append(names[i]);
        out.append(" ");
        out.append(state_name(parts[i]));
    }
    out.append(" (require ");
    out.append(require_text(require, parts.size()));
    out.append(")");
    return out;
}

}  // namespace steerdns::health
