#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include "helpers.h"
#include "steerdns/zone/json_positions.h"
#include "steerdns/zone/zone_spec.h"

using namespace steerdns::zone;

namespace {

// Rendered diagnostics, printed one per line by a failed CHECK (helpers.h).
using Lines = steerdns::test::Lines;

Lines problems(std::string_view text) {
    const LoadResult result = parse_zone_json(text, "z.json");
    Lines out;
    for (const Diagnostic& d : result.diags) out.push_back(d.to_string());
    return out;
}

}  // namespace

namespace {

// A valid zone whose line 6 is `pool_line`, so that expected columns can be read off it.
std::string zone_with_pool(std::string_view pool_line) {
    return std::string(R"({
  "zone": "lb.example.test.",
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1},
  "ns": ["ns1"],
  "pools": {
)") + std::string(pool_line) +
           "\n  }\n}\n";
}

// A valid zone whose line 3 is `soa_line` (the "soa" member, without a trailing comma).
std::string zone_with_soa(std::string_view soa_line) {
    return R"({
  "zone": "lb.example.test.",
)" + std::string(soa_line) +
           R"(,
  "ns": ["ns1"]
}
)";
}

// A valid zone with `top_line` (a top-level member, without a trailing comma) as line 2.
std::string zone_with_top(std::string_view top_line) {
    return "{\n" + std::string(top_line) + R"(,
  "zone": "lb.example.test.",
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1},
  "ns": ["ns1"]
}
)";
}

constexpr std::string_view kExample = R"({
  "zone": "lb.example.test.",
  "ttl": 300,
  "soa": { "mname": "ns1", "rname": "hostmaster", "serial": 2026112501,
           "refresh": 3600, "retry": 600, "expire": 1209600, "minimum": 60 },
  "ns": ["ns1", "ns2"],
  "records": [ "ns1 A 127.0.0.1", "static 600 A 192.0.2.100", "@ TXT \"v=spf1 -all\"" ],
  "pools": {
    "www": { "policy": "round-robin", "ttl": 30, "answers": 2,
             "members": [ { "address": "192.0.2.10" }, { "address": "2001:db8::10" } ] }
  }
}
)";

void check_pos(const SourcePos& pos, uint32_t line, uint32_t col, std::string_view path) {
    CHECK(pos.line == line);
    CHECK(pos.col == col);
    CHECK(pos.path == path);
}

}  // namespace

// --- Diagnostic -------------------------------------------------------------------------

namespace {

// Built member by member: brace-initializing a Diagnostic trips a false -Wmaybe-uninitialized
// in g++ 12 at -O2.
std::string rendered(std::string file, uint32_t line, uint32_t col, std::string path) {
    Diagnostic d;
    d.file = std::move(file);
    d.pos.line = line;
    d.pos.col = col;
    d.pos.path = std::move(path);
    d.message = "boom";
    return d.to_string();
}

}  // namespace

TEST_CASE("zone diagnostic: to_string leaves out unknown parts") {
    CHECK(rendered("z.json", 3, 7, "soa.serial") == "z.json:3:7: soa.serial: boom");
    CHECK(rendered("z.json", 3, 7, "") == "z.json:3:7: boom");
    CHECK(rendered("z.json", 0, 0, "") == "z.json: boom");
    CHECK(rendered("z.json", 0, 0, "ns") == "z.json: ns: boom");
    CHECK(rendered("", 0, 0, "") == "boom");
}

// --- Valid files ------------------------------------------------------------------------

TEST_CASE("zone file: loads the documented example with positions") {
    const LoadResult r = parse_zone_json(kExample, "ex.json");
    REQUIRE(r.ok());
    const ZoneSpec& z = r.spec;
    CHECK(z.file == "ex.json");
    CHECK(z.origin.text == "lb.example.test.");
    check_pos(z.origin.pos, 2, 11, "zone");
    CHECK(z.ttl == 300);

    CHECK(z.soa.mname.text == "ns1");
    check_pos(z.soa.mname.pos, 4, 21, "soa.mname");
    CHECK(z.soa.rname.text == "hostmaster");
    CHECK(z.soa.serial == 2026112501u);
    CHECK(z.soa.refresh == 3600);
    CHECK(z.soa.retry == 600);
    CHECK(z.soa.expire == 1209600);
    CHECK(z.soa.minimum == 60);
    check_pos(z.soa.pos, 4, 10, "soa");

    REQUIRE(z.ns.size() == 2);
    CHECK(z.ns[1].text == "ns2");
    check_pos(z.ns[1].pos, 6, 17, "ns[1]");

    REQUIRE(z.records.size() == 3);
    CHECK(z.records[0].text == "ns1 A 127.0.0.1");
    check_pos(z.records[0].pos, 7, 16, "records[0]");
    check_pos(z.records[1].pos, 7, 35, "records[1]");
    CHECK(z.records[2].text == "@ TXT \"v=spf1 -all\"");

    REQUIRE(z.pools.size() == 1);
    const PoolSpec& p = z.pools[0];
    CHECK(p.name.text == "www");
    check_pos(p.name.pos, 9, 5, "pools.www");
    check_pos(p.pos, 9, 12, "pools.www");
    CHECK(p.policy.text == "round-robin");
    check_pos(p.policy.pos, 9, 24, "pools.www.policy");
    CHECK(p.ttl == 30u);
    CHECK(p.answers == 2u);
    CHECK_FALSE(p.check);
    CHECK_FALSE(p.fallback);
    REQUIRE(p.members.size() == 2);
    check_pos(member_pos(p, p.members[0]), 10, 27, "pools.www.members[0]");
    CHECK(p.members[0].address.text == "192.0.2.10");
    check_pos(address_pos(p, p.members[0]), 10, 40, "pools.www.members[0].address");
    CHECK(p.members[1].address.text == "2001:db8::10");
    check_pos(address_pos(p, p.members[1]), 10, 69, "pools.www.members[1].address");
}

