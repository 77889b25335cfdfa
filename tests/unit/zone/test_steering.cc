// The steering policies wired into zones and answers: what the loader and compile say about
// geo sections, regions and weights (with positions), and the ECS scope every policy puts in
// its answers, through answer_query.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>

#include "helpers.h"
#include "steerdns/lb/policy_geo.h"

using namespace steerdns;
using namespace steerdns::test;

namespace {

// Printed one per line by a failed CHECK (helpers.h).
using Problems = test::Lines;

// Everything `steerdns check` would say: the loader's problems, else compile's.
Problems problems(std::string_view text) {
    const zone::LoadResult loaded = zone::parse_zone_json(text, "z.json");
    Problems out;
    for (const zone::Diagnostic& d : loaded.diags) out.push_back(d.to_string());
    if (!out.empty()) return out;
    for (const zone::Diagnostic& d : zone::compile_zone(loaded.spec).diags)
        out.push_back(d.to_string());
    return out;
}

}  // namespace

namespace {

// Line 5 is `geo_line` (the "geo" member, or any other top-level member), line 6 opens
// "pools", and the pools start on line 7, so that columns can be read off the arguments.
std::string zone_with(std::string_view geo_line, std::string_view pool_lines) {
    std::string text = R"({
  "zone": "lb.example.test.",
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1},
  "ns": ["ns1"], "records": ["ns1 A 192.0.2.53"],
)";
    text += geo_line.empty() ? std::string_view(R"(  "ttl": 300)") : geo_line;
    text += ",\n  \"pools\": {\n";
    text += pool_lines;
    text += "\n  }\n}\n";
    return text;
}

// The contract's geo section, on one line.
constexpr std::string_view kContractGeo =
    R"(  "geo": {"rules": [{"net": "198.51.100.0/24", "region": "eu"}, {"net": "2001:db8:100::/48", "region": "eu"}, {"country": "US", "region": "us"}, {"continent": "EU", "region": "eu"}, {"continent": "AS", "region": "ap"}], "default": "us"})";

// The contract's geo pool, on one line.
constexpr std::string_view kContractPool =
    R"(    "app": {"policy": "geo", "regions": {"eu": ["eu", "us"], "us": ["us", "eu"], "ap": ["ap", "us", "eu"]}, "members": [{"address": "192.0.2.20", "region": "eu"}, {"address": "192.0.2.21", "region": "us"}, {"address": "192.0.2.22", "region": "ap", "weight": 2}]})";

}  // namespace

// --- Loader -----------------------------------------------------------------------------

TEST_CASE("steering: the contract's geo zone and every policy load and compile") {
    const std::string pools = std::string(kContractPool) + R"(,
    "w": {"policy": "weighted", "answers": 1, "members": [{"address": "192.0.2.1", "weight": 3}, {"address": "192.0.2.2"}]},
    "f": {"policy": "failover", "members": [{"address": "192.0.2.1", "priority": 101}, {"address": "192.0.2.2", "priority": 99}]},
    "h": {"policy": "hash", "members": [{"address": "192.0.2.1"}, {"address": "192.0.2.2", "weight": 0}, {"address": "192.0.2.3"}]},
    "a": {"policy": "all", "members": [{"address": "192.0.2.1"}, {"address": "192.0.2.2"}]})";
    CHECK(problems(zone_with(kContractGeo, pools)) == Problems{});
    const zone::LoadResult loaded = zone::parse_zone_json(zone_with(kContractGeo, pools), "z.json");
    REQUIRE(loaded.spec.geo.has_value());
    const zone::GeoSpec& geo = *loaded.spec.geo;
    REQUIRE(geo.rules.size() == 5);
    CHECK(geo.rules[0].net->text == "198.51.100.0/24");
    CHECK(geo.rules[0].net->pos.path == "geo.rules[0].net");
    CHECK(geo.rules[0].net->pos.line == 5);
    CHECK(geo.rules[2].country->text == "US");
    CHECK(geo.rules[4].continent->text == "AS");
    CHECK(geo.rules[4].region.text == "ap");
    CHECK(geo.default_region.text == "us");
    CHECK_FALSE(geo.database.has_value());
    const zone::PoolSpec& app = loaded.spec.pools[0];
    REQUIRE(app.regions.size() == 3);
    CHECK(app.regions[2].client.text == "ap");
    CHECK(app.regions[2].client.pos.path == "pools.app.regions.ap");
    CHECK(app.regions[2].regions.size() == 3);
    CHECK(app.regions[2].regions[1].pos.path == "pools.app.regions.ap[1]");
    CHECK(app.members[2].region()->text == "ap");

    const zone::CompileResult r = zone::compile_zone(loaded.spec);
    REQUIRE(r.zone);
    REQUIRE(r.zone->geo);
    CHECK(r.zone->geo->database == nullptr);
    const lb::Pool& pool = r.zone->pools[0];
    CHECK(pool.policy == lb::Policy::geo);
    CHECK(pool.geo == r.zone->geo);
    // Region ids in order of first mention: eu, us, ap (rules), no more.
    CHECK(pool.regions.region_count() == 3);
    CHECK(pool.v4.table.region == std::vector<uint16_t>{0, 1, 2});
    CHECK_FALSE(pool.v4.table.uniform_weight);  // one weight 2 makes the whole pool weighted
    CHECK(r.zone->pools[2].v4.table.top_priority == std::vector<uint32_t>{0});
    CHECK(r.zone->pools[3].v4.table.drawable == 2);
}

