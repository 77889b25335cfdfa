// Health: the flap filter, the "checks" object of zone files and its references, probe slots
// across reloads, and answers with members down (eligible members, round robin among the up
// ones, each fallback), using a registry whose table the test writes by hand.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "helpers.h"
#include "steerdns/health/flap_filter.h"
#include "steerdns/health/registry.h"
#include "steerdns/lb/eligible.h"
#include "steerdns/lb/policy.h"
#include "steerdns/zone/compile.h"
#include "steerdns/zone/zone_spec.h"

using namespace steerdns;
using health::FlapFilter;
using health::State;

namespace {

// Printed one per line by a failed CHECK (helpers.h).
using HLines = test::Lines;

HLines problems(std::string_view text) {
    const zone::LoadResult result = zone::parse_zone_json(text, "z.json");
    HLines out;
    for (const zone::Diagnostic& d : result.diags) out.push_back(d.to_string());
    return out;
}

// A zone whose line 5 is `checks_line` (a "checks" member) and line 6 `pools_line` (a
// "pools" member), so expected columns can be read off them.
std::string zone_with(std::string_view checks_line, std::string_view pools_line) {
    return std::string(R"({
  "zone": "lb.example.test.",
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1},
  "ns": ["ns1"],
)") + std::string(checks_line) +
           ",\n" + std::string(pools_line) + "\n}\n";
}

std::string one_pool(std::string_view pool_body) {
    return R"(  "pools": {"www": )" + std::string(pool_body) + "}";
}

}  // namespace

// --- FlapFilter ----------------------------------------------------------------------------

namespace {

// Feeds "+" (success) and "-" (failure); returns the state after each result as U/D.
std::string run(FlapFilter& f, std::string_view results) {
    std::string out;
    for (char c : results) {
        f.feed(c == '+');
        out += f.state() == State::up ? 'U' : f.state() == State::down ? 'D' : '?';
    }
    return out;
}

}  // namespace

TEST_CASE("flap filter: the first result sets the state at once") {
    FlapFilter a(2, 3);
    CHECK(a.state() == State::unknown);
    CHECK(a.feed(false));
    CHECK(a.state() == State::down);
    FlapFilter b(2, 3);
    CHECK(b.feed(true));
    CHECK(b.state() == State::up);
}

TEST_CASE("flap filter: fall consecutive failures take an up member down") {
    FlapFilter f(2, 3);
    CHECK(run(f, "+--+--+---") == "UUUUUUUUUD");
    FlapFilter g(2, 1);
    CHECK(run(g, "+-") == "UD");
}

TEST_CASE("flap filter: rise consecutive successes bring a down member up") {
    FlapFilter f(2, 3);
    CHECK(run(f, "-+-+-++") == "DDDDDDU");
    FlapFilter g(3, 3);
    CHECK(run(g, "-++-+++--") == "DDDDDDUUU");
}

TEST_CASE("flap filter: feed reports changes only") {
    FlapFilter f(1, 2);
    CHECK(f.feed(true));  // unknown -> up
    CHECK_FALSE(f.feed(true));
    CHECK_FALSE(f.feed(false));
    CHECK(f.feed(false));  // up -> down after 2
    CHECK_FALSE(f.feed(false));
    CHECK(f.feed(true));  // rise 1
}

TEST_CASE("flap filter: rise and fall of 0 behave as 1") {
    FlapFilter f(0, 0);
    CHECK(run(f, "+-+-") == "UDUD");
}

// --- "checks" in zone files ---------------------------------------------------------------

