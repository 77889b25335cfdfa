// The failover budget (issue 14, part 2): how long a dead member lingers, worst case, from the
// zone file alone; "failover_budget" at pool and zone level, which `steerdns check` fails on and
// the server only warns about; and the settings where failing open answers dead members.
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "helpers.h"
#include "steerdns/zone/compile.h"
#include "steerdns/zone/failover.h"
#include "steerdns/zone/zone_spec.h"

using namespace steerdns;
using namespace steerdns::test;

namespace {

// Line 5 is `checks`, line 6 `pools`, line 7 `extra` (zone-level keys, or nothing), so
// columns can be read off the arguments.
std::string zone_with(std::string_view checks, std::string_view pools,
                      std::string_view extra = R"(  "$schema": "x")") {
    return std::string(R"({
  "zone": "fo.example.test.", "ttl": 300,
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1},
  "ns": ["ns1"], "records": ["ns1 A 192.0.2.53"],
)") + std::string(checks) +
           ",\n" + std::string(pools) + ",\n" + std::string(extra) + "\n}\n";
}

zone::ZoneSpec spec_of(const std::string& text) {
    zone::LoadResult loaded = zone::parse_zone_json(text, "z.json");
    for (const zone::Diagnostic& d : loaded.diags) INFO(d.to_string());
    REQUIRE(loaded.ok());
    return std::move(loaded.spec);
}

// What compile says about a zone that loads.
Lines findings(const std::string& text) {
    Lines out;
    for (const zone::Diagnostic& d : zone::compile_zone(spec_of(text)).diags)
        out.push_back(d.to_string());
    return out;
}

std::string summary(const std::string& text, size_t pool = 0) {
    const zone::ZoneSpec spec = spec_of(text);
    REQUIRE(spec.pools.size() > pool);
    return zone::failover_summary(spec.pools[pool], zone::failover_times(spec, spec.pools[pool]));
}

// The issue's example: fall 3, interval 2, timeout 1, rise 2, ttl 30.
constexpr std::string_view kWeb =
    R"(  "checks": {"web": {"type": "tcp", "port": 80, "interval": 2, "timeout": 1, "fall": 3, "rise": 2}})";
constexpr std::string_view kWww =
    R"(  "pools": {"www": {"ttl": 30, "check": "web", "members": [{"address": "192.0.2.10"}, {"address": "192.0.2.11"}]}})";

}  // namespace

TEST_CASE("failover: the worst case is fall x interval + timeout, + ttl; rise x interval + ttl") {
    zone::FailoverTimes t;
    t.probed = 1;
    t.fall = 3;
    t.interval_ms = 2000;
    t.timeout_ms = 1000;
    t.rise = 2;
    t.rise_interval_ms = 2000;
    t.ttl = 30;
    CHECK(t.leave_ms() == 7000);
    CHECK(t.forget_ms() == 37000);
    CHECK(t.recover_ms() == 34000);
    CHECK(t.dominant() == "ttl 30");
    t.ttl = 5;
    CHECK(t.forget_ms() == 12000);
    CHECK(t.dominant() == "fall 3 x interval 2");
    // No overflow at the largest values the loader accepts (fall 100, interval 3600 s, the
    // largest TTL).
    t.fall = 100;
    t.interval_ms = 3600000;
    t.timeout_ms = 3599000;
    t.ttl = 2147483647;
    CHECK(t.forget_ms() == 360000000ULL + 3599000ULL + 2147483647000ULL);
}

TEST_CASE("failover: the per-pool line of steerdns check, in the issue's words") {
    CHECK(summary(zone_with(kWeb, kWww)) ==
          "www: a dead member leaves answers within 7.0 s (fall 3 x interval 2 + timeout 1), "
          "resolvers forget it within 37.0 s (+ ttl 30); a recovered one returns within 34.0 s");
    // The check's defaults (interval 5, timeout 2, fall 3, rise 2) and the zone's TTL.
    CHECK(summary(zone_with(
              R"(  "checks": {"web": {"type": "tcp", "port": 80}})",
              R"(  "pools": {"www": {"check": "web", "members": [{"address": "192.0.2.10"}]}})")) ==
          "www: a dead member leaves answers within 17.0 s (fall 3 x interval 5 + timeout 2), "
          "resolvers forget it within 317.0 s (+ ttl 300); a recovered one returns within 310.0 s");
    // Fractions of a second.
    CHECK(
        summary(zone_with(
            R"(  "checks": {"web": {"type": "tcp", "port": 80, "interval": 0.5, "timeout": 0.25, "fall": 2, "rise": 3}})",
            R"(  "pools": {"www": {"ttl": 0, "check": "web", "members": [{"address": "192.0.2.10"}]}})")) ==
        "www: a dead member leaves answers within 1.2 s (fall 2 x interval 0.5 + timeout 0.25), "
        "resolvers forget it within 1.2 s (+ ttl 0); a recovered one returns within 1.5 s");
}

