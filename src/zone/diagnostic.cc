#include "steerdns/zone/diagnostic.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace steerdns::zone {
namespace {

char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Damerau-Levenshtein in its "optimal string alignment" form, which is all a typo needs.
// Case is ignored so that "TTL" still finds "ttl".
size_t edit_distance(std::string_view a, std::string_view b) {
    const auto same = [](char x, char y) { return ascii_lower(x) == ascii_lower(y); };
    std::vector<size_t> before(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t cost = same(a[i - 1], b[j - 1]) ? 0 : 1;
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
            if (i > 1 && j > 1 && same(a[i - 1], b[j - 2]) && same(a[i - 2], b[j - 1])) {
                cur[j] = std::min(cur[j], before[j - 2] + 1);
            }
        }
        std::swap(before, prev);
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

}  // namespace

std::string_view closest(std::string_view word, std::span<const std::string_view> candidates) {
    std::string_view best;
    size_t best_distance = std::numeric_limits<size_t>::max();
    for (std::string_view candidate : candidates) {
        // One edit is already a third of a three-letter key.
        const size_t limit = candidate.size() <= 3 ? 1 : 2;
        // The length difference is a lower bound of the distance: skip the DP for long words.
        const size_t length_gap = word.size() > candidate.size() ? word.size() - candidate.size()
                                                                 : candidate.size() - word.size();
        if (length_gap > limit) continue;
        const size_t d = edit_distance(word, candidate);
        if (d <= limit && d < best_distance) {
            best = candidate;
            best_distance = d;
        }
    }
    return best;
}

std::string Diagnostic::to_string() const {
    std::string out;
    if (!file.empty()) out += file + ":";
    if (pos.line != 0) out += std::to_string(pos.line) + ":" + std::to_string(pos.col) + ":";
    if (!out.empty()) out += ' ';
    if (!pos.path.empty()) out += pos.path + ": ";
    if (severity == Severity::warning) out += "warning: ";
    out += message;
    return out;
}

size_t error_count(const Diagnostics& diags) {
    return static_cast<size_t>(std::count_if(diags.begin(), diags.end(),
                                             [](const Diagnostic& d) { return d.is_error(); }));
}

size_t check_problem_count(const Diagnostics& diags) {
    return static_cast<size_t>(std::count_if(diags.begin(), diags.end(),
                                             [](const Diagnostic& d) { return d.fails_check(); }));
}

}  // namespace steerdns::zone