TEST_CASE("checks: the contract's example loads with every default filled in") {
    const zone::LoadResult r = zone::parse_zone_json(R"({
  "zone": "lb.example.test.",
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1},
  "ns": ["ns1"],
  "checks": {
    "web":  { "type": "http", "port": 8080, "paths": ["/healthz", "/"], "host": "www.example.com",
              "expect_status": [200, 204], "expect_body": "ok",
              "interval": 2, "timeout": 1, "rise": 2, "fall": 3 },
    "port": { "type": "tcp", "port": 443, "interval": 1, "timeout": 0.5 },
    "tls":  { "type": "https", "port": 8443, "paths": ["/healthz"], "verify": false },
    "script": { "type": "exec", "command": ["/opt/chk_nginx.sh", "{address}", "{port}"], "timeout": 3 },
    "off": { "type": "none" },
    "plain": { "type": "http" }
  },
  "pools": { "www": { "check": "web", "fallback": "all", "members": [
    { "address": "192.0.2.10" },
    { "address": "192.0.2.11", "check": "port" },
    { "address": "192.0.2.12", "probe_address": "10.0.0.12" },
    { "address": "192.0.2.13", "enabled": false } ] } }
})",
                                                     "z.json");
    for (const auto& d : r.diags) FAIL_CHECK(d.to_string());
    REQUIRE(r.ok());
    REQUIRE(r.spec.checks.size() == 6);
    std::map<std::string, health::CheckDef> c;
    for (const zone::CheckSpec& s : r.spec.checks) c[s.name.text] = s.def;

    const health::CheckDef& web = c["web"];
    CHECK(web.type == health::CheckType::http);
    CHECK(web.port == 8080);
    CHECK(web.paths == std::vector<std::string>{"/healthz", "/"});
    CHECK(web.host == "www.example.com");
    CHECK(web.expect_status == std::vector<uint16_t>{200, 204});
    CHECK(web.has_expect_body);
    CHECK(web.expect_body == "ok");
    CHECK(web.interval_ms == 2000);
    CHECK(web.timeout_ms == 1000);
    CHECK(web.rise == 2);
    CHECK(web.fall == 3);
    CHECK(web.status_ok(204));
    CHECK_FALSE(web.status_ok(301));

    CHECK(c["port"].timeout_ms == 500);
    CHECK(c["port"].interval_ms == 1000);
    CHECK(c["port"].rise == health::kDefaultRise);
    CHECK(c["port"].fall == health::kDefaultFall);

    CHECK(c["tls"].type == health::CheckType::https);
    CHECK_FALSE(c["tls"].verify);
    CHECK(c["tls"].interval_ms == 5000);
    CHECK(c["tls"].timeout_ms == 2000);  // min(2, interval / 2)

    CHECK(c["script"].command.size() == 3);
    CHECK(c["script"].timeout_ms == 3000);  // below the default interval of 5 s
    CHECK(c["script"].port == 0);

    CHECK(c["off"].type == health::CheckType::none);

    const health::CheckDef& plain = c["plain"];
    CHECK(plain.port == 80);
    CHECK(plain.paths == std::vector<std::string>{"/"});
    CHECK(plain.expect_status.empty());
    CHECK(plain.status_ok(200));
    CHECK(plain.status_ok(399));
    CHECK_FALSE(plain.status_ok(404));
    CHECK_FALSE(plain.has_expect_body);
}

TEST_CASE("checks: a default timeout follows a short interval") {
    const zone::LoadResult r = zone::parse_zone_json(
        zone_with(R"(  "checks": {"fast": {"type": "tcp", "port": 1, "interval": 0.3}})",
                  R"(  "pools": {})"),
        "z.json");
    REQUIRE(r.ok());
    CHECK(r.spec.checks[0].def.interval_ms == 300);
    CHECK(r.spec.checks[0].def.timeout_ms == 150);
}

TEST_CASE("checks: timeout must be below interval") {
    CHECK(
        problems(zone_with(R"(  "checks": {"web": {"type": "http", "interval": 2, "timeout": 3}})",
                           R"(  "pools": {})")) ==
        HLines{"z.json:5:64: checks.web.timeout: timeout 3 must be below interval 2"});
    CHECK(problems(zone_with(R"(  "checks": {"web": {"type": "tcp", "port": 1, "timeout": 5}})",
                             R"(  "pools": {})")) ==
          HLines{"z.json:5:59: checks.web.timeout: timeout 5 must be below interval 5 (the "
                 "default)"});
}

