// Geo net rules: CIDR parsing, flattening of nested nets (longest prefix wins), the ECS scope of
// hits and misses, duplicates.
#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "steerdns/lb/geo_map.h"

using namespace steerdns;

namespace {

lb::Cidr cidr(const char* text) {
    lb::Cidr c;
    std::string error;
    const bool ok = lb::parse_cidr(text, c, error);
    INFO(text << ": " << error);
    REQUIRE(ok);
    return c;
}

struct Address {
    uint8_t family = 4;
    uint8_t bytes[16] = {};
};

Address address(const char* text) {
    Address a;
    if (inet_pton(AF_INET, text, a.bytes) != 1) {
        REQUIRE(inet_pton(AF_INET6, text, a.bytes) == 1);
        a.family = 6;
    }
    return a;
}

lb::NetMatch lookup(const lb::GeoMap& map, const char* text) {
    const Address a = address(text);
    return map.lookup(a.family, a.bytes);
}

enum : uint16_t { eu, us, ap, sa };

lb::GeoMap build(std::vector<lb::NetRule> rules) {
    auto built = lb::GeoMap::build(rules);
    REQUIRE(built.errors.empty());
    return std::move(built.map);
}

}  // namespace

TEST_CASE("geo cidr: parses v4 and v6 networks, rejects host bits, bad lengths, no length") {
    lb::Cidr c = cidr("198.51.100.0/24");
    CHECK(c.family == 4);
    CHECK(c.prefix == 24);
    CHECK(lb::to_string(c) == "198.51.100.0/24");
    c = cidr("2001:db8:100::/48");
    CHECK(c.family == 6);
    CHECK(lb::to_string(c) == "2001:db8:100::/48");
    CHECK(lb::to_string(cidr("0.0.0.0/0")) == "0.0.0.0/0");
    CHECK(lb::to_string(cidr("::/0")) == "::/0");
    CHECK(lb::to_string(cidr("192.0.2.7/32")) == "192.0.2.7/32");

    auto error = [](const char* text) {
        lb::Cidr out;
        std::string message;
        return lb::parse_cidr(text, out, message) ? std::string("(accepted)") : message;
    };
    CHECK(error("198.51.100.1/24") ==
          "\"198.51.100.1/24\" has host bits set (did you mean 198.51.100.0/24?)");
    CHECK(error("2001:db8:100::1/48") ==
          "\"2001:db8:100::1/48\" has host bits set (did you mean 2001:db8:100::/48?)");
    CHECK(error("198.51.100.0") ==
          "\"198.51.100.0\" is not a network: the prefix length is missing");
    CHECK(error("198.51.100.0/33") == "\"198.51.100.0/33\": prefix length must be 0-32");
    CHECK(error("2001:db8::/129") == "\"2001:db8::/129\": prefix length must be 0-128");
    CHECK(error("198.51.100.0/") == "\"198.51.100.0/\": prefix length must be 0-32");
    CHECK(error("198.51.100.0/+8") == "\"198.51.100.0/+8\": prefix length must be 0-32");
    CHECK(error("198.51.100.0/24x") == "\"198.51.100.0/24x\": prefix length must be 0-32");
    CHECK(error("198.51.300.0/24") ==
          "\"198.51.300.0/24\": \"198.51.300.0\" is not an IPv4 or IPv6 address");
}

TEST_CASE("geo map: nested IPv4 nets, the most specific wins whatever the rule order") {
    std::vector<lb::NetRule> rules = {{cidr("10.0.0.0/8"), eu},
                                      {cidr("10.1.0.0/16"), us},
                                      {cidr("10.1.2.0/24"), ap},
                                      {cidr("10.1.2.128/25"), eu},
                                      {cidr("192.0.2.0/24"), sa}};
    std::mt19937 shuffle(1);
    for (int round = 0; round < 5; ++round) {
        const lb::GeoMap map = build(rules);
        CHECK(map.range_count(4) == 7);  // /8 and /16 are cut in two each
        CHECK(lookup(map, "10.200.0.1").region == eu);
        CHECK(lookup(map, "10.1.200.1").region == us);
        CHECK(lookup(map, "10.1.2.3").region == ap);
        CHECK(lookup(map, "10.1.2.200").region == eu);
        CHECK(lookup(map, "10.0.0.0").region == eu);
        CHECK(lookup(map, "10.255.255.255").region == eu);
        CHECK(lookup(map, "10.1.1.255").region == us);
        CHECK(lookup(map, "10.1.3.0").region == us);
        CHECK(lookup(map, "192.0.2.1").region == sa);
        CHECK(lookup(map, "11.0.0.0").region == lb::kNoRegion);
        CHECK(lookup(map, "9.255.255.255").region == lb::kNoRegion);
        std::shuffle(rules.begin(), rules.end(), shuffle);
    }
}

