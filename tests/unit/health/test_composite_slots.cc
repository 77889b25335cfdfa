// Composite checks in the probe registry (health/registry.h): each part is an ordinary probe
// slot shared with every other user of the same check and address, the member reads a derived
// slot that starts in the state its parts give, and a reload that changes "require" gets a
// new derived slot over the same parts. The monitor's recompute is health::derived_state.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "steerdns/health/composite.h"
#include "steerdns/health/registry.h"
#include "steerdns/zone/compile.h"
#include "steerdns/zone/zone_spec.h"

using namespace steerdns;
using health::State;

namespace {

std::string composite_zone(const std::string& require) {
    return R"({
  "zone": "lb.example.test.",
  "ttl": 300,
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1, "minimum": 60},
  "ns": ["ns1"],
  "records": ["ns1 A 192.0.2.1"],
  "checks": {
    "web": {"type": "http", "port": 8080, "interval": 1},
    "api": {"type": "http", "port": 8081, "paths": ["/api"], "interval": 1}
  },
  "pools": {
    "www": {"check": ["web", "api"],)" +
           require + R"( "ttl": 30, "members": [
      {"address": "192.0.2.10"}, {"address": "192.0.2.11"}]},
    "single": {"check": "web", "members": [{"address": "192.0.2.10"}]}
  }
})";
}

zone::ZonePtr compile_with(const std::string& json, health::ProbeRegistry& registry) {
    zone::LoadResult loaded = zone::parse_zone_json(json, "test.json");
    for (const auto& d : loaded.diags) FAIL_CHECK(d.to_string());
    REQUIRE(loaded.ok());
    zone::CompileResult r = zone::compile_zone(loaded.spec, &registry);
    for (const auto& d : r.diags) FAIL_CHECK(d.to_string());
    REQUIRE(r.zone);
    return r.zone;
}

const lb::Member& member_of(const zone::Zone& z, const std::string& pool,
                            const std::string& address) {
    for (const lb::Pool& p : z.pools)
        if (p.name == pool)
            for (const lb::Member& m : p.members)
                if (m.address_text == address) return m;
    FAIL("no member " << address);
    return z.pools.front().members.front();
}

}  // namespace

TEST_CASE("composite slots: parts are shared probes, the member reads a derived slot") {
    health::ProbeRegistry registry(64);
    const zone::ZonePtr z = compile_with(composite_zone(""), registry);
    const lb::Member& m = member_of(*z, "www", "192.0.2.10");
    REQUIRE(m.check_parts.size() == 2);
    CHECK(m.check_parts[0].name == "web");
    CHECK(m.check_parts[1].name == "api");
    CHECK(m.check_require == 2);  // "all"
    // The same check on the same address is probed once: the single-check pool's member
    // reads the very slot that is the composite's "web" part.
    CHECK(member_of(*z, "single", "192.0.2.10").probe_slot == m.check_parts[0].slot);
    CHECK(m.probe_slot != m.check_parts[0].slot);
    CHECK(m.probe_slot != m.check_parts[1].slot);
    CHECK(member_of(*z, "www", "192.0.2.11").probe_slot != m.probe_slot);

    // Active: 2 addresses x 2 checks, plus 2 derived slots.
    const std::vector<health::ProbeSpec> active = registry.active();
    CHECK(active.size() == 6);
    size_t derived = 0;
    for (const health::ProbeSpec& s : active) {
        if (s.parts.empty()) {
            // The shared "web" probe of 192.0.2.10 logs as the single-check member's.
            if (s.slot == m.check_parts[0].slot) CHECK_FALSE(s.label.part);
            if (s.slot == m.check_parts[1].slot) CHECK(s.label.part);
            continue;
        }
        ++derived;
        CHECK(s.target->check.type == health::CheckType::none);  // never probed itself
        CHECK(s.part_names == std::vector<std::string>{"web", "api"});
        CHECK(s.label.check == "web+api");
        CHECK(s.require == 2);
    }
    CHECK(derived == 2);
    // The first load: no results, the composite counts as up like any unprobed member.
    CHECK(registry.states().state(m.probe_slot) == State::unknown);
}

TEST_CASE("composite slots: a new derived slot starts in what its parts say") {
    health::ProbeRegistry registry(64);
    const zone::ZonePtr z = compile_with(composite_zone(""), registry);
    const lb::Member& m = member_of(*z, "www", "192.0.2.10");
    registry.states().set(m.check_parts[0].slot, State::up);
    registry.states().set(m.check_parts[1].slot, State::down);
    registry.states().set(m.probe_slot, State::down);  // as the monitor would
    registry.set_loaded();

    // A reload to "require": "any" is another composite over the same parts: it starts up
    // at once (not pending), since "web" is up.
    const zone::ZonePtr any = compile_with(composite_zone(R"( "require": "any",)"), registry);
    const lb::Member& a = member_of(*any, "www", "192.0.2.10");
    CHECK(a.check_parts[0].slot == m.check_parts[0].slot);
    CHECK(a.check_parts[1].slot == m.check_parts[1].slot);
    CHECK(a.probe_slot != m.probe_slot);
    CHECK(a.check_require == 1);
    CHECK(registry.states().state(a.probe_slot) == State::up);
    // The same zone again keeps the derived slot and its state.
    const zone::ZonePtr again = compile_with(composite_zone(R"( "require": "any",)"), registry);
    CHECK(member_of(*again, "www", "192.0.2.10").probe_slot == a.probe_slot);

    // A member a reload adds, both parts new: pending until a part has a say.
    std::string added = composite_zone(R"( "require": 1,)");
    added.replace(added.find("192.0.2.11"), 10, "192.0.2.12");
    const zone::ZonePtr z3 = compile_with(added, registry);
    const lb::Member& n = member_of(*z3, "www", "192.0.2.12");
    CHECK(registry.states().state(n.check_parts[0].slot) == State::pending);
    CHECK(registry.states().state(n.probe_slot) == State::pending);
}

TEST_CASE("composite slots: derived_state, pending parts keep a new composite pending") {
    const std::vector<State> pending_up{State::pending, State::up};
    CHECK(health::derived_state(pending_up, 2) == State::pending);
    CHECK(health::derived_state(pending_up, 1) == State::up);
    const std::vector<State> pending_down{State::pending, State::down};
    CHECK(health::derived_state(pending_down, 2) == State::down);
    CHECK(health::derived_state(pending_down, 1) == State::pending);
    const std::vector<State> unknown{State::unknown, State::unknown};
    CHECK(health::derived_state(unknown, 2) == State::unknown);
}