TEST_CASE("checks: keys, types and ranges") {
    CHECK(
        problems(zone_with(R"(  "checks": {"web": {"type": "http", "intreval": 2}})",
                           R"(  "pools": {})")) ==
        HLines{
            R"(z.json:5:38: checks.web.intreval: unknown key "intreval" (did you mean "interval"?))"});
    CHECK(problems(zone_with(R"(  "checks": {"web": {"type": "tcp", "paths": ["/"], "port": 1}})",
                             R"(  "pools": {})")) ==
          HLines{R"(z.json:5:37: checks.web.paths: "paths" does not apply to a tcp check)"});
    CHECK(problems(zone_with(R"(  "checks": {"off": {"type": "none", "port": 80}})",
                             R"(  "pools": {})")) ==
          HLines{R"(z.json:5:38: checks.off.port: "port" does not apply to a none check)"});
    CHECK(
        problems(zone_with(R"(  "checks": {"web": {"type": "htpp"}})", R"(  "pools": {})")) ==
        HLines{
            R"(z.json:5:30: checks.web.type: unknown check type "htpp" (expected one of: tcp, http, https, exec, none))"});
    CHECK(problems(zone_with(R"(  "checks": {"web": {"port": 80}})", R"(  "pools": {})")) ==
          HLines{R"(z.json:5:21: checks.web.type: missing required key "type")"});
    CHECK(problems(zone_with(R"(  "checks": {"t": {"type": "tcp"}})", R"(  "pools": {})")) ==
          HLines{R"(z.json:5:19: checks.t.port: missing required key "port")"});
    CHECK(problems(zone_with(R"(  "checks": {"x": {"type": "exec"}})", R"(  "pools": {})")) ==
          HLines{R"(z.json:5:19: checks.x.command: missing required key "command")"});
    CHECK(problems(zone_with(R"(  "checks": {"x": {"type": "exec", "command": []}})",
                             R"(  "pools": {})")) ==
          HLines{R"(z.json:5:47: checks.x.command: expected the program and its arguments)"});
    CHECK(problems(zone_with(R"(  "checks": {"t": {"type": "tcp", "port": 70000}})",
                             R"(  "pools": {})")) ==
          HLines{R"(z.json:5:43: checks.t.port: port 70000 is out of range (1..65535))"});
    CHECK(
        problems(zone_with(R"(  "checks": {"t": {"type": "tcp", "port": 1, "interval": 0.01}})",
                           R"(  "pools": {})")) ==
        HLines{
            R"(z.json:5:58: checks.t.interval: interval 0.01 is out of range (0.1..3600 seconds))"});
    CHECK(problems(zone_with(R"(  "checks": {"t": {"type": "tcp", "port": 1, "rise": 0}})",
                             R"(  "pools": {})")) ==
          HLines{R"(z.json:5:54: checks.t.rise: rise 0 is out of range (1..100))"});
    CHECK(problems(zone_with(R"(  "checks": {"w": {"type": "http", "paths": ["healthz"]}})",
                             R"(  "pools": {})")) ==
          HLines{R"(z.json:5:46: checks.w.paths[0]: bad path "healthz" (must start with "/"))"});
    CHECK(
        problems(zone_with(R"(  "checks": {"w": {"type": "http", "expect_status": [200, 99]}})",
                           R"(  "pools": {})")) ==
        HLines{R"(z.json:5:59: checks.w.expect_status[1]: status 99 is out of range (100..599))"});
    CHECK(problems(zone_with(R"(  "checks": {"w": {"type": "https", "verify": "no"}})",
                             R"(  "pools": {})")) ==
          HLines{R"(z.json:5:47: checks.w.verify: expected true or false, got a string)"});
}