TEST_CASE("failover: ttl_degraded shortens the return, not the forgetting") {
    zone::FailoverTimes t;
    t.probed = 1;
    t.fall = 3;
    t.interval_ms = 2000;
    t.timeout_ms = 1000;
    t.rise = 2;
    t.rise_interval_ms = 2000;
    t.ttl = 30;
    t.ttl_degraded = 5;
    // Answers holding the dead member were given while all were up: the full ttl.
    CHECK(t.forget_ms() == 37000);
    CHECK(t.dominant() == "ttl 30");
    // Answers without the recovered member were given while it was down: ttl_degraded.
    CHECK(t.recover_ms() == 9000);
    CHECK(
        summary(zone_with(
            kWeb,
            R"(  "pools": {"www": {"ttl": 30, "ttl_degraded": 5, "check": "web", "members": [{"address": "192.0.2.10"}]}})")) ==
        "www: a dead member leaves answers within 7.0 s (fall 3 x interval 2 + timeout 1), "
        "resolvers forget it within 37.0 s (+ ttl 30); a recovered one returns within 9.0 s "
        "(+ ttl_degraded 5)");
}

TEST_CASE("failover: a member's own check counts for it, and the pool shows its worst") {
    // "slow" removes late (fall 5 x 4 + 3 = 23 s); "steady" comes back late (rise 10 x 3 s).
    const std::string text = zone_with(
        R"(  "checks": {"web": {"type": "tcp", "port": 80, "interval": 2, "timeout": 1, "fall": 3, "rise": 2}, "slow": {"type": "tcp", "port": 81, "interval": 4, "timeout": 3, "fall": 5, "rise": 1}, "steady": {"type": "tcp", "port": 82, "interval": 3, "timeout": 1, "fall": 1, "rise": 10}})",
        R"(  "pools": {"www": {"ttl": 30, "check": "web", "members": [{"address": "192.0.2.10"}, {"address": "192.0.2.11", "check": "slow"}, {"address": "192.0.2.12", "check": "steady"}]}})");
    const zone::ZoneSpec spec = spec_of(text);
    const zone::FailoverTimes t = zone::failover_times(spec, spec.pools[0]);
    CHECK(t.probed == 3);
    CHECK(t.unprobed == 0);
    CHECK(t.leave_ms() == 23000);
    CHECK(t.recover_ms() == 60000);
    CHECK(summary(text) ==
          "www: a dead member leaves answers within 23.0 s (fall 5 x interval 4 + timeout 3), "
          "resolvers forget it within 53.0 s (+ ttl 30); a recovered one returns within 60.0 s");
}

TEST_CASE("failover: members nothing probes are never removed, and the line says so") {
    CHECK(summary(zone_with(R"(  "checks": {})",
                            R"(  "pools": {"www": {"members": [{"address": "192.0.2.10"}]}})")) ==
          "www: no health check: a dead member is never removed");
    // A "none" check is no probe.
    CHECK(summary(zone_with(
              R"(  "checks": {"off": {"type": "none"}})",
              R"(  "pools": {"www": {"check": "off", "members": [{"address": "192.0.2.10"}]}})")) ==
          "www: no health check: a dead member is never removed");
    // Some probed, one switched off by its own "none".
    CHECK(
        summary(zone_with(
            std::string(kWeb).substr(0, kWeb.size() - 1) + R"(, "off": {"type": "none"}})",
            R"(  "pools": {"www": {"ttl": 30, "check": "web", "members": [{"address": "192.0.2.10"}, {"address": "192.0.2.11", "check": "off"}]}})")) ==
        "www: a dead member leaves answers within 7.0 s (fall 3 x interval 2 + timeout 1), "
        "resolvers forget it within 37.0 s (+ ttl 30); a recovered one returns within 34.0 s; "
        "1 member has no health check and is never removed");
}