TEST_CASE("geo map: the scope of a hit is the net's prefix unless a nested net cuts into it") {
    const lb::GeoMap map = build({{cidr("10.0.0.0/8"), eu},
                                  {cidr("10.1.0.0/16"), us},
                                  {cidr("10.1.2.0/24"), ap},
                                  {cidr("198.51.100.0/24"), eu}});
    CHECK(lookup(map, "198.51.100.9").scope == 24);  // a plain net: its own prefix
    CHECK(lookup(map, "10.1.2.3").scope == 24);      // the innermost net: its own prefix
    // 10.200.0.1 in 10/8: 10.128.0.0/9 is all eu, but 10.0.0.0/8 holds us and ap too.
    CHECK(lookup(map, "10.200.0.1").scope == 9);
    CHECK(lookup(map, "10.2.3.4").scope == 15);  // 10.2.0.0/15 stays clear of 10.1/16
    CHECK(lookup(map, "10.1.5.5").scope == 22);  // 10.1.4.0/22 stays clear of 10.1.2/24
    CHECK(lookup(map, "10.1.0.1").scope == 23);  // 10.1.0.0/23 stays clear of 10.1.2/24
}

TEST_CASE("geo map: a miss gives the shortest prefix that keeps clear of every net") {
    const lb::GeoMap map = build({{cidr("10.0.0.0/8"), eu}, {cidr("2001:db8:100::/48"), eu}});
    CHECK(lookup(map, "11.0.0.1").scope == 8);   // 11.0.0.0/8 touches no rule
    CHECK(lookup(map, "200.0.0.1").scope == 1);  // 128.0.0.0/1 neither
    CHECK(lookup(map, "2001:db8:101::1").scope == 48);
    CHECK(lookup(map, "2001:db9::").scope == 32);
    const lb::GeoMap empty = build({});
    CHECK(empty.empty());
    CHECK(lookup(empty, "192.0.2.1").region == lb::kNoRegion);
    CHECK(lookup(empty, "192.0.2.1").scope == 0);
}