TEST_CASE("checks: keepalive, http(s) only, a boolean, part of the probe key when off") {
    const zone::LoadResult r = zone::parse_zone_json(
        zone_with(R"(  "checks": {"a": {"type": "http"}, "b": {"type": "http", "keepalive": )"
                  R"(false}, "c": {"type": "https", "keepalive": true}})",
                  R"(  "pools": {})"),
        "z.json");
    REQUIRE(r.ok());
    REQUIRE(r.spec.checks.size() == 3);
    CHECK(r.spec.checks[0].def.keepalive);
    CHECK_FALSE(r.spec.checks[1].def.keepalive);
    CHECK(r.spec.checks[2].def.keepalive);
    // Two checks that differ only in keepalive are two probes; the default's key is the one
    // every http check had before the option existed (saved health still matches it).
    CHECK(r.spec.checks[0].def.key() != r.spec.checks[1].def.key());
    CHECK(r.spec.checks[0].def.key().find('k') == std::string::npos);
    CHECK(problems(zone_with(R"(  "checks": {"t": {"type": "tcp", "port": 1, "keepalive": false}})",
                             R"(  "pools": {})")) ==
          HLines{R"(z.json:5:46: checks.t.keepalive: "keepalive" does not apply to a tcp check)"});
    CHECK(problems(zone_with(R"(  "checks": {"w": {"type": "http", "keepalive": "no"}})",
                             R"(  "pools": {})")) ==
          HLines{R"(z.json:5:49: checks.w.keepalive: expected true or false, got a string)"});
    CHECK(
        problems(zone_with(R"(  "checks": {"w": {"type": "http", "keepalvie": false}})",
                           R"(  "pools": {})")) ==
        HLines{
            R"(z.json:5:36: checks.w.keepalvie: unknown key "keepalvie" (did you mean "keepalive"?))"});
}

TEST_CASE("checks: references from pools and members") {
    const std::string checks =
        R"(  "checks": {"web": {"type": "http"}, "port": {"type": "tcp", "port": 1}})";
    CHECK(problems(zone_with(
              checks, one_pool(R"({"check": "wbe", "members": [{"address": "192.0.2.1"}]})"))) ==
          HLines{R"(z.json:6:30: pools.www.check: unknown check "wbe" (did you mean "web"?))"});
    CHECK(
        problems(zone_with(
            checks, one_pool(R"({"members": [{"address": "192.0.2.1", "check": "http"}]})"))) ==
        HLines{
            R"(z.json:6:67: pools.www.members[0].check: unknown check "http" (defined: web, port))"});
    CHECK(
        problems(
            zone_with(R"(  "records": [])",
                      one_pool(R"({"check": "web", "members": [{"address": "192.0.2.1"}]})"))) ==
        HLines{R"(z.json:6:30: pools.www.check: unknown check "web" (the zone has no "checks"))"});
}

TEST_CASE("checks: fallback must be all, none or another pool, without loops") {
    const std::string m = R"("members": [{"address": "192.0.2.1"}])";
    CHECK(
        problems(zone_with(R"(  "records": [])",
                           R"(  "pools": {"www": {"fallback": "www", )" + m + "}}")) ==
        HLines{
            R"(z.json:6:33: pools.www.fallback: a pool cannot fall back to itself (expected "all", "none" or the name of another pool))"});
    CHECK(
        problems(zone_with(R"(  "records": [])", R"(  "pools": {"www": {"fallback": "bakup", )" +
                                                     m + R"(}, "backup": {)" + m + "}}")) ==
        HLines{
            R"(z.json:6:33: pools.www.fallback: unknown fallback "bakup" (expected "all", "none" or the name of another pool; did you mean "backup"?))"});
    CHECK(
        problems(zone_with(R"(  "records": [])", R"(  "pools": {"a": {"fallback": "b", )" + m +
                                                     R"(}, "b": {"fallback": "a", )" + m + "}}")) ==
        HLines{R"(z.json:6:31: pools.a.fallback: fallback loop: a -> b -> a)",
               R"(z.json:6:94: pools.b.fallback: fallback loop: b -> a -> b)"});
    CHECK(problems(zone_with(R"(  "records": [])", R"(  "pools": {"a": {"fallback": "none", )" + m +
                                                       R"(}, "b": {"fallback": "a", )" + m + "}}"))
              .empty());
}

// --- Probe slots ---------------------------------------------------------------------------