TEST_CASE("zone file: defaults, trailing dot and file order of pools") {
    const LoadResult r = parse_zone_json(R"({
  "zone": "lb.example.test",
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 4294967295},
  "ns": ["ns1"],
  "pools": {
    "zz": {"members": [{"address": "192.0.2.1"}]},
    "@": {"policy": "failover", "check": "http", "fallback": "zz",
          "members": [{"address": "192.0.2.1", "enabled": false, "weight": 0,
                       "priority": -1000000, "region": "eu", "check": "tcp",
                       "probe_address": "2001:db8::99"}]},
    "api.eu": {"members": [{"address": "192.0.2.1"}]}
  },
  "checks": {"http": {"type": "http"}, "tcp": {"type": "tcp", "port": 443}}
})",
                                         "z.json");
    REQUIRE(r.ok());
    const ZoneSpec& z = r.spec;
    CHECK(z.origin.text == "lb.example.test.");
    CHECK(z.ttl == 3600);
    CHECK(z.soa.serial == 4294967295u);
    CHECK(z.soa.refresh == 3600);
    CHECK(z.soa.retry == 600);
    CHECK(z.soa.expire == 1209600);
    CHECK(z.soa.minimum == 60);
    CHECK(z.records.empty());

    REQUIRE(z.pools.size() == 3);
    CHECK(z.pools[0].name.text == "zz");
    CHECK(z.pools[1].name.text == "@");
    CHECK(z.pools[2].name.text == "api.eu");
    check_pos(z.pools[2].name.pos, 11, 5, R"(pools["api.eu"])");

    const PoolSpec& zz = z.pools[0];
    CHECK(zz.policy.text == "round-robin");
    CHECK_FALSE(zz.ttl);
    CHECK_FALSE(zz.answers);
    CHECK(zz.members[0].enabled);
    CHECK(zz.members[0].weight == 1);
    CHECK(zz.members[0].priority == 0);
    CHECK_FALSE(zz.members[0].region());

    const PoolSpec& apex = z.pools[1];
    CHECK(apex.policy.text == "failover");
    REQUIRE(apex.check);
    CHECK(apex.check->text() == "http");
    REQUIRE(apex.fallback);
    CHECK(apex.fallback->text == "zz");
    const MemberSpec& m = apex.members[0];
    CHECK_FALSE(m.enabled);
    CHECK(m.weight == 0);
    CHECK(m.priority == -1000000);
    REQUIRE(m.region());
    CHECK(m.region()->text == "eu");
    REQUIRE(m.check());
    CHECK(m.check()->text() == "tcp");
    REQUIRE(m.probe_address());
    CHECK(m.probe_address()->text == "2001:db8::99");
    check_pos(m.probe_address()->pos, 10, 41, "pools[\"@\"].members[0].probe_address");
}

TEST_CASE("zone file: whole numbers written as floats are integers") {
    const LoadResult r = parse_zone_json(zone_with_top(R"(  "ttl": 3e2)"), "z.json");
    REQUIRE(r.ok());
    CHECK(r.spec.ttl == 300);
    const LoadResult r2 = parse_zone_json(zone_with_top(R"(  "ttl": 300.0)"), "z.json");
    REQUIRE(r2.ok());
    CHECK(r2.spec.ttl == 300);
}

TEST_CASE("zone file: escaped keys mean the same key") {
    const LoadResult r = parse_zone_json(zone_with_top(R"(  "\u0074tl": 5)"), "z.json");
    REQUIRE(r.ok());
    CHECK(r.spec.ttl == 5);
}

TEST_CASE("zone file: a byte order mark is skipped and not counted in columns") {
    CHECK(parse_zone_json("\xEF\xBB\xBF" + zone_with_top(R"(  "ttl": 5)"), "z.json").ok());
    CHECK(problems("\xEF\xBB\xBF" + zone_with_top(R"(  "ttl": "5")")) ==
          Lines{"z.json:2:10: ttl: expected an integer, got a string"});
    CHECK(problems("\xEF\xBB\xBF[]") == Lines{"z.json:1:1: expected an object at the top level"});
}

// --- File-level problems ----------------------------------------------------------------

TEST_CASE("zone file: empty file") {
    CHECK(problems("") == Lines{"z.json: empty file"});
    CHECK(problems(" \n\t\r\n") == Lines{"z.json: empty file"});
}