TEST_CASE("steering loader: the geo section's keys, types and rules") {
    CHECK(problems(zone_with(R"(  "geo": {"rule": [], "default": "us"})", "")) ==
          Problems{R"(z.json:5:10: geo.rules: missing required key "rules")",
                   R"(z.json:5:11: geo.rule: unknown key "rule" (did you mean "rules"?))"});
    CHECK(problems(zone_with(R"(  "geo": {"rules": {}, "database": 7, "default": ""})", "")) ==
          Problems{"z.json:5:20: geo.rules: expected an array, got an object",
                   "z.json:5:36: geo.database: expected a string, got a number",
                   "z.json:5:50: geo.default: expected a region name, got an empty string"});
    CHECK(problems(zone_with(R"(  "geo": [])", "")) ==
          Problems{"z.json:5:10: geo: expected an object, got an array"});
    CHECK(
        problems(zone_with(
            R"(  "geo": {"rules": [{"net": "198.51.100.0/24", "country": "US", "region": "eu"}], "default": "eu"})",
            "")) ==
        Problems{
            R"(z.json:5:48: geo.rules[0].country: a rule matches on one of "net", "country" or "continent" (this one already has "net"))"});
    CHECK(
        problems(zone_with(
            R"(  "geo": {"rules": [{"region": "eu"}, {"net": "10.0.0.0/8"}], "default": "eu"})",
            "")) ==
        Problems{
            R"(z.json:5:21: geo.rules[0].net: missing required key "net", "country" or "continent")",
            R"(z.json:5:39: geo.rules[1].region: missing required key "region")"});
    CHECK(
        problems(zone_with(
            R"(  "geo": {"rules": [{"net": "198.51.100.1/24", "region": "eu"}, {"net": "10.0.0.0", "region": "eu"}, {"net": "10.0.0.0/33", "region": "eu"}], "default": "eu"})",
            "")) ==
        Problems{
            R"(z.json:5:29: geo.rules[0].net: "198.51.100.1/24" has host bits set (did you mean 198.51.100.0/24?))",
            R"(z.json:5:73: geo.rules[1].net: "10.0.0.0" is not a network: the prefix length is missing)",
            R"(z.json:5:110: geo.rules[2].net: "10.0.0.0/33": prefix length must be 0-32)"});
    CHECK(
        problems(zone_with(
            R"(  "geo": {"rules": [{"country": "us", "region": "us"}, {"continent": "EUR", "region": "eu"}], "default": "us"})",
            "")) ==
        Problems{
            R"(z.json:5:33: geo.rules[0].country: "us" is not a country code (two capital letters, ISO 3166-1 alpha-2, like "US"))",
            R"(z.json:5:70: geo.rules[1].continent: unknown continent "EUR" (expected one of: AF, AN, AS, EU, NA, OC, SA))"});
}

TEST_CASE("steering loader: a pool's regions") {
    CHECK(
        problems(zone_with(
            kContractGeo,
            R"(    "app": {"policy": "geo", "regions": {"eu": [], "": ["eu"], "us": "eu", "ap": [1]}, "members": [{"address": "192.0.2.20", "region": "eu"}]})")) ==
        Problems{"z.json:7:48: pools.app.regions.eu: expected at least one region",
                 R"(z.json:7:52: pools.app.regions[""]: expected a region name, got an empty key)",
                 "z.json:7:70: pools.app.regions.us: expected an array, got a string",
                 "z.json:7:83: pools.app.regions.ap[0]: expected a string, got a number"});
    CHECK(
        problems(zone_with(
            kContractGeo,
            R"(    "app": {"policy": "geo", "regions": [], "members": [{"address": "192.0.2.20", "region": ""}]})")) ==
        Problems{"z.json:7:41: pools.app.regions: expected an object, got an array",
                 "z.json:7:93: pools.app.members[0].region: expected a region name, got an "
                 "empty string"});
    // Only a geo pool reads them: elsewhere they are a mistake, not something to ignore.
    CHECK(
        problems(zone_with(
            "",
            R"(    "www": {"policy": "failover", "regions": {"eu": ["eu"]}, "members": [{"address": "192.0.2.20"}]})")) ==
        Problems{
            R"(z.json:7:35: pools.www.regions: "regions" only applies to a geo pool (this one is failover))"});
    CHECK(
        problems(zone_with(
            "",
            R"(    "www": {"regions": {"eu": ["eu"]}, "members": [{"address": "192.0.2.20"}]})")) ==
        Problems{
            R"(z.json:7:13: pools.www.regions: "regions" only applies to a geo pool (this one is round-robin))"});
}

