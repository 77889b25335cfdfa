// What `steerdns check` says about composite checks (issue 15): "check" as a list of check
// names with "require"; every problem once, located where it is. A file of its own: beside the
// other diagnostics, g++ 12 at -O3 sees a false -Wmaybe-uninitialized in them.
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

}  // namespace

// --- Composite checks (issue 15): "check" as a list, "require" --------------------------

TEST_CASE("diagnostics: a composite check's list and require, each problem where it is") {
    const std::string checks =
        R"(  "checks": {"web": {"type": "tcp", "port": 80}, "api": {"type": "tcp", "port": 81}})";
    const auto pools = [](std::string_view pool) {
        return R"(  "pools": {"www": {)" + std::string(pool) +
               R"(, "members": [{"address": "192.0.2.1"}]}})";
    };
    CHECK(problems(zone_with(kNs, kGlue, checks, pools(R"("check": ["web", "api"])"))).empty());
    CHECK(problems(
              zone_with(kNs, kGlue, checks, pools(R"("check": ["web", "api"], "require": "any")")))
              .empty());
    CHECK(problems(zone_with(kNs, kGlue, checks, pools(R"("check": ["web", "apl"])"))) ==
          Lines{R"(z.json:7:38: pools.www.check[1]: unknown check "apl" (did you mean "api"?))"});
    CHECK(problems(zone_with(kNs, kGlue, checks, pools(R"("check": ["web", "web"])"))) ==
          Lines{R"(z.json:7:38: pools.www.check[1]: duplicate check "web" (first at line 7:31))"});
    CHECK(problems(zone_with(kNs, kGlue, checks, pools(R"("check": [])"))) ==
          Lines{"z.json:7:30: pools.www.check: expected at least one check name"});
    CHECK(problems(
              zone_with(kNs, kGlue, checks, pools(R"("check": ["web", "api"], "require": 3)"))) ==
          Lines{"z.json:7:57: pools.www.require: require 3 is out of range (1..2)"});
    CHECK(
        problems(zone_with(kNs, kGlue, checks,
                           pools(R"("check": ["web", "api"], "require": "most")"))) ==
        Lines{
            R"(z.json:7:57: pools.www.require: bad require "most" (expected "all", "any" or a number of checks))"});
    CHECK(
        problems(zone_with(kNs, kGlue, checks, pools(R"("check": "web", "require": "any")"))) ==
        Lines{
            R"(z.json:7:48: pools.www.require: "require" applies only to a list of checks ("check": ["web", "api"]))"});
    CHECK(
        problems(zone_with(
            kNs, kGlue,
            R"(  "checks": {"web": {"type": "tcp", "port": 80}, "off": {"type": "none"}})",
            pools(R"("check": ["web", "off"])"))) ==
        Lines{
            R"(z.json:7:38: pools.www.check[1]: check "off" is of type none: each check of a list must probe)"});
}