namespace {

constexpr const char* kHealthZone = R"({
  "zone": "lb.example.test.",
  "ttl": 300,
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1, "minimum": 60},
  "ns": ["ns1"],
  "records": ["ns1 A 192.0.2.1"],
  "checks": {
    "web": {"type": "http", "port": 8080, "interval": 1},
    "port": {"type": "tcp", "port": 443, "interval": 1},
    "off": {"type": "none"}
  },
  "pools": {
    "www": {"check": "web", "ttl": 30, "members": [
      {"address": "192.0.2.10"}, {"address": "192.0.2.11"}, {"address": "192.0.2.12"},
      {"address": "192.0.2.13", "check": "port"},
      {"address": "192.0.2.14", "enabled": false}]},
    "none": {"check": "web", "fallback": "none", "members": [
      {"address": "192.0.2.20"}, {"address": "192.0.2.21"}]},
    "all": {"check": "web", "members": [{"address": "192.0.2.30"}, {"address": "192.0.2.31"}]},
    "next": {"check": "web", "fallback": "www", "members": [{"address": "192.0.2.40"}]},
    "shared": {"check": "web", "members": [{"address": "192.0.2.10"},
      {"address": "192.0.2.50", "probe_address": "192.0.2.11"},
      {"address": "192.0.2.51", "check": "off"}]},
    "plain": {"members": [{"address": "192.0.2.60"}, {"address": "192.0.2.61"}]}
  }
})";

zone::ZonePtr compile_with(const std::string& json, health::ProbeRegistry& registry) {
    zone::LoadResult loaded = zone::parse_zone_json(json, "test.json");
    for (const auto& d : loaded.diags) FAIL_CHECK(d.to_string());
    REQUIRE(loaded.ok());
    zone::CompileResult r = zone::compile_zone(loaded.spec, &registry);
    for (const auto& d : r.diags) FAIL_CHECK(d.to_string());
    REQUIRE(r.zone);
    return r.zone;
}

const lb::Pool& pool_named(const zone::Zone& z, const std::string& name) {
    for (const lb::Pool& p : z.pools)
        if (p.name == name) return p;
    FAIL("no pool " << name);
    return z.pools.front();
}

uint32_t slot_of(const zone::Zone& z, const std::string& pool, const std::string& address) {
    for (const lb::Member& m : pool_named(z, pool).members)
        if (m.address_text == address) return m.probe_slot;
    FAIL("no member " << address);
    return health::kNoProbe;
}

std::vector<std::string> answer_addresses(const Snapshot& snap, const std::string& name,
                                          AnswerContext& ctx) {
    test::Answered a =
        test::ask(snap, test::make_query(name, LDNS_RR_TYPE_A), Transport::udp, &ctx);
    return test::rdatas(ldns_pkt_answer(a.pkt.get()));
}

}  // namespace

TEST_CASE("probe slots: one per (probe address, check), kept across recompiles") {
    health::ProbeRegistry registry(64);
    const zone::ZonePtr z = compile_with(kHealthZone, registry);
    // Shared key: 192.0.2.10 with "web" in two pools, and 192.0.2.50 probed at 192.0.2.11.
    CHECK(slot_of(*z, "www", "192.0.2.10") == slot_of(*z, "shared", "192.0.2.10"));
    CHECK(slot_of(*z, "www", "192.0.2.11") == slot_of(*z, "shared", "192.0.2.50"));
    CHECK(slot_of(*z, "www", "192.0.2.10") != slot_of(*z, "www", "192.0.2.11"));
    CHECK(slot_of(*z, "www", "192.0.2.13") != health::kNoProbe);
    CHECK(slot_of(*z, "shared", "192.0.2.51") == health::kNoProbe);  // type none
    CHECK(slot_of(*z, "plain", "192.0.2.60") == health::kNoProbe);   // no check
    CHECK_FALSE(pool_named(*z, "plain").v4.probed);
    CHECK(pool_named(*z, "www").v4.probed);
    // The drained member is probed (its state is known before it is re-enabled) but not
    // answered.
    CHECK(slot_of(*z, "www", "192.0.2.14") != health::kNoProbe);
    CHECK(pool_named(*z, "www").v4.size() == 4);

    const std::vector<health::ProbeSpec> active = registry.active();
    // www 10 11 12 13(port) 14; none 20 21; all 30 31; next 40 (shared adds nothing).
    CHECK(active.size() == 10);
    const uint64_t v = registry.version();

    // A recompile (reload) of the same zone takes the same slots and changes nothing.
    const zone::ZonePtr again = compile_with(kHealthZone, registry);
    CHECK(slot_of(*again, "www", "192.0.2.12") == slot_of(*z, "www", "192.0.2.12"));
    CHECK(registry.version() == v);
    CHECK(registry.active().size() == 10);

    // A changed check definition is a different probe.
    std::string edited = kHealthZone;
    edited.replace(edited.find(R"("port": 443)"), 11, R"("port": 444)");
    const zone::ZonePtr changed = compile_with(edited, registry);
    CHECK(slot_of(*changed, "www", "192.0.2.13") != slot_of(*z, "www", "192.0.2.13"));
    CHECK(slot_of(*changed, "www", "192.0.2.12") == slot_of(*z, "www", "192.0.2.12"));
    CHECK(registry.active().size() == 11);
}