// --- Compile ----------------------------------------------------------------------------

TEST_CASE("steering compile: a geo pool needs the zone's geo section") {
    CHECK(
        problems(zone_with(
            "",
            R"(    "app": {"policy": "geo", "members": [{"address": "192.0.2.20", "region": "eu"}]})")) ==
        Problems{
            R"(z.json:7:23: pools.app.policy: policy "geo" needs the zone's "geo" section (rules and a default region))"});
    // A geo section without geo pools is fine (shared by pools still to come).
    CHECK(problems(
              zone_with(kContractGeo, R"(    "www": {"members": [{"address": "192.0.2.1"}]})")) ==
          Problems{});
}

TEST_CASE("steering compile: unknown regions, in every place a region is named") {
    // Rules put clients in eu, us and "pa" (a typo of ap); the default is us. The member in
    // "ap" is the same typo seen from the other side: reported once, at the rule.
    const std::string geo =
        R"(  "geo": {"rules": [{"net": "198.51.100.0/24", "region": "eu"}, {"country": "US", "region": "us"}, {"continent": "AS", "region": "pa"}], "default": "us"})";
    CHECK(
        problems(zone_with(
            geo,
            R"(    "app": {"policy": "geo", "regions": {"eu": ["eu", "su"], "ue": ["us"]}, "members": [{"address": "192.0.2.20", "region": "eu"}, {"address": "192.0.2.21", "region": "us"}, {"address": "192.0.2.22", "region": "ap"}, {"address": "192.0.2.23"}]})")) ==
        Problems{
            R"(z.json:5:130: geo.rules[2].region: unknown region "pa": no geo pool has a member in it or a "regions" list for it (did you mean "ap"?))",
            R"(z.json:7:55: pools.app.regions.eu[1]: unknown region "su": no rule, default or member of this pool names it (did you mean "eu"?))",
            R"(z.json:7:62: pools.app.regions.ue: unknown region "ue": no rule or default puts clients in it (did you mean "eu"?))",
            R"(z.json:7:218: pools.app.members[3]: a member of a geo pool needs a "region")"});
    // The default is checked like a rule's region.
    CHECK(
        problems(zone_with(
            R"(  "geo": {"rules": [], "default": "xx"})",
            R"(    "app": {"policy": "geo", "members": [{"address": "192.0.2.20", "region": "xx"}]}, "b": {"policy": "geo", "members": [{"address": "192.0.2.20", "region": "yy"}]})")) ==
        Problems{
            R"(z.json:7:158: pools.b.members[0].region: unknown region "yy": no rule, default or "regions" list of this pool names it)"});
    CHECK(
        problems(zone_with(
            R"(  "geo": {"rules": [], "default": "xx"})",
            R"(    "app": {"policy": "geo", "regions": {"xx": ["yy"]}, "members": [{"address": "192.0.2.20", "region": "yy"}]})")) ==
        Problems{});
    CHECK(
        problems(zone_with(
            R"(  "geo": {"rules": [], "default": "xx"})",
            R"(    "app": {"policy": "geo", "regions": {"yy": ["xx"]}, "members": [{"address": "192.0.2.20", "region": "yy"}]})")) ==
        Problems{
            R"(z.json:5:35: geo.default: unknown region "xx": no geo pool has a member in it or a "regions" list for it)",
            R"(z.json:7:42: pools.app.regions.yy: unknown region "yy": no rule or default puts clients in it)"});
}

