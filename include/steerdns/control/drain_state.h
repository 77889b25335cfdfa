// Members an operator drained through the control API (POST /drain), and the small state file
// that keeps them across reloads and restarts: `<zones>/.steerdns-state.json` (hidden, so the
// zone scanner skips it), written atomically (temporary file, fsync, rename, fsync of the
// directory). A drained member is compiled as if its zone file said "enabled": false, so it
// leaves every answer, fallback answers included, and keeps being probed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace steerdns::control {

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

// Normalises what an operator sent; nullopt with `error` set when a part is empty or the
// address is not one.
std::optional<DrainKey> make_drain_key(std::string_view zone, std::string_view pool,
                                       std::string_view address, std::string& error);

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

// The state file beside the zones: `zones` is the --zones directory, or a zone file.
std::string state_file_path(const std::string& zones);

// {"version": 1, "drained": [{"zone": ..., "pool": ..., "address": ..., "since": RFC 3339}]}
std::string drain_state_json(const DrainSet& set);
// False with `error` ("LINE:COL: message" or what is wrong) when the text is not such a file.
bool parse_drain_state(std::string_view text, DrainSet& out, std::string& error);

// A missing file is an empty set; an unreadable or invalid one is an error naming the file.
bool load_drain_state(const std::string& path, DrainSet& out, std::string& error);
// Writes `path` atomically: readers (and a crash) see the old file or the new one, never half.
bool save_drain_state(const std::string& path, const DrainSet& set, std::string& error);

}  // namespace steerdns::control
