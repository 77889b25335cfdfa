// A problem found in a zone file, located precisely enough for an operator to fix it
// without reading our source: FILE:LINE:COL: json.path: message.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace steerdns::zone {

// Where a JSON value starts. line/col are 1-based (col counts bytes, like gcc and jq);
// 0 means "unknown" (e.g. a file that could not be read at all).
struct SourcePos {
    uint32_t line = 0;
    uint32_t col = 0;
    std::string path;  // json.path of the value, e.g. pools.www.members[2].address
};

// A string the operator wrote, with where it was written.
struct Located {
    std::string text;
    SourcePos pos;
};

// An error rejects the zone (and makes `steerdns check` exit 1); a warning is printed and
// logged but the zone is served: it is valid, only probably not what the operator meant.
// A budget is a promise the file makes that its own settings break (a "failover_budget"
// below the worst case): `check` fails on it so CI catches it, but the zone is valid, so the
// server logs it as a warning and serves the zone.
enum class Severity : uint8_t { error, warning, budget };

struct Diagnostic {
    std::string file;
    SourcePos pos;
    std::string message;
    Severity severity = Severity::error;

    // "file:line:col: path: message", or "...: path: warning: message" (parts that are
    // unknown are left out).
    std::string to_string() const;
    bool is_error() const { return severity == Severity::error; }
    // What makes `steerdns check` exit 1: errors and broken budgets.
    bool fails_check() const { return severity != Severity::warning; }
};

using Diagnostics = std::vector<Diagnostic>;

// How many of `diags` are errors (warnings do not reject a zone).
size_t error_count(const Diagnostics& diags);
inline bool has_errors(const Diagnostics& diags) {
    return error_count(diags) != 0;
}
// How many of `diags` make `steerdns check` fail (errors and broken budgets).
size_t check_problem_count(const Diagnostics& diags);

// The closest of `candidates` to `word` within a typo's reach (case ignored), or "": the
// "did you mean" of messages about names.
std::string_view closest(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace steerdns::zone