TEST_CASE("steering compile: duplicate nets and codes; nested nets are fine") {
    CHECK(
        problems(zone_with(
            R"(  "geo": {"rules": [{"net": "198.51.100.0/24", "region": "eu"}, {"net": "198.51.100.128/25", "region": "us"}, {"net": "198.51.100.0/24", "region": "us"}, {"net": "2001:db8::/32", "region": "eu"}, {"net": "2001:0db8:0::/32", "region": "eu"}], "default": "us"})",
            R"(    "app": {"policy": "geo", "members": [{"address": "192.0.2.20", "region": "eu"}, {"address": "192.0.2.21", "region": "us"}]})")) ==
        Problems{
            R"(z.json:5:119: geo.rules[2].net: duplicate net 198.51.100.0/24 (first at line 5:29))",
            R"(z.json:5:205: geo.rules[4].net: duplicate net 2001:db8::/32 (first at line 5:163))"});
    CHECK(
        problems(zone_with(
            R"(  "geo": {"rules": [{"country": "US", "region": "us"}, {"continent": "EU", "region": "eu"}, {"country": "US", "region": "eu"}, {"continent": "EU", "region": "eu"}], "default": "us"})",
            R"(    "app": {"policy": "geo", "members": [{"address": "192.0.2.20", "region": "eu"}, {"address": "192.0.2.21", "region": "us"}]})")) ==
        Problems{
            R"(z.json:5:105: geo.rules[2].country: duplicate country rule "US" (first at line 5:33))",
            R"(z.json:5:142: geo.rules[3].continent: duplicate continent rule "EU" (first at line 5:70))"});
}

TEST_CASE("steering compile: all weights zero in a policy that reads weights") {
    const std::string_view members =
        R"([{"address": "192.0.2.1", "weight": 0}, {"address": "192.0.2.2", "weight": 0}])";
    for (const std::string_view policy : {"weighted", "hash"}) {
        INFO(policy);
        CHECK(problems(zone_with("", std::string(R"(    "p": {"policy": ")") + std::string(policy) +
                                         R"(", "members": )" + std::string(members) + "}")) ==
              Problems{"z.json:7:21: pools.p.policy: all weights are zero: nothing can be chosen"});
    }
    // Drained members do not count; the other family alone is reported.
    CHECK(
        problems(zone_with(
            "",
            R"(    "p": {"policy": "weighted", "members": [{"address": "192.0.2.1", "weight": 0}, {"address": "192.0.2.2", "enabled": false}, {"address": "2001:db8::1"}]})")) ==
        Problems{
            "z.json:7:21: pools.p.policy: all weights of the IPv4 members are zero: nothing can "
            "be chosen for A queries"});
    // Round robin, failover and all do not read weights.
    for (const std::string_view policy : {"round-robin", "failover", "all"}) {
        CHECK(problems(zone_with("", std::string(R"(    "p": {"policy": ")") + std::string(policy) +
                                         R"(", "members": )" + std::string(members) + "}")) ==
              Problems{});
    }
}

TEST_CASE("steering compile: the GeoIP database is opened at load") {
    CHECK(
        problems(zone_with(
            R"(  "geo": {"database": "/nonexistent/GeoLite2-City.mmdb", "rules": [], "default": "us"})",
            R"(    "app": {"policy": "geo", "members": [{"address": "192.0.2.21", "region": "us"}]})")) ==
        Problems{
            R"(z.json:5:23: geo.database: cannot open GeoIP database "/nonexistent/GeoLite2-City.mmdb": No such file or directory)"});
    if (test_mmdb().empty()) {
        MESSAGE("skipped the database half: libmaxmind-db-writer-perl is missing");
        return;
    }
    // A relative path is relative to the zone file.
    const std::filesystem::path dir = std::filesystem::path(test_mmdb()).parent_path() / "zonedir";
    std::filesystem::create_directories(dir / "geo");
    std::filesystem::copy_file(test_mmdb(), dir / "geo" / "test.mmdb",
                               std::filesystem::copy_options::overwrite_existing);
    std::ofstream(dir / "z.json") << zone_with(
        R"(  "geo": {"database": "geo/test.mmdb", "rules": [{"country": "US", "region": "us"}], "default": "us"})",
        R"(    "app": {"policy": "geo", "members": [{"address": "192.0.2.21", "region": "us"}]})");
    const zone::CompileResult r = zone::load_zone((dir / "z.json").string());
    CHECK(r.diags.empty());
    REQUIRE(r.zone);
    REQUIRE(r.zone->geo->database);
    CHECK(r.zone->geo->database->path() == (dir / "geo" / "test.mmdb").string());
    // Not a database: the message names the resolved path.
    std::ofstream(dir / "geo" / "junk.mmdb") << "junk\n";
    std::ofstream(dir / "z.json") << zone_with(
        R"(  "geo": {"database": "geo/junk.mmdb", "rules": [], "default": "us"})",
        R"(    "app": {"policy": "geo", "members": [{"address": "192.0.2.21", "region": "us"}]})");
    const zone::CompileResult junk = zone::load_zone((dir / "z.json").string());
    REQUIRE(junk.diags.size() == 1);
    CHECK(junk.diags[0].pos.path == "geo.database");
    CHECK(junk.diags[0].message.rfind(
              "cannot open GeoIP database \"" + (dir / "geo" / "junk.mmdb").string() + "\": ", 0) ==
          0);
}

