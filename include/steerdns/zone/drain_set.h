// Members an operator drained through the control API (POST /drain): compiled as if the zone
// file said "enabled": false, so a drained member leaves every answer, fallback answers
// included, and keeps being probed. The control endpoint keeps the set in the state file.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace steerdns::zone {

// Normalised: zone lowercase with its trailing dot, pool lowercase, address in canonical text
// form (inet_ntop), so "LB.example.test" and "lb.example.test." or "2001:DB8::0:10" and
// "2001:db8::10" are the same member.
struct DrainKey {
    std::string zone;
    std::string pool;
    std::string address;
    auto operator<=>(const DrainKey&) const = default;
};

// "" when `text` is not an IPv4 or IPv6 address.
std::string canonical_address(std::string_view text);
std::string canonical_zone(std::string_view text);
std::string canonical_pool(std::string_view text);

// Normalises what an operator sent into `out`; false with `error` set when a part is empty or
// the address is not one.
bool make_drain_key(std::string_view zone, std::string_view pool, std::string_view address,
                    DrainKey& out, std::string& error);

class DrainSet {
  public:
    // True when the key was not drained yet.
    bool add(const DrainKey& key, int64_t since_unix_ms);
    // True when the key was drained.
    bool remove(const DrainKey& key);
    bool contains(const DrainKey& key) const { return drained_.count(key) != 0; }
    // When the member was drained (ms since the epoch); nullopt when it is not.
    std::optional<int64_t> since(const DrainKey& key) const;
    size_t size() const { return drained_.size(); }
    const std::map<DrainKey, int64_t>& entries() const { return drained_; }
    bool operator==(const DrainSet&) const = default;

  private:
    std::map<DrainKey, int64_t> drained_;
};

}  // namespace steerdns::zone