TEST_CASE("zone file: cannot read file") {
    const LoadResult r = load_zone_file("/nonexistent/steerdns/zone.json");
    REQUIRE(r.diags.size() == 1);
    CHECK(r.diags[0].to_string() ==
          "/nonexistent/steerdns/zone.json: cannot read file: No such file or directory");
    const LoadResult dir = load_zone_file("/");
    REQUIRE(dir.diags.size() == 1);
    CHECK(dir.diags[0].to_string() == "/: cannot read file: Is a directory");
}

TEST_CASE("zone file: load_zone_file reads and parses a file") {
    char name[] = "/tmp/steerdns_zone_XXXXXX";
    const int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    close(fd);
    {
        std::ofstream out(name);
        out << zone_with_top(R"(  "ttl": "5")");
    }
    const LoadResult r = load_zone_file(name);
    std::remove(name);
    REQUIRE(r.diags.size() == 1);
    CHECK(r.diags[0].to_string() ==
          std::string(name) + ":2:10: ttl: expected an integer, got a string");
    CHECK(r.spec.file == name);
}

TEST_CASE("zone file: expected an object at the top level") {
    CHECK(problems("[1]") == Lines{"z.json:1:1: expected an object at the top level"});
    CHECK(problems("\n  \"zone\"") == Lines{"z.json:2:3: expected an object at the top level"});
}

// --- JSON syntax ------------------------------------------------------------------------

TEST_CASE("zone file: syntax error at an unexpected character") {
    CHECK(problems("{\n  \"zone\": \"a.\",\n5}\n") ==
          Lines{"z.json:3:1: syntax error while parsing object key - unexpected number literal; "
                "expected string literal"});
}

TEST_CASE("zone file: a trailing comma is named, at the comma") {
    // nlohmann's words were "unexpected '}'; expected string literal", at the bracket.
    CHECK(problems("{\n  \"zone\": \"a.\",\n}\n") ==
          Lines{R"(z.json:2:15: trailing comma before "}")"});
    CHECK(problems("{\"ns\": [\"ns1\",\n   ]}") ==
          Lines{R"(z.json:1:14: trailing comma before "]")"});
    CHECK(problems("{\"ns\": [\"ns1\",]}") == Lines{R"(z.json:1:14: trailing comma before "]")"});
}

TEST_CASE("zone file: a comment is named, where it starts") {
    CHECK(problems("// the lb zone\n{\"zone\": \"a.\"}") ==
          Lines{"z.json:1:1: comments are not allowed in JSON"});
    CHECK(problems("{\n  \"zone\": \"a.\", // the apex\n  \"ttl\": 5\n}") ==
          Lines{"z.json:2:17: comments are not allowed in JSON"});
    CHECK(problems("{\n  \"ttl\": 5 /* seconds */\n}") ==
          Lines{"z.json:2:12: comments are not allowed in JSON"});
    // Slashes inside a string are text.
    for (const std::string& line : problems("{\"zone\": \"a.\", \"x\": \"//\"}"))
        CHECK(line.find("comment") == std::string::npos);
}

TEST_CASE("zone file: syntax error points at the start of an unexpected token") {
    // A missing comma: nlohmann stops at the closing quote of "ttl".
    CHECK(problems("{\n  \"zone\": \"a.\"\n  \"ttl\": 5\n}\n") ==
          Lines{"z.json:3:3: syntax error while parsing object - unexpected string literal; "
                "expected '}'"});
    CHECK(problems("{\"a\\\"b\": 1 \"x\\\\\": 2}") ==
          Lines{"z.json:1:12: syntax error while parsing object - unexpected string literal; "
                "expected '}'"});
    CHECK(problems("{\"ttl\": 300 400}") ==
          Lines{"z.json:1:13: syntax error while parsing object - unexpected number literal; "
                "expected '}'"});
    CHECK(problems("{\"ttl\": 300 true}") ==
          Lines{"z.json:1:13: syntax error while parsing object - unexpected true literal; "
                "expected '}'"});
}

TEST_CASE("zone file: syntax error at the end of input") {
    CHECK(problems("{\n  \"zone\": \"a.\",\n") ==
          Lines{"z.json:3:1: syntax error while parsing object key - unexpected end of input; "
                "expected string literal"});
    CHECK(problems("{\"zone\": \"a.") ==
          Lines{"z.json:1:13: syntax error while parsing value - invalid string: missing closing "
                "quote; last read: '\"a.'"});
}

TEST_CASE("zone file: syntax error for an unquoted string") {
    CHECK(problems("{\n  \"policy\": round-robin\n}") ==
          Lines{"z.json:2:13: syntax error while parsing value - invalid literal; last read: "
                "'\"policy\": r'"});
}

TEST_CASE("zone file: syntax error inside a string") {
    CHECK(
        problems("{\"zone\": \"a\tb\"}") ==
        Lines{"z.json:1:12: syntax error while parsing value - invalid string: control "
              "character U+0009 (HT) must be escaped to \\u0009 or \\t; last read: '\"a<U+0009>'"});
}

TEST_CASE("zone file: number overflow") {
    CHECK(problems("{\n  \"ttl\": 1e999\n}") ==
          Lines{"z.json:2:10: number overflow parsing '1e999'"});
}