// --- Answers and ECS scope --------------------------------------------------------------

namespace {

// The policies zone the answer tests query. Nested nets: 198.51.100.128/25 (us) inside
// 198.51.100.0/24 (eu).
std::string policies_zone(std::string_view database = "") {
    std::string geo = R"(  "geo": {)";
    if (!database.empty()) geo += R"("database": ")" + std::string(database) + R"(", )";
    geo +=
        R"("rules": [{"net": "198.51.100.0/24", "region": "eu"}, {"net": "198.51.100.128/25", "region": "us"}, {"net": "2001:db8:100::/48", "region": "eu"}, {"country": "US", "region": "us"}, {"continent": "EU", "region": "eu"}, {"continent": "AS", "region": "ap"}], "default": "us"})";
    return zone_with(
        geo,
        R"(    "app": {"policy": "geo", "regions": {"eu": ["eu", "us"], "us": ["us", "eu"], "ap": ["ap", "us", "eu"]}, "members": [{"address": "192.0.2.20", "region": "eu"}, {"address": "192.0.2.21", "region": "us"}, {"address": "192.0.2.22", "region": "ap", "weight": 2}]},
    "eu-only": {"policy": "geo", "fallback": "none", "regions": {"eu": ["eu"], "us": ["eu"], "ap": ["ap"]}, "members": [{"address": "192.0.2.20", "region": "eu"}, {"address": "192.0.2.22", "region": "ap"}]},
    "rr": {"members": [{"address": "192.0.2.1"}, {"address": "192.0.2.2"}]},
    "w": {"policy": "weighted", "answers": 1, "members": [{"address": "192.0.2.1", "weight": 3}, {"address": "192.0.2.2"}]},
    "f": {"policy": "failover", "members": [{"address": "192.0.2.1", "priority": 101}, {"address": "192.0.2.2", "priority": 99}, {"address": "192.0.2.3", "priority": 101}]},
    "h": {"policy": "hash", "members": [{"address": "192.0.2.1"}, {"address": "192.0.2.2"}, {"address": "192.0.2.3"}, {"address": "192.0.2.4"}]},
    "h3": {"policy": "hash", "answers": 3, "members": [{"address": "192.0.2.1"}, {"address": "192.0.2.2"}, {"address": "192.0.2.3"}, {"address": "192.0.2.4"}]},
    "a": {"policy": "all", "members": [{"address": "192.0.2.1"}, {"address": "192.0.2.2"}, {"address": "192.0.2.3"}, {"address": "192.0.2.4"}, {"address": "192.0.2.5"}, {"address": "192.0.2.6"}, {"address": "192.0.2.7"}, {"address": "192.0.2.8"}, {"address": "192.0.2.9"}, {"address": "192.0.2.10"}]},
    "to-h": {"policy": "hash", "fallback": "none", "members": [{"address": "2001:db8::1"}]})");
}

struct Ecs {
    bool present = false;
    uint8_t source = 0;
    uint8_t scope = 0;
};

// The ECS option of a response: the last thing in the message (OPT is the last record, and
// we send no other option).
Ecs ecs_of(const Answered& a, uint8_t source) {
    Ecs e;
    const size_t octets = (source + 7u) / 8u;
    const auto& w = a.wire;
    if (w.size() < 8 + octets) return e;
    const size_t at = w.size() - octets - 8;
    if (w[at] != 0 || w[at + 1] != 8) return e;
    e.present = true;
    e.source = w[at + 6];
    e.scope = w[at + 7];
    return e;
}

QueryOptions with_ecs(const std::string& address, uint8_t source) {
    QueryOptions o;
    o.edns = true;
    o.ecs = true;
    o.ecs_source = source;
    uint8_t bytes[16] = {};
    if (inet_pton(AF_INET, address.c_str(), bytes) == 1) {
        o.ecs_family = 1;
    } else {
        REQUIRE(inet_pton(AF_INET6, address.c_str(), bytes) == 1);
        o.ecs_family = 2;
    }
    o.ecs_address.assign(bytes, bytes + (source + 7) / 8);
    return o;
}

struct Asked {
    std::vector<std::string> addresses;
    uint8_t scope = 0;
    int rcode = 0;
};

Asked ask_ecs(const Snapshot& snap, const std::string& name, const std::string& subnet,
              uint8_t source, uint16_t qtype = LDNS_RR_TYPE_A) {
    const Answered a =
        ask(snap, make_query(name + ".lb.example.test", qtype, with_ecs(subnet, source)));
    REQUIRE(a.pkt);
    const Ecs e = ecs_of(a, source);
    REQUIRE_MESSAGE(e.present, to_text(a.pkt.get()));
    CHECK(e.source == source);
    Asked out;
    out.addresses = rdatas(ldns_pkt_answer(a.pkt.get()));
    out.scope = e.scope;
    out.rcode = ldns_pkt_get_rcode(a.pkt.get());
    return out;
}

Snapshot snapshot_of(const std::string& json) {
    return Snapshot({compile_json(json)});
}

using Addresses = std::vector<std::string>;

}  // namespace