TEST_CASE("failover: a pool over its budget is a located budget problem, and the zone compiles") {
    const std::string text = zone_with(
        kWeb,
        R"(  "pools": {"www": {"ttl": 30, "check": "web", "failover_budget": 20, "members": [{"address": "192.0.2.10"}, {"address": "192.0.2.11"}]}})");
    const zone::CompileResult r = zone::compile_zone(spec_of(text));
    CHECK(r.zone);  // served: an exceeded budget is not a broken zone
    REQUIRE(r.diags.size() == 1);
    CHECK(r.diags[0].severity == zone::Severity::budget);
    CHECK_FALSE(r.diags[0].is_error());
    CHECK(r.diags[0].fails_check());
    CHECK(zone::error_count(r.diags) == 0);
    CHECK(zone::check_problem_count(r.diags) == 1);
    // No "warning: ": `check` fails on it.
    CHECK(r.diags[0].to_string() ==
          "z.json:6:67: pools.www.failover_budget: worst-case failover 37.0 s exceeds the budget "
          "20 s (ttl 30 dominates)");
    // Detection dominating, and a fractional budget.
    CHECK(
        findings(zone_with(
            kWeb,
            R"(  "pools": {"www": {"ttl": 1, "check": "web", "failover_budget": 7.5, "members": [{"address": "192.0.2.10"}, {"address": "192.0.2.11"}]}})")) ==
        Lines{"z.json:6:66: pools.www.failover_budget: worst-case failover 8.0 s exceeds the "
              "budget 7.5 s (fall 3 x interval 2 dominates)"});
    // Within budget (37 s exactly meets 37): nothing to say.
    CHECK(
        findings(
            zone_with(
                kWeb,
                R"(  "pools": {"www": {"ttl": 30, "check": "web", "failover_budget": 37, "members": [{"address": "192.0.2.10"}, {"address": "192.0.2.11"}]}})"))
            .empty());
}

TEST_CASE("failover: the zone's budget covers every pool with a check; a pool's own overrides it") {
    const std::string pools =
        R"(  "pools": {"www": {"ttl": 30, "check": "web", "members": [{"address": "192.0.2.10"}, {"address": "192.0.2.11"}]}, "static": {"members": [{"address": "192.0.2.20"}]}, "api": {"ttl": 30, "check": "web", "failover_budget": 60, "members": [{"address": "192.0.2.30"}, {"address": "192.0.2.31"}]}})";
    // "static" has no check (the zone's budget is for probed pools); "api" allows itself 60.
    CHECK(findings(zone_with(kWeb, pools, R"(  "failover_budget": 20)")) ==
          Lines{"z.json:6:13: pools.www: worst-case failover 37.0 s exceeds the zone's "
                "failover_budget 20 s (ttl 30 dominates)"});
}

TEST_CASE("failover: a budget nothing can meet: no check, or members without one") {
    CHECK(
        findings(zone_with(
            R"(  "checks": {})",
            R"(  "pools": {"www": {"failover_budget": 60, "members": [{"address": "192.0.2.10"}]}})")) ==
        Lines{"z.json:6:40: pools.www.failover_budget: no health check: a dead member is never "
              "removed, so the budget 60 s cannot be met"});
    CHECK(
        findings(zone_with(
            std::string(kWeb).substr(0, kWeb.size() - 1) + R"(, "off": {"type": "none"}})",
            R"(  "pools": {"www": {"ttl": 30, "check": "web", "failover_budget": 60, "members": [{"address": "192.0.2.10"}, {"address": "192.0.2.11", "check": "off"}]}})")) ==
        Lines{"z.json:6:67: pools.www.failover_budget: 1 member has no health check and is "
              "never removed, so the budget 60 s cannot be met for it"});
}

