// The query string of GET /status: which zones, pools and members to list, and since which
// revision (the status page's incremental polling, README "Control endpoint").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace steerdns::control {

struct StatusQuery {
    std::string zone;   // canonical apex (lowercase, trailing dot); "" = every zone
    std::string pool;   // canonical (lowercase) pool name; "" = every pool
    std::string state;  // "up", "down" or "drained"; "" = every member
    // Only what changed after this revision (0: everything, compact, with the answer series).
    std::optional<uint64_t> since;

    bool filtered() const { return !zone.empty() || !pool.empty() || !state.empty(); }
};

// One query-string part: "+" is a space, %XX a byte. False with `error` on a bad escape.
bool percent_decode(std::string_view in, std::string& out, std::string& error);

// Parses `query` (the part after "?", percent-encoded, "+" for a space). False with `error`
// set for an unknown or repeated parameter or a bad value, saying what is accepted.
bool parse_status_query(std::string_view query, StatusQuery& out, std::string& error);

}  // namespace steerdns::control