TEST_CASE("probe slots: released with the zone, recycled only when the monitor lets go") {
    health::ProbeRegistry registry(64);
    zone::ZonePtr z = compile_with(kHealthZone, registry);
    const uint32_t s = slot_of(*z, "www", "192.0.2.12");
    registry.states().set(s, State::down);
    z.reset();  // the last snapshot holding the zone is freed
    CHECK(registry.active().empty());
    // Not recycled yet: a reload bringing the key back gets the same slot and state.
    zone::ZonePtr back = compile_with(kHealthZone, registry);
    CHECK(slot_of(*back, "www", "192.0.2.12") == s);
    CHECK(registry.states().state(s) == State::down);
    back.reset();
    // The monitor stopped probing it: the slot is free and clean for another key.
    registry.recycle(std::vector<uint32_t>{s});
    CHECK(registry.states().state(s) == State::unknown);
    std::string other = kHealthZone;
    other.replace(other.find("192.0.2.12"), 10, "192.0.2.99");
    const zone::ZonePtr z2 = compile_with(other, registry);
    CHECK(slot_of(*z2, "www", "192.0.2.99") != health::kNoProbe);
}

TEST_CASE("probe slots: a full table is a compile error") {
    health::ProbeRegistry registry(3);
    zone::LoadResult loaded = zone::parse_zone_json(kHealthZone, "test.json");
    REQUIRE(loaded.ok());
    const zone::CompileResult r = zone::compile_zone(loaded.spec, &registry);
    CHECK_FALSE(r.zone);
    REQUIRE(r.diags.size() == 1);
    CHECK(r.diags[0].message == "too many distinct probes (the health table holds 3)");
    CHECK(registry.active().empty());  // what the failed compile took is given back
}

// --- Answers with members down ---------------------------------------------------------------

TEST_CASE("eligible: up members only, fast path without probes") {
    lb::FamilySet fs;
    health::HealthTable table(8);
    for (uint32_t i = 0; i < 5; ++i) {
        fs.members.push_back(i);
        fs.positions.push_back(i);
        fs.slots.push_back(i);
    }
    fs.slots[4] = health::kNoProbe;
    lb::Eligible e;
    e.compute(fs, &table);  // nothing known yet: all up
    CHECK(e.all());
    CHECK(e.count() == 5);
    fs.probed = true;
    table.set(1, State::down);
    table.set(3, State::down);
    table.set(0, State::up);
    e.compute(fs, &table);
    CHECK_FALSE(e.all());
    CHECK(std::vector<uint32_t>(e.positions().begin(), e.positions().end()) ==
          std::vector<uint32_t>{0, 2, 4});
    CHECK(e.positions()[1] == 2);
    CHECK(std::binary_search(e.positions().begin(), e.positions().end(), 2u));
    CHECK_FALSE(std::binary_search(e.positions().begin(), e.positions().end(), 3u));
    e.compute(fs, nullptr);  // no table: everyone
    CHECK(e.all());
    fs.probed = false;  // the fast path reads no state
    e.compute(fs, &table);
    CHECK(e.count() == 5);
}