// --- Keys -------------------------------------------------------------------------------

TEST_CASE("zone file: unknown key with a suggestion") {
    CHECK(problems(zone_with_top(R"(  "tl": 5)")) ==
          Lines{R"(z.json:2:3: tl: unknown key "tl" (did you mean "ttl"?))"});
    CHECK(problems(zone_with_top(R"(  "TTL": 5)")) ==
          Lines{R"(z.json:2:3: TTL: unknown key "TTL" (did you mean "ttl"?))"});
    CHECK(problems(zone_with_top(R"(  "recrods": [])")) ==
          Lines{R"(z.json:2:3: recrods: unknown key "recrods" (did you mean "records"?))"});
    CHECK(problems(zone_with_pool(
              R"(    "www": {"polcy": "all", "members": [{"address": "192.0.2.1"}]})")) ==
          Lines{R"(z.json:6:13: pools.www.polcy: unknown key "polcy" (did you mean "policy"?))"});
    CHECK(
        problems(zone_with_pool(
            R"(    "www": {"members": [{"adress": "192.0.2.1", "address": "192.0.2.1"}]})")) ==
        Lines{
            R"(z.json:6:26: pools.www.members[0].adress: unknown key "adress" (did you mean "address"?))"});
    CHECK(problems(
              zone_with_soa(R"(  "soa": {"mname": "a", "rname": "b", "serial": 1, "retyr": 5})")) ==
          Lines{R"(z.json:3:52: soa.retyr: unknown key "retyr" (did you mean "retry"?))"});
}

TEST_CASE("zone file: unknown key without a close match") {
    CHECK(
        problems(zone_with_top(R"(  "probes": {})")) ==
        Lines{
            R"(z.json:2:3: probes: unknown key "probes" (expected one of: zone, ttl, soa, ns, records, checks, geo, failover_budget, pools, notify, dnssec, $schema))"});
    // One edit is too many for a key of three letters or fewer.
    CHECK(
        problems(zone_with_top(R"(  "t": 5)")) ==
        Lines{
            R"(z.json:2:3: t: unknown key "t" (expected one of: zone, ttl, soa, ns, records, checks, geo, failover_budget, pools, notify, dnssec, $schema))"});
    CHECK(
        problems(
            zone_with_pool(R"(    "www": {"geo": {}, "members": [{"address": "192.0.2.1"}]})")) ==
        Lines{
            R"(z.json:6:13: pools.www.geo: unknown key "geo" (expected one of: policy, ttl, ttl_degraded, answers, check, require, fallback, failover_budget, regions, failback, members))"});
    CHECK(
        problems(zone_with_pool(R"(    "www": {"members": [{"address": "192.0.2.1", "x": 1}]})")) ==
        Lines{
            R"(z.json:6:50: pools.www.members[0].x: unknown key "x" (expected one of: address, enabled, weight, priority, region, check, require, probe_address, maintenance, damping))"});
}

TEST_CASE("zone file: duplicate key") {
    CHECK(problems(zone_with_top(R"(  "ttl": 5, "ttl": 6)")) ==
          Lines{R"(z.json:2:13: ttl: duplicate key "ttl")"});
    CHECK(
        problems(zone_with_pool(
            R"(    "www": {"members": [{"address": "192.0.2.1"}]}, "www": {"members": [{"address": "192.0.2.1"}]})")) ==
        Lines{R"(z.json:6:53: pools.www: duplicate key "www")"});
    // The same key under two objects is fine, even when they are repeats of one key.
    CHECK(problems(zone_with_top(R"(  "records": [{"a": 1}, {"a": 1}])")) ==
          Lines{"z.json:2:15: records[0]: expected a string, got an object",
                "z.json:2:25: records[1]: expected a string, got an object"});
}

TEST_CASE("zone file: missing required key") {
    CHECK(problems("{}") == Lines{R"(z.json:1:1: zone: missing required key "zone")",
                                  R"(z.json:1:1: soa: missing required key "soa")",
                                  R"(z.json:1:1: ns: missing required key "ns")"});
    CHECK(problems(zone_with_soa(R"(  "soa": {"mname": "a", "rname": "b"})")) ==
          Lines{R"(z.json:3:10: soa.serial: missing required key "serial")"});
    CHECK(problems(zone_with_pool(R"(    "www": {"ttl": 5})")) ==
          Lines{R"(z.json:6:12: pools.www.members: missing required key "members")"});
    CHECK(problems(zone_with_pool(R"(    "www": {"members": [{"weight": 5}]})")) ==
          Lines{R"(z.json:6:25: pools.www.members[0].address: missing required key "address")"});
}

// --- Types and ranges -------------------------------------------------------------------

TEST_CASE("zone file: expected an integer, got a string") {
    CHECK(problems(zone_with_top(R"(  "ttl": "300")")) ==
          Lines{"z.json:2:10: ttl: expected an integer, got a string"});
}

