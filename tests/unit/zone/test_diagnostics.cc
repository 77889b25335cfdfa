// What `steerdns check` says (issue 13, items 6-10): every problem once, where it is, with no
// follow-on error pointing elsewhere; warnings that leave the zone loadable; the consistency
// checks named-checkzone makes (glue for in-zone name servers, names with the zone name
// twice); and the TTL of health-checked pools.
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "helpers.h"
#include "steerdns/zone/compile.h"
#include "steerdns/zone/zone_spec.h"

using namespace steerdns;
using namespace steerdns::test;

namespace {

// Everything `steerdns check` would say: the loader's problems, else compile's.
Lines problems(std::string_view text) {
    const zone::LoadResult loaded = zone::parse_zone_json(text, "z.json");
    Lines out;
    for (const zone::Diagnostic& d : loaded.diags) out.push_back(d.to_string());
    if (!loaded.ok()) return out;
    for (const zone::Diagnostic& d : zone::compile_zone(loaded.spec).diags)
        out.push_back(d.to_string());
    return out;
}

// Line 4 is `ns_line`, line 5 `records_line`, line 6 `checks_line` and line 7 `pools_line`,
// so that columns can be read off the arguments.
std::string zone_with(std::string_view ns_line, std::string_view records_line,
                      std::string_view checks_line, std::string_view pools_line,
                      std::string_view zone = "md.example.test.") {
    return R"({
  "zone": ")" +
           std::string(zone) +
           R"(", "ttl": 300,
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1},
)" + std::string(ns_line) +
           ",\n" + std::string(records_line) + ",\n" + std::string(checks_line) + ",\n" +
           std::string(pools_line) + "\n}\n";
}

constexpr std::string_view kNs = R"(  "ns": ["ns1"])";
constexpr std::string_view kGlue = R"(  "records": ["ns1 A 192.0.2.53"])";
constexpr std::string_view kNoChecks = R"(  "checks": {})";
constexpr std::string_view kNoPools = R"(  "pools": {})";

}  // namespace

// --- Item 6: a check that failed validation still exists for name resolution ------------

TEST_CASE("diagnostics: an invalid check is reported once, not again where a pool names it") {
    const std::string pools =
        R"(  "pools": {"www": {"check": "web", "ttl": 30, "members": [{"address": "192.0.2.1"}]}})";
    // Before: each of these also gave `pools.www.check: unknown check "web"`.
    CHECK(problems(zone_with(
              kNs, kGlue,
              R"(  "checks": {"web": {"type": "tcp", "port": 80, "timeout": 5, "interval": 2}})",
              pools)) ==
          Lines{"z.json:6:60: checks.web.timeout: timeout 5 must be below interval 2"});
    CHECK(
        problems(
            zone_with(kNs, kGlue, R"(  "checks": {"web": {"type": "htp", "port": 80}})", pools)) ==
        Lines{
            R"(z.json:6:30: checks.web.type: unknown check type "htp" (expected one of: tcp, http, https, exec, none))"});
    CHECK(problems(
              zone_with(kNs, kGlue, R"(  "checks": {"web": {"type": "tcp", "port": 0}})", pools)) ==
          Lines{"z.json:6:45: checks.web.port: port 0 is out of range (1..65535)"});
    CHECK(
        problems(zone_with(
            kNs, kGlue, R"(  "checks": {"web": {"type": "http", "paths": ["healthz"]}})", pools)) ==
        Lines{R"(z.json:6:48: checks.web.paths[0]: bad path "healthz" (must start with "/"))"});
    CHECK(
        problems(zone_with(kNs, kGlue,
                           R"(  "checks": {"web": {"type": "http", "paths": ["/health z"]}})",
                           pools)) ==
        Lines{
            R"(z.json:6:48: checks.web.paths[0]: bad path "/health z" (must have no spaces or control characters))"});
}

TEST_CASE("diagnostics: an invalid check does not get a \"did you mean\" to another one") {
    // Before: `pools.www.check: unknown check "web" (did you mean "web2"?)` as well.
    CHECK(
        problems(zone_with(
            kNs, kGlue,
            R"(  "checks": {"web": {"type": "tcp", "port": 99999}, "web2": {"type": "tcp", "port": 81}})",
            R"(  "pools": {"www": {"check": "web", "ttl": 30, "members": [{"address": "192.0.2.1", "check": "web"}]}})")) ==
        Lines{"z.json:6:45: checks.web.port: port 99999 is out of range (1..65535)"});
    // A name that no check has, valid or not, is still the pool's mistake.
    CHECK(
        problems(zone_with(
            kNs, kGlue, R"(  "checks": {"web2": {"type": "tcp", "port": 81}})",
            R"(  "pools": {"www": {"check": "web", "ttl": 30, "members": [{"address": "192.0.2.1"}]}})")) ==
        Lines{R"(z.json:7:30: pools.www.check: unknown check "web" (did you mean "web2"?))"});
}