TEST_CASE("eligible: pending members only when no unknown or up member is left") {
    lb::FamilySet fs;
    health::HealthTable table(8);
    for (uint32_t i = 0; i < 3; ++i) {
        fs.members.push_back(i);
        fs.positions.push_back(i);
        fs.slots.push_back(i);
    }
    fs.probed = true;
    lb::Eligible e;
    table.set(0, State::up);
    table.set(1, State::pending);
    table.set(2, State::unknown);
    e.compute(fs, &table);  // unknown still counts as up; pending waits for its first result
    CHECK_FALSE(e.all());
    CHECK(std::vector<uint32_t>(e.positions().begin(), e.positions().end()) ==
          std::vector<uint32_t>{0, 2});
    table.set(0, State::down);
    table.set(2, State::down);
    e.compute(fs, &table);  // nothing tested is up: the pending member rather than nothing
    CHECK_FALSE(e.all());   // degraded: ttl_degraded applies
    CHECK(std::vector<uint32_t>(e.positions().begin(), e.positions().end()) ==
          std::vector<uint32_t>{1});
    table.set(1, State::down);
    e.compute(fs, &table);  // all down: empty, the pool's fallback decides as before
    CHECK(e.count() == 0);
    table.set(1, State::up);
    e.compute(fs, &table);
    CHECK(e.count() == 1);
    CHECK(std::string(health::state_name(State::pending)) == "pending");
}

TEST_CASE("probe slots: after set_loaded, a new key starts pending, a kept one keeps its state") {
    health::ProbeRegistry registry(64);
    const zone::ZonePtr z = compile_with(kHealthZone, registry);
    const uint32_t kept = slot_of(*z, "www", "192.0.2.12");
    CHECK(registry.states().state(kept) == State::unknown);  // the first load: as before
    registry.states().set(kept, State::up);
    registry.set_loaded();
    std::string edited = kHealthZone;
    edited.replace(edited.find(R"("port": 443)"), 11, R"("port": 444)");
    const zone::ZonePtr again = compile_with(edited, registry);
    CHECK(slot_of(*again, "www", "192.0.2.12") == kept);
    CHECK(registry.states().state(kept) == State::up);
    // The changed check definition is a new probe key: pending until its first result.
    const uint32_t changed = slot_of(*again, "www", "192.0.2.13");
    CHECK(changed != slot_of(*z, "www", "192.0.2.13"));
    CHECK(registry.states().state(changed) == State::pending);
    CHECK(registry.states().state(slot_of(*z, "www", "192.0.2.13")) == State::unknown);
}

TEST_CASE("answers: only up members, rotating among them") {
    health::ProbeRegistry registry(64);
    const zone::ZonePtr z = compile_with(kHealthZone, registry);
    const Snapshot snap({z}, 1, registry.table());
    AnswerContext ctx;
    const std::string www = "www.lb.example.test";

    // Nothing probed yet: unknown counts as up; the drained member never appears.
    std::set<std::string> seen;
    for (int i = 0; i < 4; ++i)
        for (const std::string& a : answer_addresses(snap, www, ctx)) seen.insert(a);
    CHECK(seen == std::set<std::string>{"192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13"});

    registry.states().set(slot_of(*z, "www", "192.0.2.11"), State::down);
    registry.states().set(slot_of(*z, "www", "192.0.2.10"), State::up);
    // Over N = 3 consecutive queries each up member comes first exactly once, in order.
    std::vector<std::string> firsts;
    for (int i = 0; i < 6; ++i) {
        const std::vector<std::string> got = answer_addresses(snap, www, ctx);
        REQUIRE(got.size() == 3);
        CHECK(std::find(got.begin(), got.end(), "192.0.2.11") == got.end());
        firsts.push_back(got[0]);
    }
    std::multiset<std::string> first3(firsts.begin(), firsts.begin() + 3);
    CHECK(first3 == std::multiset<std::string>{"192.0.2.10", "192.0.2.12", "192.0.2.13"});
    for (size_t i = 3; i < firsts.size(); ++i) CHECK(firsts[i] == firsts[i - 3]);

    // Shared probe: 192.0.2.50 is probed at 192.0.2.11, so it is down too.
    CHECK(answer_addresses(snap, "shared.lb.example.test", ctx).size() == 2);
}

