// Region resolution: net rules, then country, then continent (from a database), then default;
// and the ECS scope of each. The database here is a fake: test_geoip.cc covers the real one.
#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <cstring>

#include "steerdns/lb/geo_rules.h"

using namespace steerdns;

namespace {

enum : uint16_t { eu, us, ap };

struct FakeDatabase {
    bool found = true;
    lb::GeoLocation answer;
    mutable int lookups = 0;

    bool lookup(uint8_t, const uint8_t*, lb::GeoLocation& out) const {
        ++lookups;
        out = answer;
        return found;
    }
};

lb::GeoLocation located(const char* country, const char* continent, uint8_t prefix) {
    lb::GeoLocation g;
    if (country[0] != 0) std::memcpy(g.country, country, 2);
    if (continent[0] != 0) std::memcpy(g.continent, continent, 2);
    g.prefix = prefix;
    return g;
}

lb::ClientNet client(const char* text, int prefix = -1) {
    lb::ClientNet c;
    if (inet_pton(AF_INET, text, c.address) == 1) {
        c.family = 4;
    } else {
        REQUIRE(inet_pton(AF_INET6, text, c.address) == 1);
        c.family = 6;
    }
    c.prefix = static_cast<uint8_t>(prefix >= 0 ? prefix : c.family == 6 ? 128 : 32);
    c.from_ecs = prefix >= 0;
    return c;
}

// The contract's example rules.
lb::GeoRules contract_rules() {
    lb::GeoRules rules;
    lb::Cidr v4;
    lb::Cidr v6;
    std::string cidr_error;
    REQUIRE(lb::parse_cidr("198.51.100.0/24", v4, cidr_error));
    REQUIRE(lb::parse_cidr("2001:db8:100::/48", v6, cidr_error));
    const std::vector<lb::NetRule> nets = {{v4, eu}, {v6, eu}};
    auto built = lb::GeoMap::build(nets);
    REQUIRE(built.errors.empty());
    rules.nets = std::move(built.map);
    REQUIRE(rules.add_country("US", us));
    REQUIRE(rules.add_continent("EU", eu));
    REQUIRE(rules.add_continent("as", ap));
    rules.default_region = us;
    return rules;
}

}  // namespace

TEST_CASE("geo rules: a net rule wins and the database is not asked") {
    const lb::GeoRules rules = contract_rules();
    FakeDatabase db;
    db.answer = located("JP", "AS", 16);
    lb::GeoMatch m = lb::resolve_region(rules, client("198.51.100.7"), &db);
    CHECK(m.region == eu);
    CHECK(m.scope == 24);
    CHECK(db.lookups == 0);
    m = lb::resolve_region(rules, client("2001:db8:100:5::1"), &db);
    CHECK(m.region == eu);
    CHECK(m.scope == 48);
    // ECS /20 covering the rule's net only partly: scope never exceeds the source prefix.
    m = lb::resolve_region(rules, client("198.51.100.0", 22), &db);
    CHECK(m.region == eu);
    CHECK(m.scope == 22);
}

TEST_CASE("geo rules: country before continent, scope from the database network") {
    const lb::GeoRules rules = contract_rules();
    FakeDatabase db;
    db.answer = located("US", "NA", 18);
    lb::GeoMatch m = lb::resolve_region(rules, client("203.0.113.9", 24), &db);
    CHECK(m.region == us);
    CHECK(m.scope == 18);
    CHECK(db.lookups == 1);

    db.answer = located("FR", "EU", 20);
    m = lb::resolve_region(rules, client("203.0.113.9", 24), &db);
    CHECK(m.region == eu);
    CHECK(m.scope == 20);

    db.answer = located("JP", "AS", 30);  // database network longer than the ECS source
    m = lb::resolve_region(rules, client("203.0.113.0", 24), &db);
    CHECK(m.region == ap);
    CHECK(m.scope == 24);

    db.answer = located("", "EU", 36);  // continent only
    m = lb::resolve_region(rules, client("2001:db8:f000::1"), &db);
    CHECK(m.region == eu);
    CHECK(m.scope == 36);
    // A database network that would hold the net rule 2001:db8:100::/48 is narrowed: /33 is
    // the shortest prefix around 2001:db8:f000:: that keeps clear of it.
    db.answer = located("", "EU", 12);
    m = lb::resolve_region(rules, client("2001:db8:f000::1"), &db);
    CHECK(m.scope == 33);
}

TEST_CASE("geo rules: a database network around a net rule is narrowed to keep clear of it") {
    const lb::GeoRules rules = contract_rules();
    FakeDatabase db;
    db.answer = located("US", "NA", 16);  // 198.51.0.0/16 holds the eu rule 198.51.100.0/24
    const lb::GeoMatch m = lb::resolve_region(rules, client("198.51.7.1"), &db);
    CHECK(m.region == us);
    CHECK(m.scope == 18);  // 198.51.0.0/18 does not reach 198.51.100.0
}

TEST_CASE("geo rules: default region with the source prefix as scope") {
    const lb::GeoRules rules = contract_rules();
    FakeDatabase db;
    db.answer = located("BR", "SA", 10);  // no rule for either
    lb::GeoMatch m = lb::resolve_region(rules, client("100.64.1.0", 24), &db);
    CHECK(m.region == us);
    CHECK(m.scope == 24);
    db.found = false;
    m = lb::resolve_region(rules, client("10.0.0.0", 8), &db);
    CHECK(m.region == us);
    CHECK(m.scope == 8);
    // Without a database only net rules apply.
    m = lb::resolve_region(rules, client("203.0.113.9", 24), static_cast<FakeDatabase*>(nullptr));
    CHECK(m.region == us);
    CHECK(m.scope == 24);
    // ECS /0 (the resolver withholds the client): nothing is known, the answer is for all.
    m = lb::resolve_region(rules, client("0.0.0.0", 0), &db);
    CHECK(m.region == us);
    CHECK(m.scope == 0);
}

TEST_CASE("geo rules: country and continent codes are two letters") {
    lb::GeoRules rules;
    CHECK_FALSE(rules.has_location_rules());
    CHECK_FALSE(rules.add_country("USA", us));
    CHECK_FALSE(rules.add_country("U", us));
    CHECK_FALSE(rules.add_country("U1", us));
    CHECK_FALSE(rules.add_continent("", eu));
    CHECK_FALSE(rules.has_location_rules());
    CHECK(rules.add_country("gb", eu));
    CHECK(rules.has_location_rules());
    FakeDatabase db;
    db.answer = located("GB", "EU", 8);
    CHECK(lb::resolve_region(rules, client("81.2.69.1"), &db).region == eu);
    db.answer = located("\xC3\xA9", "EU", 8);  // not ASCII: no rule, no crash
    CHECK(lb::resolve_region(rules, client("81.2.69.1"), &db).region == lb::kNoRegion);
}