TEST_CASE("zone file: expected an integer, got a fraction") {
    CHECK(problems(zone_with_top(R"(  "ttl": 1.5)")) ==
          Lines{"z.json:2:10: ttl: expected an integer, got 1.5"});
    CHECK(problems(zone_with_pool(
              R"(    "www": {"members": [{"address": "192.0.2.1", "weight": -2.5e-1}]})")) ==
          Lines{"z.json:6:60: pools.www.members[0].weight: expected an integer, got -2.5e-1"});
}

TEST_CASE("zone file: expected a string, got a number") {
    CHECK(problems(zone_with_soa(R"(  "soa": {"mname": 5, "rname": "b", "serial": 1})")) ==
          Lines{"z.json:3:20: soa.mname: expected a string, got a number"});
    CHECK(problems(
              R"({"zone": null, "soa": {"mname": "a", "rname": "b", "serial": 1}, "ns": ["a"]})") ==
          Lines{"z.json:1:10: zone: expected a string, got null"});
}

TEST_CASE("zone file: expected an object") {
    CHECK(problems(zone_with_soa(R"(  "soa": [])")) ==
          Lines{"z.json:3:10: soa: expected an object, got an array"});
    CHECK(problems(zone_with_pool(R"(    "www": true)")) ==
          Lines{"z.json:6:12: pools.www: expected an object, got a boolean"});
    CHECK(problems(zone_with_pool(R"(    "www": {"members": ["192.0.2.1"]})")) ==
          Lines{"z.json:6:25: pools.www.members[0]: expected an object, got a string"});
}

TEST_CASE("zone file: expected an array") {
    CHECK(problems(zone_with_top(R"(  "records": "a A 192.0.2.1")")) ==
          Lines{"z.json:2:14: records: expected an array, got a string"});
}

TEST_CASE("zone file: expected true or false") {
    CHECK(
        problems(zone_with_pool(
            R"(    "www": {"members": [{"address": "192.0.2.1", "enabled": "no"}]})")) ==
        Lines{
            R"(z.json:6:61: pools.www.members[0].enabled: expected true or false, got a string)"});
}

TEST_CASE("zone file: integer out of range") {
    CHECK(problems(zone_with_top(R"(  "ttl": 4294967296)")) ==
          Lines{"z.json:2:10: ttl: ttl 4294967296 is out of range (0..2147483647)"});
    CHECK(problems(zone_with_top(R"(  "ttl": -1)")) ==
          Lines{"z.json:2:10: ttl: ttl -1 is out of range (0..2147483647)"});
    CHECK(problems(zone_with_top(R"(  "ttl": 123456789012345678901234567890)")) ==
          Lines{"z.json:2:10: ttl: ttl 123456789012345678901234567890 is out of range "
                "(0..2147483647)"});
    CHECK(
        problems(zone_with_soa(R"(  "soa": {"mname": "a", "rname": "b", "serial": 4294967296})")) ==
        Lines{"z.json:3:49: soa.serial: serial 4294967296 is out of range (0..4294967295)"});
    CHECK(problems(zone_with_pool(
              R"(    "www": {"answers": 0, "members": [{"address": "192.0.2.1"}]})")) ==
          Lines{"z.json:6:24: pools.www.answers: answers 0 is out of range (1..64)"});
    CHECK(problems(zone_with_pool(
              R"(    "www": {"members": [{"address": "192.0.2.1", "priority": -1000001}]})")) ==
          Lines{"z.json:6:62: pools.www.members[0].priority: priority -1000001 is out of range "
                "(-1000000..1000000)"});
    CHECK(
        problems(zone_with_pool(
            R"(    "www": {"members": [{"address": "192.0.2.1", "weight": 1e7}]})")) ==
        Lines{"z.json:6:60: pools.www.members[0].weight: weight 1e7 is out of range (0..1000000)"});
}

// --- Values -----------------------------------------------------------------------------

TEST_CASE("zone file: bad zone name") {
    const auto bad = [](std::string_view name) {
        const std::string text =
            R"({"zone": )" + std::string(name) +
            R"(, "soa": {"mname": "a", "rname": "b", "serial": 1}, "ns": ["a"]})";
        return problems(text);
    };
    CHECK(bad(R"("a..b")") == Lines{R"(z.json:1:10: zone: bad zone name "a..b" (empty label))"});
    CHECK(bad(R"("a b.")") ==
          Lines{R"(z.json:1:10: zone: bad zone name "a b." (contains a space))"});
    CHECK(bad(R"("a\tb")") ==
          Lines{R"(z.json:1:10: zone: bad zone name "a\u0009b" (contains a control character))"});
    CHECK(bad(R"("")") == Lines{R"(z.json:1:10: zone: bad zone name "" (empty))"});
    CHECK(bad(R"(".a")") == Lines{R"(z.json:1:10: zone: bad zone name ".a" (empty label))"});
    const std::string long_label(64, 'x');
    CHECK(bad('"' + long_label + ".test\"") ==
          Lines{"z.json:1:10: zone: bad zone name \"" + long_label +
                ".test\" (label longer than 63 characters)"});
    std::string long_name;
    for (int i = 0; i < 4; ++i) long_name += std::string(63, 'x') + ".";
    CHECK(bad('"' + long_name + '"') == Lines{"z.json:1:10: zone: bad zone name \"" + long_name +
                                              "\" (longer than 253 characters)"});
    CHECK(bad(R"(".")").empty());
    CHECK(bad('"' + std::string(63, 'x') + ".test.\"").empty());
}