TEST_CASE("diagnostics: a typo in the geo default is one error, not one more per member") {
    // Clients land in "ue" (a typo of eu) and every member is in "eu". Before: one more error
    // per member, `unknown region "eu" ... (did you mean "ue"?)`.
    CHECK(
        problems(zone_with(
            kNs, kGlue, R"(  "geo": {"rules": [], "default": "ue"})",
            R"(  "pools": {"app": {"policy": "geo", "members": [{"address": "192.0.2.1", "region": "eu"}, {"address": "192.0.2.2", "region": "eu"}]}})")) ==
        Lines{
            R"(z.json:6:35: geo.default: unknown region "ue": no geo pool has a member in it or a "regions" list for it (did you mean "eu"?))"});
}

// --- Warnings -----------------------------------------------------------------------------

TEST_CASE("diagnostics: a warning says so and leaves the zone loadable") {
    const zone::Diagnostic w{"z.json", {3, 5, "pools.www.ttl"}, "high", zone::Severity::warning};
    CHECK(w.to_string() == "z.json:3:5: pools.www.ttl: warning: high");
    CHECK_FALSE(w.is_error());
    const zone::Diagnostic e{"z.json", {3, 5, "pools.www.ttl"}, "bad"};
    CHECK(e.to_string() == "z.json:3:5: pools.www.ttl: bad");
    CHECK(zone::error_count({w, e, w}) == 1);
    CHECK_FALSE(zone::has_errors({w, w}));

    // A zone whose only findings are warnings compiles.
    const zone::LoadResult loaded = zone::parse_zone_json(
        zone_with(kNs, R"(  "records": ["ns1 A 192.0.2.53", "www CNAME app.md.example.test"])",
                  kNoChecks, kNoPools),
        "z.json");
    REQUIRE(loaded.ok());
    const zone::CompileResult r = zone::compile_zone(loaded.spec);
    CHECK(r.zone);
    REQUIRE(r.diags.size() == 1);
    CHECK_FALSE(r.diags[0].is_error());
}

// --- Item 9: named-checkzone's consistency checks -------------------------------------------

TEST_CASE("diagnostics: an apex name server inside the zone needs an address") {
    // Before: loaded, and the parent's delegation had no glue to copy.
    CHECK(
        problems(zone_with(R"(  "ns": ["ns1", "ns2.example.net."])", R"(  "records": [])",
                           kNoChecks, kNoPools)) ==
        Lines{"z.json:4:10: ns[0]: name server ns1.md.example.test. is inside the zone but has no "
              "A or AAAA record (nor pool): without glue the delegation to this zone cannot be "
              "followed"});
    // An AAAA record, a pool or a name outside the zone will do.
    CHECK(problems(zone_with(kNs, R"(  "records": ["ns1 AAAA 2001:db8::53"])", kNoChecks, kNoPools))
              .empty());
    CHECK(problems(zone_with(kNs, R"(  "records": [])", kNoChecks,
                             R"(  "pools": {"ns1": {"members": [{"address": "192.0.2.53"}]}})"))
              .empty());
    CHECK(problems(zone_with(R"(  "ns": ["ns1.example.net."])", R"(  "records": [])", kNoChecks,
                             kNoPools))
              .empty());
    // A name below a delegation is not the zone's to give an address for, but it is inside
    // the zone's name space: the glue is still this zone's record.
    CHECK(
        problems(zone_with(
                     R"(  "ns": ["ns1", "ns.sub"])",
                     R"(  "records": ["ns1 A 192.0.2.53", "sub NS ns.sub", "ns.sub A 192.0.2.54"])",
                     kNoChecks, kNoPools))
            .empty());
}

