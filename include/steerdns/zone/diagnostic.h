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

struct Diagnostic {
    std::string file;
    SourcePos pos;
    std::string message;

    // "file:line:col: path: message" (parts that are unknown are left out).
    std::string to_string() const;
};

using Diagnostics = std::vector<Diagnostic>;

// The closest of `candidates` to `word` within a typo's reach (case ignored), or "": the
// "did you mean" of messages about names.
std::string_view closest(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace steerdns::zone
