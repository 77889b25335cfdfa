#include "steerdns/zone/drain_set.h"

#include <arpa/inet.h>

#include <cctype>
#include <utility>

#include "steerdns/util/sockaddr.h"

namespace steerdns::zone {
namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

std::string canonical_address(std::string_view text) {
    const std::string s(text);
    unsigned char bytes[16];
    if (inet_pton(AF_INET, s.c_str(), bytes) == 1) return util::address_text(4, bytes);
    if (inet_pton(AF_INET6, s.c_str(), bytes) == 1) return util::address_text(6, bytes);
    return "";
}

std::string canonical_zone(std::string_view text) {
    std::string z = lower(text);
    if (z.empty() || z.back() != '.') z += '.';
    return z;
}

std::string canonical_pool(std::string_view text) {
    return lower(text);
}

bool make_drain_key(std::string_view zone, std::string_view pool, std::string_view address,
                    DrainKey& out, std::string& error) {
    if (zone.empty() || zone == ".") {
        error = "\"zone\" is empty";
        return false;
    }
    if (pool.empty()) {
        error = "\"pool\" is empty";
        return false;
    }
    DrainKey k;
    k.zone = canonical_zone(zone);
    k.pool = canonical_pool(pool);
    k.address = canonical_address(address);
    if (k.address.empty()) {
        // Appended piece by piece: `"\"" + std::string(...)` trips a false -Wrestrict in
        // g++ 12 at -O3 once inlined here.
        error.assign(1, '"').append(address).append("\" is not an IPv4 or IPv6 address");
        return false;
    }
    out = std::move(k);
    return true;
}

bool DrainSet::add(const DrainKey& key, int64_t since_unix_ms) {
    return drained_.emplace(key, since_unix_ms).second;
}

bool DrainSet::remove(const DrainKey& key) {
    return drained_.erase(key) != 0;
}

std::optional<int64_t> DrainSet::since(const DrainKey& key) const {
    const auto it = drained_.find(key);
    if (it == drained_.end()) return std::nullopt;
    return it->second;
}

}  // namespace steerdns::zone