TEST_CASE("geo map: nested IPv6 nets and the edges of the address space") {
    const lb::GeoMap map = build({{cidr("2001:db8::/32"), eu},
                                  {cidr("2001:db8:100::/48"), us},
                                  {cidr("2001:db8:100:8000::/49"), ap},
                                  {cidr("::/0"), sa},
                                  {cidr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"), eu},
                                  {cidr("0.0.0.0/0"), sa},
                                  {cidr("255.255.255.255/32"), us}});
    CHECK(lookup(map, "2001:db8:1::1").region == eu);
    CHECK(lookup(map, "2001:db8:100::1").region == us);
    CHECK(lookup(map, "2001:db8:100::1").scope == 49);
    CHECK(lookup(map, "2001:db8:100:8000::1").region == ap);
    CHECK(lookup(map, "2001:db8:100:8000::1").scope == 49);
    CHECK(lookup(map, "2001:db9::1").region == sa);
    CHECK(lookup(map, "::").region == sa);
    CHECK(lookup(map, "::").scope == 3);  // ::/3 is clear of 2001:db8::/32
    CHECK(lookup(map, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").region == eu);
    CHECK(lookup(map, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").scope == 128);
    CHECK(lookup(map, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe").region == sa);
    CHECK(lookup(map, "255.255.255.255").region == us);
    CHECK(lookup(map, "255.255.255.255").scope == 32);
    CHECK(lookup(map, "0.0.0.0").region == sa);
    CHECK(lookup(map, "0.0.0.0").scope == 1);
    CHECK(lookup(map, "255.255.255.254").scope == 32);
    // The families are separate: an IPv4 rule never answers an IPv6 client.
    const lb::GeoMap v4_only = build({{cidr("0.0.0.0/0"), eu}});
    CHECK(lookup(v4_only, "2001:db8::1").region == lb::kNoRegion);
}

TEST_CASE("geo map: identical nets are an error naming both rules; nesting is not") {
    const std::vector<lb::NetRule> rules = {{cidr("198.51.100.0/24"), eu},
                                            {cidr("2001:db8:100::/48"), eu},
                                            {cidr("198.51.100.0/25"), us},
                                            {cidr("198.51.100.0/24"), us},
                                            {cidr("2001:db8:100::/48"), eu}};
    const auto built = lb::GeoMap::build(rules);
    REQUIRE(built.errors.size() == 2);
    CHECK(built.errors[0].rule == 3);
    CHECK(built.errors[0].other == 0);
    CHECK(built.errors[0].message == "net 198.51.100.0/24 is already given by rule 0");
    CHECK(built.errors[1].rule == 4);
    CHECK(built.errors[1].other == 1);
    CHECK(built.errors[1].message == "net 2001:db8:100::/48 is already given by rule 1");
}

TEST_CASE("geo map: many random nets agree with a longest-prefix scan") {
    std::mt19937 rng(3);
    std::vector<lb::NetRule> rules;
    for (int i = 0; i < 400; ++i) {
        lb::NetRule r;
        r.net.family = 4;
        r.net.prefix = static_cast<uint8_t>(8 + rng() % 17);
        const uint32_t a = (10u << 24) | (rng() & 0x00FFFFFF);
        const uint32_t masked = a & ~(0xFFFFFFFFu >> r.net.prefix);
        for (int b = 0; b < 4; ++b) r.net.address[b] = static_cast<uint8_t>(masked >> (24 - 8 * b));
        r.region = static_cast<uint16_t>(rng() % 4);
        if (std::none_of(rules.begin(), rules.end(),
                         [&](const lb::NetRule& o) { return o.net == r.net; }))
            rules.push_back(r);
    }
    const lb::GeoMap map = build(rules);
    // A net lies strictly inside the block of `a` at prefix p: then the block is not uniform.
    auto cut_inside = [&](uint32_t a, int p) {
        for (const auto& r : rules) {
            const uint32_t n = (uint32_t{r.net.address[0]} << 24) |
                               (uint32_t{r.net.address[1]} << 16) |
                               (uint32_t{r.net.address[2]} << 8) | r.net.address[3];
            const uint32_t mask = p == 0 ? 0 : ~(0xFFFFFFFFu >> p);
            if (r.net.prefix > p && ((a ^ n) & mask) == 0) return true;
        }
        return false;
    };
    int wrong_region = 0;
    int dishonest = 0;
    int too_long = 0;
    for (int i = 0; i < 5000; ++i) {
        const uint32_t a = (10u << 24) | (rng() & 0x00FFFFFF);
        const uint8_t bytes[4] = {static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16),
                                  static_cast<uint8_t>(a >> 8), static_cast<uint8_t>(a)};
        int best = -1;
        uint16_t region = lb::kNoRegion;
        for (const auto& r : rules) {
            const uint32_t n = (uint32_t{r.net.address[0]} << 24) |
                               (uint32_t{r.net.address[1]} << 16) |
                               (uint32_t{r.net.address[2]} << 8) | r.net.address[3];
            const uint32_t mask = r.net.prefix == 0 ? 0 : ~(0xFFFFFFFFu >> r.net.prefix);
            if ((a & mask) == n && r.net.prefix > best) {
                best = r.net.prefix;
                region = r.region;
            }
        }
        const lb::NetMatch m = map.lookup(4, bytes);
        if (m.region != region) ++wrong_region;
        // Honest: every address of the block the scope names gets the same answer.
        if (cut_inside(a, m.scope) || m.scope < best) ++dishonest;
        // And no longer than needed: one bit shorter would be dishonest.
        if (m.scope > 0 && !cut_inside(a, m.scope - 1) && m.scope - 1 >= best) ++too_long;
    }
    CHECK(wrong_region == 0);
    CHECK(dishonest == 0);
    CHECK(too_long == 0);
}