TEST_CASE("steering answers: policies that do not look at the client echo scope 0") {
    const Snapshot snap = snapshot_of(policies_zone());
    for (const char* name : {"rr", "w", "f", "a"}) {
        INFO(name);
        const Asked a = ask_ecs(snap, name, "203.0.113.0", 24);
        CHECK(a.scope == 0);
        CHECK_FALSE(a.addresses.empty());
    }
    CHECK(ask_ecs(snap, "w", "203.0.113.0", 24).addresses.size() == 1);
    // failover: the two priority-101 members, rotated; all: capped at 8 of 10.
    const std::set<std::string> top({ask_ecs(snap, "f", "10.0.0.0", 8).addresses[0],
                                     ask_ecs(snap, "f", "10.0.0.0", 8).addresses[0]});
    CHECK(top == std::set<std::string>{"192.0.2.1", "192.0.2.3"});
    CHECK(ask_ecs(snap, "f", "10.0.0.0", 8).addresses.size() == 2);
    CHECK(ask_ecs(snap, "a", "10.0.0.0", 8).addresses.size() == 8);
}

TEST_CASE("steering answers: hash answers by client subnet, scope = the hashing prefix") {
    const Snapshot snap = snapshot_of(policies_zone());
    const Asked a = ask_ecs(snap, "h", "203.0.113.0", 24);
    CHECK(a.scope == 24);
    CHECK(a.addresses.size() == 1);  // hash without "answers": one member
    CHECK(ask_ecs(snap, "h", "203.0.113.0", 24).addresses == a.addresses);
    CHECK(ask_ecs(snap, "h", "203.0.112.0", 20).scope == 20);
    CHECK(ask_ecs(snap, "h", "2001:db8:1234::", 48).scope == 48);
    CHECK(ask_ecs(snap, "h3", "203.0.113.0", 24).addresses.size() == 3);
    CHECK(ask_ecs(snap, "h3", "203.0.113.0", 24).addresses[0] == a.addresses[0]);
    // ECS /0: every client is the same client.
    const Asked zero = ask_ecs(snap, "h", "0.0.0.0", 0);
    CHECK(zero.scope == 0);

    // Without ECS the source's /24 is hashed: the same answer as ECS x.y.z.0/24.
    const std::vector<uint8_t> q = make_query("h.lb.example.test", LDNS_RR_TYPE_A);
    std::map<std::string, int> seen;
    for (int i = 1; i < 255; i += 17) {
        const Answered r = ask_from(snap, q, client_at("203.0.113." + std::to_string(i)));
        CHECK(rdatas(ldns_pkt_answer(r.pkt.get())) == a.addresses);
    }
    // Different subnets spread over the members.
    for (int i = 0; i < 64; ++i)
        ++seen[ask_ecs(snap, "h", "10.0." + std::to_string(i) + ".0", 24).addresses[0]];
    CHECK(seen.size() == 4);
    // An IPv4-mapped source is the IPv4 client.
    const Answered mapped = ask_from(snap, q, client_at("::ffff:203.0.113.9"));
    CHECK(rdatas(ldns_pkt_answer(mapped.pkt.get())) == a.addresses);
}