TEST_CASE("zone file: unknown policy") {
    CHECK(
        problems(zone_with_pool(
            R"(    "www": {"policy": "random", "members": [{"address": "192.0.2.1"}]})")) ==
        Lines{
            R"(z.json:6:23: pools.www.policy: unknown policy "random" (expected one of: round-robin, weighted, failover, hash, geo, all))"});
}

TEST_CASE("zone file: not an IPv4 or IPv6 address") {
    CHECK(
        problems(zone_with_pool(R"(    "www": {"members": [{"address": "192.0.2.300"}]})")) ==
        Lines{
            R"(z.json:6:37: pools.www.members[0].address: "192.0.2.300" is not an IPv4 or IPv6 address)"});
    CHECK(
        problems(zone_with_pool(R"(    "www": {"members": [{"address": "192.0.2.1\u0000"}]})")) ==
        Lines{
            R"(z.json:6:37: pools.www.members[0].address: "192.0.2.1\u0000" is not an IPv4 or IPv6 address)"});
    CHECK(
        problems(zone_with_pool(
            R"(    "www": {"members": [{"address": "192.0.2.1", "probe_address": "fe80::1%eth0"}]})")) ==
        Lines{
            R"(z.json:6:67: pools.www.members[0].probe_address: "fe80::1%eth0" is not an IPv4 or IPv6 address)"});
}

TEST_CASE("zone file: a pool at a wildcard owner; * elsewhere in a pool name is refused") {
    const auto pool = [](std::string_view name) {
        return problems(zone_with_pool("    " + std::string(name) +
                                       R"(: {"members": [{"address": "192.0.2.1"}]})"));
    };
    CHECK(pool(R"("*.cdn")").empty());
    CHECK(pool(R"("*.edge.cdn")").empty());
    CHECK(pool(R"("*.cdn.lb.example.test.")").empty());
    CHECK(
        pool(R"("a.*.cdn")") ==
        Lines{
            R"(z.json:6:5: pools["a.*.cdn"]: bad pool name "a.*.cdn": "*" is a wildcard only as the whole leftmost label ("*.cdn"))"});
    CHECK(
        pool(R"("x*.cdn")") ==
        Lines{
            R"(z.json:6:5: pools["x*.cdn"]: bad pool name "x*.cdn": "*" is a wildcard only as the whole leftmost label ("*.cdn"))"});
    CHECK(pool(R"("*.*.cdn")").size() == 1);
}

TEST_CASE("zone file: duplicate member") {
    CHECK(
        problems(zone_with_pool(
            R"(    "www": {"members": [{"address": "2001:db8::1"}, {"address": "192.0.2.1"}, {"address": "2001:DB8:0::1"}]})")) ==
        Lines{"z.json:6:91: pools.www.members[2].address: duplicate member 2001:DB8:0::1 (first at "
              "line 6:37)"});
    // Other pools may use the same address.
    CHECK(
        problems(
            zone_with_pool(
                R"(    "a": {"members": [{"address": "192.0.2.1"}]}, "b": {"members": [{"address": "192.0.2.1"}]})"))
            .empty());
}

TEST_CASE("zone file: expected at least one name server") {
    CHECK(
        problems(R"({"zone": "a.", "soa": {"mname": "a", "rname": "b", "serial": 1}, "ns": []})") ==
        Lines{"z.json:1:72: ns: expected at least one name server"});
}

TEST_CASE("zone file: expected at least one member") {
    CHECK(problems(zone_with_pool(R"(    "www": {"members": []})")) ==
          Lines{"z.json:6:24: pools.www.members: expected at least one member"});
}

TEST_CASE("zone file: bad pool name") {
    CHECK(problems(zone_with_pool(R"(    "a b": {"members": [{"address": "192.0.2.1"}]})")) ==
          Lines{R"(z.json:6:5: pools["a b"]: bad pool name "a b")"});
    const auto bad = [](std::string_view name) {
        return problems(zone_with_pool("    " + std::string(name) +
                                       R"(: {"members": [{"address": "192.0.2.1"}]})"));
    };
    CHECK(bad(R"("")") == Lines{R"(z.json:6:5: pools[""]: bad pool name "")"});
    CHECK(bad(R"("a..b")") == Lines{R"(z.json:6:5: pools["a..b"]: bad pool name "a..b")"});
    CHECK(bad(R"("*")") == Lines{R"(z.json:6:5: pools["*"]: bad pool name "*")"});
    CHECK(bad(R"(".")") == Lines{R"(z.json:6:5: pools["."]: bad pool name ".")"});
    CHECK(bad(R"("@.x")") == Lines{R"(z.json:6:5: pools["@.x"]: bad pool name "@.x")"});
    CHECK(bad('"' + std::string(64, 'x') + '"') ==
          Lines{"z.json:6:5: pools." + std::string(64, 'x') + ": bad pool name \"" +
                std::string(64, 'x') + "\""});
    CHECK(bad(R"("@")").empty());
    CHECK(bad(R"("_sip._tcp")").empty());
    CHECK(bad(R"("www.lb.example.test.")").empty());
}

