// Timestamps as the control API writes them: RFC 3339 in UTC, "2026-11-25T10:04:05Z".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace steerdns::util {

// Milliseconds since the Unix epoch, now.
int64_t unix_ms_now();

// Whole seconds: "2026-11-25T10:04:05Z".
std::string rfc3339(int64_t unix_ms);

// Parses what rfc3339() writes (fractions and other offsets are refused); nullopt otherwise.
std::optional<int64_t> parse_rfc3339(std::string_view text);

}  // namespace steerdns::util
