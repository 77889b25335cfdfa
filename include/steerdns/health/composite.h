// A composite check: a member's or pool's "check" given as a list of check names with
// "require": up when at least `require` of its parts are up. Each part is an ordinary probe
// slot; the composite is a derived slot the monitor recomputes when a part changes, so the
// query path still reads one byte per member. Pure logic, so it is tested without a loop.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "steerdns/health/health_table.h"

namespace steerdns::health {

// "require": "all" is stored as the number of parts, "any" as 1.
struct CompositeCounts {
    uint32_t up = 0;
    uint32_t down = 0;
};

// Counts up (standby included) and down parts. A state that is neither up nor down (unknown, and
// pending once it exists) says nothing: it is neither counted up nor down.
CompositeCounts composite_counts(std::span<const State> parts);

// up when at least `require` parts are up; down when fewer than `require` parts can still be
// up (down parts exceed parts - require); unknown otherwise (which the query path counts as
// up, as for a single check with no result yet). `require` is 1..parts.size() (validated by
// the zone compiler); 0 parts is unknown.
State composite_state(std::span<const State> parts, uint32_t require);

// What the member's derived slot holds: composite_state, except that a composite with no
// verdict yet while some part is pending (a reload added it) is pending too, so a member a
// reload adds is not answered first before it is tested, as with a single check.
State derived_state(std::span<const State> parts, uint32_t require);

// The reason a composite's change logs: "web up, api down (require all)". `names` and
// `parts` have the same length.
std::string composite_reason(std::span<const std::string> names, std::span<const State> parts,
                             uint32_t require);

// "all", "any" or the number, as the zone file says it.
std::string require_text(uint32_t require, size_t parts);

}  // namespace steerdns::health