TEST_CASE("zone file: quoted keys in paths") {
    CHECK(problems(zone_with_pool(
              R"(    "api.eu": {"ttl": -5, "members": [{"address": "192.0.2.1"}]})")) ==
          Lines{R"(z.json:6:23: pools["api.eu"].ttl: ttl -5 is out of range (0..2147483647))"});
}

TEST_CASE("zone file: every problem is reported, in file order") {
    const std::string text = R"({
  "zone": "lb.example.test.",
  "ttl": "x",
  "soa": {"mname": "ns1", "rname": "hostmaster"},
  "ns": ["ns1", 2],
  "pools": {
    "b": {"policy": "rr", "members": [{"address": "x"}, {"address": "192.0.2.1", "weight": -1}]},
    "a": {"members": [{"address": "192.0.2.1"}, {"address": "192.0.2.1", "enabled": 1}]}
  }
})";
    CHECK(
        problems(text) ==
        Lines{
            "z.json:3:10: ttl: expected an integer, got a string",
            R"(z.json:4:10: soa.serial: missing required key "serial")",
            "z.json:5:17: ns[1]: expected a string, got a number",
            R"(z.json:7:21: pools.b.policy: unknown policy "rr" (expected one of: round-robin, weighted, failover, hash, geo, all))",
            R"(z.json:7:51: pools.b.members[0].address: "x" is not an IPv4 or IPv6 address)",
            "z.json:7:92: pools.b.members[1].weight: weight -1 is out of range (0..1000000)",
            "z.json:8:61: pools.a.members[1].address: duplicate member 192.0.2.1 (first at line "
            "8:35)",
            "z.json:8:85: pools.a.members[1].enabled: expected true or false, got a number"});
}

// --- Positions scanner ------------------------------------------------------------------

namespace {

// The node at `path` that nlohmann would keep. Linear in the tree size: fine for tests.
const JsonPositions::Node* find_node(const JsonPositions& pos, std::string_view path) {
    for (JsonPositions::NodeId id = 0; id < pos.size(); ++id) {
        if (pos.path(id) != path) continue;
        bool kept = true;
        for (auto a = id; a != JsonPositions::kNone; a = pos.node(a).parent) {
            kept = kept && !pos.node(a).superseded;
        }
        if (kept) return &pos.node(id);
    }
    return nullptr;
}

std::pair<uint32_t, uint32_t> line_col(const JsonPositions& pos, std::string_view path) {
    const JsonPositions::Node* n = find_node(pos, path);
    REQUIRE(n != nullptr);
    return {n->value.line, n->value.col};
}

}  // namespace

TEST_CASE("zone json positions: paths and positions of every value") {
    const std::string text = "{\"a\": [1, {\"b c\": \"x\"}],\n \"d\\\"\": {\"\\u00e9\": true}}";
    const JsonPositions pos = JsonPositions::scan(text);
    REQUIRE(pos.size() == 7);
    CHECK(line_col(pos, "") == std::pair{1u, 1u});
    CHECK(line_col(pos, "a") == std::pair{1u, 7u});
    CHECK(line_col(pos, "a[0]") == std::pair{1u, 8u});
    CHECK(line_col(pos, "a[1]") == std::pair{1u, 11u});
    CHECK(line_col(pos, R"(a[1]["b c"])") == std::pair{1u, 19u});
    CHECK(line_col(pos, R"(["d\""])") == std::pair{2u, 9u});
    CHECK(line_col(pos, "[\"d\\\"\"][\"\xC3\xA9\"]") == std::pair{2u, 20u});
    CHECK(find_node(pos, "a")->key.col == 2);
    CHECK(find_node(pos, "a[0]")->key.line == 0);
    CHECK(find_node(pos, "a")->is_array);
    CHECK(find_node(pos, "a[1]")->is_object);
    CHECK(pos.duplicate_keys().empty());
}

TEST_CASE("zone json positions: children are linked in file order") {
    const JsonPositions pos = JsonPositions::scan(R"({"z": 1, "a": 2, "m": [3, 4]})");
    std::string keys;
    for (auto c = pos.node(pos.root()).first_child; c != JsonPositions::kNone;
         c = pos.node(c).next_sibling) {
        keys += pos.node(c).key_text;
    }
    CHECK(keys == "zam");
    CHECK(pos.path(pos.size() - 1) == "m[1]");
}

TEST_CASE("zone json positions: surrogate pairs decode like nlohmann") {
    const JsonPositions pos = JsonPositions::scan(R"({"\ud83d\ude00": 1})");
    CHECK(find_node(pos, "[\"\xF0\x9F\x98\x80\"]") != nullptr);
}