TEST_CASE("failover: the loader reads failover_budget at zone and pool level, in range") {
    const zone::ZoneSpec spec = spec_of(zone_with(
        kWeb,
        R"(  "pools": {"www": {"ttl": 30, "check": "web", "failover_budget": 2.5, "members": [{"address": "192.0.2.10"}]}})",
        R"(  "failover_budget": 90)"));
    REQUIRE(spec.failover_budget);
    CHECK(spec.failover_budget->ms == 90000);
    CHECK(spec.failover_budget->pos.path == "failover_budget");
    REQUIRE(spec.pools[0].failover_budget);
    CHECK(spec.pools[0].failover_budget->ms == 2500);
    CHECK(spec.pools[0].failover_budget->pos.path == "pools.www.failover_budget");

    const auto load_errors = [](const std::string& text) {
        Lines out;
        for (const zone::Diagnostic& d : zone::parse_zone_json(text, "z.json").diags)
            out.push_back(d.to_string());
        return out;
    };
    CHECK(load_errors(zone_with(kWeb, kWww, R"(  "failover_budget": "20")")) ==
          Lines{R"(z.json:7:22: failover_budget: expected a number of seconds, got a string)"});
    CHECK(load_errors(zone_with(kWeb, kWww, R"(  "failover_budget": 0)")) ==
          Lines{"z.json:7:22: failover_budget: failover_budget 0 is out of range (0.1..86400 "
                "seconds)"});
}

TEST_CASE("failover: fallback \"all\" over members that share one check target warns") {
    const std::string shared =
        R"(  "pools": {"www": {"ttl": 30, "check": "web", "members": [{"address": "192.0.2.10", "probe_address": "127.0.0.1"}, {"address": "192.0.2.11", "probe_address": "127.0.0.1"}]}})";
    CHECK(findings(zone_with(kWeb, shared)) ==
          Lines{"z.json:6:20: pools.www.fallback: warning: every member is probed at one target "
                "(127.0.0.1, check \"web\"): when it fails they are all down together and "
                "fallback \"all\" (the default) answers them all again; probe each member "
                "itself, or set fallback \"none\" or another pool"});
    // Written out, the warning is at the fallback.
    std::string written = shared;
    written.replace(written.find(R"("check": "web")"), 14, R"("check": "web", "fallback": "all")");
    CHECK(findings(zone_with(kWeb, written)).size() == 1);
    CHECK(findings(zone_with(kWeb, written))[0].starts_with(
        "z.json:6:60: pools.www.fallback: warning: every member is probed at one target"));
    // Not failing open, or members probed each at its own address: nothing to say.
    std::string none = shared;
    none.replace(none.find(R"("check": "web")"), 14, R"("check": "web", "fallback": "none")");
    CHECK(findings(zone_with(kWeb, none)).empty());
    CHECK(findings(zone_with(kWeb, kWww)).empty());
    // One target, but another check for one member: two targets.
    std::string two = shared;
    two.replace(two.rfind(R"("probe_address")"), 0, R"("check": "other", )");
    CHECK(findings(zone_with(std::string(kWeb).substr(0, kWeb.size() - 1) +
                                 R"(, "other": {"type": "tcp", "port": 81}})",
                             two))
              .empty());
}

TEST_CASE("failover: a weighted pool whose weight-0 members would be the only ones left warns") {
    const std::string canary =
        R"(  "pools": {"canary": {"policy": "weighted", "ttl": 30, "check": "web", "members": [{"address": "192.0.2.10", "weight": 1}, {"address": "192.0.2.11", "weight": 0}]}})";
    CHECK(findings(zone_with(kWeb, canary)) ==
          Lines{"z.json:6:23: pools.canary.fallback: warning: when every IPv4 member with a "
                "weight is down, only weight-0 members are left up and they are never chosen: "
                "fallback \"all\" (the default) then answers the dead members; give the weight-0 "
                "members a weight, or set fallback \"none\" or another pool"});
    // A weighted member nothing probes is always up: weight-0 members are never the only ones.
    std::string unprobed = canary;
    unprobed.replace(unprobed.find(R"("weight": 1)"), 0, R"("check": "off", )");
    CHECK(findings(zone_with(std::string(kWeb).substr(0, kWeb.size() - 1) +
                                 R"(, "off": {"type": "none"}})",
                             unprobed))
              .empty());
    // Another policy ignores weights.
    std::string rr = canary;
    rr.replace(rr.find("weighted"), 8, "round-robin");
    CHECK(findings(zone_with(kWeb, rr)).empty());
}
