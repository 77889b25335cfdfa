#include "steerdns/util/clock.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace steerdns::util {

int64_t unix_ms_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string rfc3339(int64_t unix_ms) {
    const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::optional<int64_t> parse_rfc3339(std::string_view text) {
    if (text.size() != 20) return std::nullopt;
    const std::string s(text);
    std::tm tm{};
    const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == nullptr || *end != '\0') return std::nullopt;
    return int64_t{timegm(&tm)} * 1000;
}

}  // namespace steerdns::util