TEST_CASE("steering answers: geo regions and scopes") {
    const Snapshot snap = snapshot_of(policies_zone());
    // Net rule eu; a /32 client of the /24 learns the /24... except where the nested /25
    // cuts into it: the RFC 7871 scope is then the longest prefix that no other rule cuts.
    Asked a = ask_ecs(snap, "app", "198.51.100.5", 32);
    CHECK(a.addresses == Addresses{"192.0.2.20"});
    CHECK(a.scope == 25);
    a = ask_ecs(snap, "app", "198.51.100.200", 32);  // the nested /25: us
    CHECK(a.addresses == Addresses{"192.0.2.21"});
    CHECK(a.scope == 25);
    a = ask_ecs(snap, "app", "198.51.100.0", 24);  // never more than the source prefix
    CHECK(a.addresses == Addresses{"192.0.2.20"});
    CHECK(a.scope == 24);
    a = ask_ecs(snap, "app", "2001:db8:100:7::", 64);
    CHECK(a.addresses == Addresses{"192.0.2.20"});
    CHECK(a.scope == 48);
    // No database: only net rules apply, everyone else gets the default (us), scope = source.
    a = ask_ecs(snap, "app", "203.0.113.0", 24);
    CHECK(a.addresses == Addresses{"192.0.2.21"});
    CHECK(a.scope == 24);
    a = ask_ecs(snap, "app", "10.1.0.0", 16);
    CHECK(a.scope == 16);
    a = ask_ecs(snap, "app", "0.0.0.0", 0);
    CHECK(a.scope == 0);
}

TEST_CASE("steering answers: negative answers carry the scope they depend on") {
    const Snapshot snap = snapshot_of(policies_zone());
    // eu-only: us clients may only have eu, which is up: an answer.
    Asked a = ask_ecs(snap, "eu-only", "203.0.113.0", 24);
    CHECK(a.addresses == Addresses{"192.0.2.20"});
    CHECK(a.scope == 24);
    // A family without members is NODATA whoever asks: scope 0.
    a = ask_ecs(snap, "app", "198.51.100.0", 24, LDNS_RR_TYPE_AAAA);
    CHECK(a.addresses.empty());
    CHECK(a.scope == 0);
    a = ask_ecs(snap, "to-h", "203.0.113.0", 24, LDNS_RR_TYPE_A);
    CHECK(a.addresses.empty());
    CHECK(a.scope == 0);
    // A hash pool answering AAAA: scope = hashing prefix.
    a = ask_ecs(snap, "to-h", "203.0.113.0", 24, LDNS_RR_TYPE_AAAA);
    CHECK(a.addresses == Addresses{"2001:db8::1"});
    CHECK(a.scope == 24);
}

TEST_CASE("steering answers: a geo pool with nothing in the client's regions falls back") {
    // ap clients may only have ap; take ap out with a region list that leaves it unserved.
    const std::string zone = zone_with(
        R"(  "geo": {"rules": [{"net": "192.0.2.0/24", "region": "ap"}, {"net": "198.51.100.0/24", "region": "eu"}], "default": "eu"})",
        R"(    "none": {"policy": "geo", "fallback": "none", "regions": {"ap": ["ap"]}, "members": [{"address": "192.0.2.20", "region": "eu"}, {"address": "192.0.2.22", "region": "ap", "enabled": false}]},
    "all": {"policy": "geo", "regions": {"ap": ["ap"]}, "members": [{"address": "192.0.2.20", "region": "eu"}, {"address": "192.0.2.21", "region": "eu"}, {"address": "192.0.2.22", "region": "ap", "enabled": false}]},
    "pool": {"policy": "geo", "fallback": "rr", "regions": {"ap": ["ap"]}, "members": [{"address": "192.0.2.20", "region": "eu"}, {"address": "192.0.2.22", "region": "ap", "enabled": false}]},
    "rr": {"members": [{"address": "192.0.2.99"}]})");
    const Snapshot snap = snapshot_of(zone);
    // fallback none: NODATA with the short TTL, valid for the client's region only.
    const Answered none =
        ask(snap, make_query("none.lb.example.test", LDNS_RR_TYPE_A, with_ecs("192.0.2.0", 24)));
    CHECK(ldns_pkt_ancount(none.pkt.get()) == 0);
    REQUIRE(ldns_pkt_nscount(none.pkt.get()) == 1);
    CHECK(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_authority(none.pkt.get()), 0)) == 10);
    CHECK(ecs_of(none, 24).scope == 24);
    CHECK(none.outcome.fallback);
    // eu clients are answered as usual.
    CHECK(ask_ecs(snap, "none", "198.51.100.0", 24).addresses == Addresses{"192.0.2.20"});
    // fallback all: every enabled member, in turn.
    std::set<std::string> all;
    for (int i = 0; i < 4; ++i) {
        const Asked a = ask_ecs(snap, "all", "192.0.2.0", 24);
        CHECK(a.scope == 24);
        all.insert(a.addresses.begin(), a.addresses.end());
    }
    CHECK(all == std::set<std::string>{"192.0.2.20", "192.0.2.21"});
    // fallback to a pool: that pool's answer, still only for the client's region.
    const Asked p = ask_ecs(snap, "pool", "192.0.2.0", 24);
    CHECK(p.addresses == Addresses{"192.0.2.99"});
    CHECK(p.scope == 24);
}

