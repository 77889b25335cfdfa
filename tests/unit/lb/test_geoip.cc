// GeoIp against a small .mmdb written at test time by tests/data/write_test_mmdb.pl (Debian's
// libmaxmind-db-writer-perl), then the whole region resolution with the real database.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "helpers.h"
#include "steerdns/lb/geoip.h"

using namespace steerdns;
using steerdns::test::test_mmdb;

namespace {

#define REQUIRE_TEST_MMDB()                                              \
    if (test_mmdb().empty()) {                                           \
        MESSAGE(                                                         \
            "skipped: perl module MaxMind::DB::Writer::Tree is missing " \
            "(apt-get install libmaxmind-db-writer-perl)");              \
        return;                                                          \
    }

struct Located {
    bool found = false;
    lb::GeoLocation where;
    std::string country() const { return std::string(where.country, strnlen(where.country, 2)); }
    std::string continent() const {
        return std::string(where.continent, strnlen(where.continent, 2));
    }
};

Located locate(const lb::GeoIp& db, const char* text) {
    uint8_t bytes[16] = {};
    uint8_t family = 4;
    if (inet_pton(AF_INET, text, bytes) != 1) {
        REQUIRE(inet_pton(AF_INET6, text, bytes) == 1);
        family = 6;
    }
    Located l;
    l.found = db.lookup(family, bytes, l.where);
    return l;
}

lb::ClientNet client(const char* text, uint8_t prefix) {
    lb::ClientNet c;
    if (inet_pton(AF_INET, text, c.address) == 1) {
        c.family = 4;
    } else {
        REQUIRE(inet_pton(AF_INET6, text, c.address) == 1);
        c.family = 6;
    }
    c.prefix = prefix;
    return c;
}

}  // namespace

TEST_CASE("geoip: a database that cannot be opened gives a clear error") {
    std::string error;
    lb::GeoIp db;
    CHECK_FALSE(db.open("/nonexistent/GeoLite2-City.mmdb", error));
    CHECK(error ==
          "cannot open GeoIP database \"/nonexistent/GeoLite2-City.mmdb\": "
          "No such file or directory");
    const auto junk = std::filesystem::temp_directory_path() /
                      ("steerdns-geoip-junk-" + std::to_string(getpid()) + ".mmdb");
    std::ofstream(junk) << "not a MaxMind database\n";
    CHECK_FALSE(db.open(junk.string(), error));
    CHECK(error.rfind("cannot open GeoIP database \"" + junk.string() + "\": ", 0) == 0);
    MESSAGE(error);
    std::filesystem::remove(junk);
    // Never opened: every lookup misses.
    CHECK_FALSE(db.is_open());
    CHECK(db.database_type().empty());
    const uint8_t address[4] = {203, 0, 113, 7};
    lb::GeoLocation where;
    CHECK_FALSE(db.lookup(4, address, where));
}

TEST_CASE("geoip: country, continent and network prefix for IPv4 and IPv6") {
    REQUIRE_TEST_MMDB();
    std::string error;
    lb::GeoIp db;
    REQUIRE_MESSAGE(db.open(test_mmdb(), error), error);
    CHECK(db.database_type() == "steerdns-Test-City");
    CHECK(db.ip_version() == 6);

    Located l = locate(db, "203.0.113.7");
    CHECK(l.found);
    CHECK(l.country() == "US");
    CHECK(l.continent() == "NA");
    CHECK(l.where.prefix == 24);  // IPv4 inside the IPv6 tree: 120 - 96

    l = locate(db, "198.51.100.3");
    CHECK(l.country() == "FR");
    CHECK(l.continent() == "EU");
    CHECK(l.where.prefix == 25);

    l = locate(db, "100.127.255.255");
    CHECK(l.country() == "BR");
    CHECK(l.where.prefix == 10);

    l = locate(db, "2001:db8:200::1");
    CHECK(l.country() == "DE");
    CHECK(l.where.prefix == 48);

    l = locate(db, "2001:db8:f123::1");
    CHECK(l.found);
    CHECK(l.country().empty());
    CHECK(l.continent() == "EU");
    CHECK(l.where.prefix == 36);

    CHECK_FALSE(locate(db, "198.51.100.200").found);
    CHECK_FALSE(locate(db, "10.1.1.1").found);
    CHECK_FALSE(locate(db, "2001:db9::1").found);

    // The sockaddr form, as a source address arrives.
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    inet_pton(AF_INET, "192.0.2.9", &sa.sin_addr);
    lb::GeoLocation where;
    REQUIRE(db.lookup(reinterpret_cast<const sockaddr*>(&sa), where));
    CHECK(std::string(where.country, 2) == "JP");
    CHECK(where.prefix == 26);
}

TEST_CASE("geoip: the contract's rules resolve against a real database") {
    REQUIRE_TEST_MMDB();
    std::string error;
    lb::GeoIp db;
    REQUIRE_MESSAGE(db.open(test_mmdb(), error), error);

    enum : uint16_t { eu, us, ap };
    lb::GeoRules rules;
    lb::Cidr v4;
    lb::Cidr v6;
    std::string cidr_error;
    REQUIRE(lb::parse_cidr("198.51.100.0/24", v4, cidr_error));
    REQUIRE(lb::parse_cidr("2001:db8:100::/48", v6, cidr_error));
    const std::vector<lb::NetRule> nets = {{v4, eu}, {v6, eu}};
    rules.nets = std::move(lb::GeoMap::build(nets).map);
    rules.add_country("US", us);
    rules.add_continent("EU", eu);
    rules.add_continent("AS", ap);
    rules.default_region = us;

    auto resolve = [&](const char* text, uint8_t prefix) {
        return lb::resolve_region(rules, client(text, prefix), &db);
    };
    lb::GeoMatch m = resolve("198.51.100.3", 32);  // net rule before the database's FR
    CHECK(m.region == eu);
    CHECK(m.scope == 24);
    m = resolve("203.0.113.0", 24);  // country US
    CHECK(m.region == us);
    CHECK(m.scope == 24);
    m = resolve("192.0.2.0", 24);  // JP: continent AS, database network /26, source /24
    CHECK(m.region == ap);
    CHECK(m.scope == 24);
    m = resolve("2001:db8:200::", 56);  // DE: continent EU, /48
    CHECK(m.region == eu);
    CHECK(m.scope == 48);
    m = resolve("100.64.0.0", 24);  // BR: no rule, default with the source prefix
    CHECK(m.region == us);
    CHECK(m.scope == 24);
    m = resolve("10.0.0.0", 16);  // not in the database
    CHECK(m.region == us);
    CHECK(m.scope == 16);
}