TEST_CASE("diagnostics: a name with the zone name twice is a warning with the fix") {
    // Before: silently ns1.md.example.test.md.example.test. and so on.
    CHECK(
        problems(zone_with(
            kNs,
            R"(  "records": ["ns1 A 192.0.2.53", "www CNAME app.md.example.test", "md.example.test MX 10 mx"])",
            kNoChecks, kNoPools)) ==
        Lines{
            R"(z.json:5:35: records[1]: warning: app.md.example.test.md.example.test. has the zone name twice: a name without a final dot is relative to the zone; write "app.md.example.test." or "app")",
            R"(z.json:5:68: records[2]: warning: md.example.test.md.example.test. has the zone name twice: a name without a final dot is relative to the zone; write "md.example.test." or "@")"});
    // In "ns" with an address under the doubled name: a warning (the zone works as written).
    CHECK(
        problems(zone_with(R"(  "ns": ["ns1.md.example.test"])",
                           R"(  "records": ["ns1.md.example.test A 192.0.2.53"])", kNoChecks,
                           kNoPools)) ==
        Lines{
            R"(z.json:4:10: ns[0]: warning: ns1.md.example.test.md.example.test. has the zone name twice: a name without a final dot is relative to the zone; write "ns1.md.example.test." or "ns1")",
            R"(z.json:5:15: records[0]: warning: ns1.md.example.test.md.example.test. has the zone name twice: a name without a final dot is relative to the zone; write "ns1.md.example.test." or "ns1")"});
    // Without one, the missing glue is the same mistake: one error, with the fix.
    CHECK(
        problems(zone_with(R"(  "ns": ["ns1.md.example.test"])", kGlue, kNoChecks, kNoPools)) ==
        Lines{
            R"(z.json:4:10: ns[0]: name server ns1.md.example.test.md.example.test. has the zone name twice: a name without a final dot is relative to the zone; write "ns1.md.example.test." or "ns1"; as written it has no A or AAAA record, so the delegation to this zone cannot be followed)"});
    // Absolute names, and a name that only ends in the zone name once, are fine.
    CHECK(
        problems(
            zone_with(
                R"(  "ns": ["ns1.md.example.test."])",
                R"(  "records": ["ns1 A 192.0.2.53", "www CNAME md.example.test.", "x CNAME md"])",
                kNoChecks, kNoPools))
            .empty());
    // In a zone of one label, "test" in test. is as likely meant as not: no warning.
    CHECK(problems(zone_with(kNs, R"(  "records": ["ns1 A 192.0.2.53", "test A 192.0.2.1"])",
                             kNoChecks, kNoPools, "test."))
              .empty());
}

// --- Item 10: the TTL of health-checked pools ----------------------------------------------

TEST_CASE("diagnostics: a health-checked pool inheriting a long zone TTL gets a warning") {
    // Zone TTL 3600 (the default): line 2 says nothing about a TTL.
    std::string text = zone_with(
        kNs, kGlue, R"(  "checks": {"web": {"type": "tcp", "port": 80}, "off": {"type": "none"}})",
        R"(  "pools": {"www": {"check": "web", "members": [{"address": "192.0.2.1"}]},
    "api": {"members": [{"address": "192.0.2.2", "check": "web"}]},
    "set": {"check": "web", "ttl": 60, "members": [{"address": "192.0.2.3"}]},
    "off": {"check": "off", "members": [{"address": "192.0.2.4"}]},
    "plain": {"members": [{"address": "192.0.2.5"}]}})");
    text.replace(text.find(R"(, "ttl": 300)"), 12, "");
    // Before: no warning at all; resolvers kept a dead member for an hour.
    CHECK(
        problems(text) ==
        Lines{
            "z.json:7:20: pools.www.ttl: warning: 3600 s lets resolvers keep a dead member for an "
            "hour; health-checked pools usually use 30-60",
            "z.json:8:12: pools.api.ttl: warning: 3600 s lets resolvers keep a dead member for an "
            "hour; health-checked pools usually use 30-60"});
    const zone::LoadResult loaded = zone::parse_zone_json(text, "z.json");
    CHECK(zone::compile_zone(loaded.spec).zone);  // warnings only: served

    // Other lengths are said in words; a zone TTL of 300 or less is fine as it is.
    std::string two_hours = text;
    two_hours.replace(two_hours.find(R"("zone")"), 6, R"("ttl": 7200, "zone")");
    CHECK(problems(two_hours).front().find(
              "7200 s lets resolvers keep a dead member for 2 hours") != std::string::npos);
    std::string short_ttl = text;
    short_ttl.replace(short_ttl.find(R"("zone")"), 6, R"("ttl": 300, "zone")");
    CHECK(problems(short_ttl).empty());
}
