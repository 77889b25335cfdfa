// Net rules of a geo configuration ("net": "198.51.100.0/24" -> "region": "eu"), flattened at
// load into disjoint sorted address ranges per family, the most specific net winning where
// nets nest, so a query is one binary search whatever the number of rules.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "steerdns/lb/candidates.h"

namespace steerdns::lb {

struct Cidr {
    uint8_t family = 4;  // 4 or 6
    uint8_t prefix = 0;
    uint8_t address[16] = {};  // network order, host bits zero

    bool operator==(const Cidr&) const = default;
};

// Parses "198.51.100.0/24" or "2001:db8:100::/48" (the prefix length is required); false with
// `error` set otherwise. Host bits set ("198.51.100.1/24") are an error naming the network
// that was probably meant: silently masking would hide a wrong prefix length.
bool parse_cidr(std::string_view text, Cidr& out, std::string& error);

// "198.51.100.0/24", "2001:db8:100::/48".
std::string to_string(const Cidr& net);

struct NetRule {
    Cidr net;
    uint16_t region = kNoRegion;
};

// What the net rules say about an address.
struct NetMatch {
    uint16_t region = kNoRegion;  // kNoRegion: no rule covers the address
    // A hit: the matched net's prefix length, or longer when a more specific net sits inside
    // it: the shortest prefix around the address that no other rule cuts into, so a resolver
    // caching the answer for that scope never hands it to a client of the inner net.
    // A miss: the shortest prefix around the address that touches no rule, a floor for the
    // scope of whatever answers instead (database or default).
    uint8_t scope = 0;
};

struct NetRuleError {
    size_t rule = 0;   // index into the rules given to build()
    size_t other = 0;  // the earlier rule it clashes with
    std::string message;
};

class GeoMap {
  public:
    struct Built;

    // Identical nets (same family, address and prefix) are an error, whatever their regions:
    // one of them could never match. Nested nets are fine; the more specific wins.
    static Built build(std::span<const NetRule> rules);

    // `address`: 4 or 16 bytes as `family` says.
    NetMatch lookup(uint8_t family, const uint8_t* address) const;

    bool empty() const { return v4_.empty() && v6_.empty(); }
    size_t range_count(uint8_t family) const { return family == 6 ? v6_.size() : v4_.size(); }

  private:
    template <class Key>
    struct Range {
        Key first;
        Key last;
        uint16_t region;
        uint8_t prefix;  // of the net this range comes from
    };
    using U128 = unsigned __int128;

    template <class Key>
    static std::vector<Range<Key>> flatten(std::vector<Range<Key>> nets);
    template <class Key>
    static NetMatch find(const std::vector<Range<Key>>& ranges, Key address);

    std::vector<Range<uint32_t>> v4_;
    std::vector<Range<U128>> v6_;
};

struct GeoMap::Built {
    GeoMap map;
    std::vector<NetRuleError> errors;  // empty on success
};

}  // namespace steerdns::lb
