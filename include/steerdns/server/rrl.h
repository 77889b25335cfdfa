// Response rate limiting for UDP, in the manner of NSD, Knot and BIND: a client prefix that
// draws more than `responses_per_second` responses of one class in one second is answered
// no further in that second; every `slip`-th limited response goes out as an empty TC=1
// answer so that a real client retries over TCP, where its source address is proven, and
// the rest are dropped. A spoofed flood aimed at a victim gets at most the rate back.
//
// One table is shared by every worker. With SO_REUSEPORT the kernel picks a worker by
// hashing the whole 4-tuple, so a flood spoofing one victim from random source ports spreads
// over all workers; per-worker tables would let through `threads` times the configured
// rate. Each entry is one 64-bit word updated with a relaxed compare-and-swap: no lock, no
// allocation, no syscall; the time is the worker loop's cached clock.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "steerdns/dns/wire.h"
#include "steerdns/lb/policy.h"

namespace steerdns::server {

struct RrlConfig {
    uint32_t responses_per_second = 0;  // 0: rate limiting off
    uint32_t slip = 2;                  // every Nth limited response as TC=1; 0 drops all
    uint8_t ipv4_prefix = 24;
    uint8_t ipv6_prefix = 56;
    uint32_t table_size = 1u << 18;  // entries, rounded up to a power of two
};

// Responses are counted per (prefix, class), as BIND does: a flood of made-up names
// (NXDOMAIN) spoofed with a resolver's address does not use up that resolver's answers.
enum class RrlClass : uint8_t { answer, nxdomain, error };

RrlClass rrl_class(dns::Rcode rcode);

enum class RrlVerdict : uint8_t { send, drop, slip };

class RateLimiter {
  public:
    static constexpr uint32_t kMaxRate = (1u << 20) - 2;
    static constexpr uint32_t kMaxSlip = 255;

    // `seed` keys the hash so that nobody can aim collisions at one entry.
    RateLimiter(const RrlConfig& config, uint64_t seed);

    bool enabled() const { return config_.responses_per_second > 0; }
    const RrlConfig& config() const { return config_; }
    size_t entries() const { return (mask_ + 1) * 2; }

    // The fate of one response to `client`. Thread-safe and lock-free. `now_ms` is a
    // monotonic clock in milliseconds (uv_now of the caller's loop).
    RrlVerdict check(const lb::Client& client, RrlClass cls, uint64_t now_ms);

  private:
    RrlConfig config_;
    uint64_t seed_;
    size_t mask_ = 0;  // sets - 1; a set is two adjacent entries
    std::unique_ptr<std::atomic<uint64_t>[]> table_;
};

// Turns the response in msg[0, len) into the empty TC=1 answer a slip sends: header and
// question kept, no records, no OPT. Returns the new length.
size_t slip_response(std::span<uint8_t> msg, size_t len);

}  // namespace steerdns::server