TEST_CASE("answers: fallback all, none and another pool") {
    health::ProbeRegistry registry(64);
    const zone::ZonePtr z = compile_with(kHealthZone, registry);
    const Snapshot snap({z}, 1, registry.table());
    AnswerContext ctx;
    for (const char* a : {"192.0.2.20", "192.0.2.21"})
        registry.states().set(slot_of(*z, "none", a), State::down);
    for (const char* a : {"192.0.2.30", "192.0.2.31"})
        registry.states().set(slot_of(*z, "all", a), State::down);
    registry.states().set(slot_of(*z, "next", "192.0.2.40"), State::down);

    // "all" (the default): fail open with every enabled member.
    std::vector<std::string> all = answer_addresses(snap, "all.lb.example.test", ctx);
    std::sort(all.begin(), all.end());
    CHECK(all == std::vector<std::string>{"192.0.2.30", "192.0.2.31"});
    CHECK(ctx.last.fallback);

    // "none": NODATA whose SOA carries min(negative TTL 60, 10).
    test::Answered none = test::ask(snap, test::make_query("none.lb.example.test", LDNS_RR_TYPE_A),
                                    Transport::udp, &ctx);
    CHECK(ldns_pkt_get_rcode(none.pkt.get()) == LDNS_RCODE_NOERROR);
    CHECK(ldns_rr_list_rr_count(ldns_pkt_answer(none.pkt.get())) == 0);
    REQUIRE(ldns_rr_list_rr_count(ldns_pkt_authority(none.pkt.get())) == 1);
    const ldns_rr* soa = ldns_rr_list_rr(ldns_pkt_authority(none.pkt.get()), 0);
    CHECK(ldns_rr_get_type(soa) == LDNS_RR_TYPE_SOA);
    CHECK(ldns_rr_ttl(soa) == 10);

    // Another pool: its records, its own health (192.0.2.11 down there too).
    registry.states().set(slot_of(*z, "www", "192.0.2.11"), State::down);
    std::vector<std::string> next = answer_addresses(snap, "next.lb.example.test", ctx);
    std::sort(next.begin(), next.end());
    CHECK(next == std::vector<std::string>{"192.0.2.10", "192.0.2.12", "192.0.2.13"});
    test::Answered nx = test::ask(snap, test::make_query("next.lb.example.test", LDNS_RR_TYPE_A),
                                  Transport::udp, &ctx);
    CHECK(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(nx.pkt.get()), 0)) == 30);  // www's TTL

    // One member back up: answers only it, no fallback.
    registry.states().set(slot_of(*z, "none", "192.0.2.21"), State::up);
    CHECK(answer_addresses(snap, "none.lb.example.test", ctx) ==
          std::vector<std::string>{"192.0.2.21"});
    CHECK_FALSE(ctx.last.fallback);

    // AAAA of a v4-only pool is a plain NODATA (negative TTL 60), not a fallback.
    test::Answered v6 = test::ask(snap, test::make_query("none.lb.example.test", LDNS_RR_TYPE_AAAA),
                                  Transport::udp, &ctx);
    REQUIRE(ldns_rr_list_rr_count(ldns_pkt_authority(v6.pkt.get())) == 1);
    CHECK(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_authority(v6.pkt.get()), 0)) == 60);
}

TEST_CASE("answers: a snapshot without a health table answers every member") {
    health::ProbeRegistry registry(64);
    const zone::ZonePtr z = compile_with(kHealthZone, registry);
    for (uint32_t s = 0; s < 64; ++s) registry.states().set(s, State::down);
    const Snapshot snap({z}, 1);
    AnswerContext ctx;
    CHECK(answer_addresses(snap, "www.lb.example.test", ctx).size() == 4);
}