TEST_CASE("steering answers: a CNAME to a client-dependent pool carries its scope") {
    std::string zone = policies_zone();
    const std::string anchor = R"("records": ["ns1 A 192.0.2.53"],)";
    zone.replace(zone.find(anchor), anchor.size(),
                 R"("records": ["ns1 A 192.0.2.53", "docs CNAME h", "where CNAME app"],)");
    const Snapshot snap = snapshot_of(zone);
    const Asked h = ask_ecs(snap, "h", "203.0.113.0", 24);
    const Answered docs =
        ask(snap, make_query("docs.lb.example.test", LDNS_RR_TYPE_A, with_ecs("203.0.113.0", 24)));
    const auto records = rdatas(ldns_pkt_answer(docs.pkt.get()));
    REQUIRE(records.size() == 2);
    CHECK(records[1] == h.addresses[0]);
    CHECK(ecs_of(docs, 24).scope == 24);
    const Answered where = ask(
        snap, make_query("where.lb.example.test", LDNS_RR_TYPE_A, with_ecs("198.51.100.5", 32)));
    CHECK(rdatas(ldns_pkt_answer(where.pkt.get())).back() == "192.0.2.20");
    CHECK(ecs_of(where, 32).scope == 25);
}

TEST_CASE("steering answers: geo with a GeoIP database (country, continent, scope)") {
    if (test_mmdb().empty()) {
        MESSAGE("skipped: libmaxmind-db-writer-perl is missing");
        return;
    }
    const Snapshot snap = snapshot_of(policies_zone(test_mmdb()));
    // 203.0.113.0/24 is US in the test database: country rule, scope = its network, /24.
    Asked a = ask_ecs(snap, "app", "203.0.113.9", 32);
    CHECK(a.addresses == Addresses{"192.0.2.21"});
    CHECK(a.scope == 24);
    // 192.0.2.0/26 is JP: continent AS, ap; the database network (/26) is the scope.
    a = ask_ecs(snap, "app", "192.0.2.9", 32);
    CHECK(a.addresses == Addresses{"192.0.2.22"});
    CHECK(a.scope == 26);
    a = ask_ecs(snap, "app", "192.0.2.0", 24);  // never more than the source
    CHECK(a.scope == 24);
    // 2001:db8:200::/48 is DE: continent EU.
    a = ask_ecs(snap, "app", "2001:db8:200::", 56);
    CHECK(a.addresses == Addresses{"192.0.2.20"});
    CHECK(a.scope == 48);
    // 2001:db8:f000::/36 has a continent and no country: EU.
    a = ask_ecs(snap, "app", "2001:db8:f123::", 48);
    CHECK(a.addresses == Addresses{"192.0.2.20"});
    CHECK(a.scope == 36);
    // 100.64.0.0/10 is BR (SA): no rule, the default (us) with the source prefix.
    a = ask_ecs(snap, "app", "100.64.1.0", 24);
    CHECK(a.addresses == Addresses{"192.0.2.21"});
    CHECK(a.scope == 24);
    // Net rules still come first: 198.51.100.0/25 is FR in the database, eu by net rule.
    a = ask_ecs(snap, "app", "198.51.100.5", 32);
    CHECK(a.addresses == Addresses{"192.0.2.20"});
    CHECK(a.scope == 25);
    // Without ECS: the source address, at full length.
    const Answered src =
        ask_from(snap, make_query("app.lb.example.test", LDNS_RR_TYPE_A), client_at("192.0.2.9"));
    CHECK(rdatas(ldns_pkt_answer(src.pkt.get())) == Addresses{"192.0.2.22"});
}

TEST_CASE("steering compile: weighted inside a region is decided per pool, not per family") {
    // The IPv4 members all weigh 1, but the pool gives a weight (on an IPv6 member): A
    // answers draw by weight as AAAA answers do, instead of rotating.
    const zone::ZonePtr z = compile_json(zone_with(
        R"(  "geo": {"rules": [], "default": "eu"})",
        R"(    "app": {"policy": "geo", "members": [{"address": "192.0.2.1", "region": "eu"}, {"address": "192.0.2.2", "region": "eu"}, {"address": "2001:db8::1", "region": "eu", "weight": 3}]},
    "rr": {"policy": "geo", "members": [{"address": "192.0.2.1", "region": "eu"}, {"address": "2001:db8::1", "region": "eu"}]})"));
    REQUIRE(z);
    CHECK_FALSE(z->pools[0].v4.table.uniform_weight);
    CHECK_FALSE(z->pools[0].v6.table.uniform_weight);
    CHECK(z->pools[1].v4.table.uniform_weight);
    CHECK(z->pools[1].v6.table.uniform_weight);
}
