// A check definition: how one backend is probed, as the zone file's "checks" object says,
// with every default filled in. Plain data; the zone loader validates it, the probe registry
// keys probe slots by (probe address, definition), and the monitor runs it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "steerdns/health/damping.h"
#include "steerdns/health/failback.h"

namespace steerdns::health {

enum class CheckType : uint8_t { none, tcp, http, https, exec };

const char* check_type_name(CheckType t);
bool parse_check_type(std::string_view text, CheckType& out);

// Defaults, documented in the README ("Health checks"). The interval is long enough for the
// contract's exec example (timeout 3 s and no interval) to validate; the timeout is
// min(2 s, interval / 2) so that an interval alone always gives a valid pair.
inline constexpr uint32_t kDefaultIntervalMs = 5000;
inline constexpr uint32_t kDefaultTimeoutCapMs = 2000;
inline constexpr uint32_t kDefaultRise = 2;
inline constexpr uint32_t kDefaultFall = 3;

inline uint32_t default_timeout_ms(uint32_t interval_ms) {
    return interval_ms / 2 < kDefaultTimeoutCapMs ? interval_ms / 2 : kDefaultTimeoutCapMs;
}

struct CheckDef {
    CheckType type = CheckType::none;
    uint16_t port = 0;                    // tcp: required; http 80, https 443; exec: 0 = none
    std::vector<std::string> paths;       // http(s): GET each, all must pass; default {"/"}
    std::string host;                     // http(s): Host header and TLS SNI; "" = the address
    std::vector<uint16_t> expect_status;  // http(s): empty = any of 200-399
    bool has_expect_body = false;
    std::string expect_body;           // http(s): the body must contain it
    bool verify = true;                // https: check the certificate chain and name
    bool keepalive = true;             // http(s): keep the connection open between probes
    std::vector<std::string> command;  // exec: argv, "{address}" and "{port}" substituted
    uint32_t interval_ms = kDefaultIntervalMs;
    uint32_t timeout_ms = default_timeout_ms(kDefaultIntervalMs);
    uint32_t rise = kDefaultRise;
    uint32_t fall = kDefaultFall;
    // "damping": absent = off. A member's own "damping" replaces its check's.
    std::optional<DampingDef> damping;
    // The member's pool's "failback": absent = immediate. Set by compile, not by the check.
    std::optional<FailbackDef> failback;

    bool status_ok(long status) const;
    // Canonical text of everything that changes how a probe runs: two definitions with the
    // same key are one probe, whatever their names or the zones that hold them.
    std::string key() const;
};

// Seconds for messages: "1", "0.5", "2.25".
std::string seconds_text(uint32_t ms);

}  // namespace steerdns::health