TEST_CASE("zone json positions: duplicates only within one object") {
    const JsonPositions pos =
        JsonPositions::scan(R"({"x": {"k": 1}, "x": {"k": 2, "k": 3}, "y": [{"k": 1}, {"k": 1}]})");
    const auto& dups = pos.duplicate_keys();
    REQUIRE(dups.size() == 2);
    CHECK(pos.node(dups[0].member).key_text == "x");
    CHECK(pos.node(dups[0].member).key.col == 17);
    CHECK(pos.node(dups[0].first).key.col == 2);
    CHECK(pos.path(pos.node(dups[0].member).parent) == "");
    CHECK(pos.node(dups[1].member).key_text == "k");
    CHECK(pos.node(dups[1].member).key.col == 31);
    CHECK(pos.path(pos.node(dups[1].member).parent) == "x");
    // The last occurrence is the one that is not superseded, as in nlohmann.
    CHECK(line_col(pos, "x.k") == std::pair{1u, 36u});
}

TEST_CASE("zone json positions: duplicates in a large object") {
    std::string text = "{";
    for (int i = 0; i < 1000; ++i) text += "\"k" + std::to_string(i) + "\": 1, ";
    text += "\"k7\": 2, \"k999\": 3}";
    const JsonPositions pos = JsonPositions::scan(text);
    REQUIRE(pos.duplicate_keys().size() == 2);
    CHECK(pos.node(pos.duplicate_keys()[0].member).key_text == "k7");
    CHECK(pos.node(pos.duplicate_keys()[1].member).key_text == "k999");
}

TEST_CASE("zone json positions: deep nesting does not recurse") {
    const size_t depth = 200000;
    const std::string text = std::string(depth, '[') + std::string(depth, ']');
    const JsonPositions pos = JsonPositions::scan(text);
    CHECK(pos.size() == depth);
    CHECK(pos.path(2) == "[0][0]");
}

TEST_CASE("zone json positions: text_pos_at") {
    CHECK(text_pos_at("ab\ncd", 4).line == 2);
    CHECK(text_pos_at("ab\ncd", 4).col == 2);
    CHECK(text_pos_at("ab\ncd", 5).col == 3);  // the end of input
    CHECK(text_pos_at("ab\n", 3).line == 2);
    CHECK(text_pos_at("ab\n", 3).col == 1);
}

// --- Scale ------------------------------------------------------------------------------

TEST_CASE("zone file: 100000 members load quickly") {
    std::string text = R"({
  "zone": "lb.example.test.",
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1},
  "ns": ["ns1"],
  "pools": {"big": {"policy": "weighted", "members": [
)";
    constexpr int kMembers = 100000;
    for (int i = 0; i < kMembers; ++i) {
        text += "    {\"address\": \"10." + std::to_string(i >> 16) + "." +
                std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255) +
                "\", \"weight\": " + std::to_string(i % 100) + "}";
        text += i + 1 < kMembers ? ",\n" : "\n";
    }
    text += "  ]}}\n}\n";

    const auto start = std::chrono::steady_clock::now();
    const LoadResult r = parse_zone_json(text, "big.json");
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    MESSAGE("100000 members (" << text.size() << " bytes) loaded in " << ms << " ms");
    REQUIRE(r.ok());
    REQUIRE(r.spec.pools.size() == 1);
    REQUIRE(r.spec.pools[0].members.size() == kMembers);
    CHECK(r.spec.pools[0].members[kMembers - 1].address.text == "10.1.134.159");
    CHECK(r.spec.pools[0].members[kMembers - 1].pos.line == kMembers + 5);
}

// --- notify -----------------------------------------------------------------------------

TEST_CASE("zone file: notify is a program with placeholders, checked where written") {
    const LoadResult ok = parse_zone_json(
        zone_with_top(
            R"(  "notify": ["/usr/local/bin/on-change", "{zone}", "{pool}", "{address}", "{state}", "{reason}", "--x={zone}/{pool}", "${HOME}", "{}"])"),
        "z.json");
    CHECK(ok.ok());
    CHECK(ok.spec.notify == std::vector<std::string>{"/usr/local/bin/on-change", "{zone}", "{pool}",
                                                     "{address}", "{state}", "{reason}",
                                                     "--x={zone}/{pool}", "${HOME}", "{}"});
    CHECK(parse_zone_json(zone_with_top(R"(  "ttl": 5)"), "z.json").spec.notify.empty());
    CHECK(problems(zone_with_top(R"(  "notify": ["/bin/n", "{stat}"])")) ==
          Lines{R"(z.json:2:24: notify[1]: unknown placeholder {stat} (did you mean {state}?))"});
    CHECK(problems(zone_with_top(R"(  "notify": ["/bin/n", "x{when}"])")) ==
          Lines{"z.json:2:24: notify[1]: unknown placeholder {when} (placeholders: {zone}, "
                "{pool}, {address}, {state}, {reason})"});
    CHECK(problems(zone_with_top(R"(  "notify": [])")) ==
          Lines{"z.json:2:13: notify: expected the program and its arguments"});
    CHECK(problems(zone_with_top(R"(  "notify": "/bin/n")")) ==
          Lines{"z.json:2:13: notify: expected an array, got a string"});
    CHECK(problems(zone_with_top(R"(  "notify": ["", "{zone}"])")) ==
          Lines{"z.json:2:14: notify[0]: the program is empty"});
    CHECK(problems(zone_with_top(R"(  "notfy": ["/bin/n"])")) ==
          Lines{R"(z.json:2:3: notfy: unknown key "notfy" (did you mean "notify"?))"});
}
