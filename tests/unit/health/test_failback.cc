// Failback (health/failback.h) on a fake clock: a member back up after being down waits a
// delay or an operator's release, the delay restarts when it goes down meanwhile, members up
// at start are never held; lb::Eligible answers standby members only when nothing else is
// up; and the zone key (forms, located errors, did-you-mean, the probe key and its scope).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "steerdns/health/check.h"
#include "steerdns/health/failback.h"
#include "steerdns/health/registry.h"
#include "steerdns/lb/eligible.h"
#include "steerdns/zone/compile.h"
#include "steerdns/zone/zone_spec.h"

using namespace steerdns;
using health::FailbackDef;
using health::FailbackHold;
using health::FailbackMode;
using health::State;

namespace {

FailbackDef delay(uint32_t ms) {
    FailbackDef d;
    d.mode = FailbackMode::delay;
    d.delay_ms = ms;
    return d;
}

FailbackDef manual() {
    FailbackDef d;
    d.mode = FailbackMode::manual;
    return d;
}

std::string zone_text(std::string_view failback) {
    return std::string(R"({
  "zone": "lb.example.test.", "ttl": 30,
  "soa": {"mname": "ns1.example.net.", "rname": "hostmaster", "serial": 1},
  "ns": ["ns1.example.net."],
  "checks": {"web": {"type": "tcp", "port": 80}},
  "pools": {"www": {"check": "web", "failback": )") +
           std::string(failback) + R"(, "members": [{"address": "192.0.2.1"}]},
            "api": {"check": "web", "failback": "manual", "members": [{"address": "192.0.2.1"}]},
            "img": {"check": "web", "members": [{"address": "192.0.2.1"}]}}
})";
}

std::string problems(std::string_view failback) {
    const zone::LoadResult r = zone::parse_zone_json(zone_text(failback), "z.json");
    std::string out;
    for (const zone::Diagnostic& d : r.diags) out += d.to_string() + "\n";
    return out;
}

}  // namespace

TEST_CASE("failback delay: held until up for the delay; going down restarts the clock") {
    FailbackHold h(delay(2000));
    CHECK_FALSE(h.change(State::unknown, State::up, 0));  // up at start: never held
    CHECK(h.effective(State::up) == State::up);
    CHECK_FALSE(h.change(State::up, State::down, 1000));
    CHECK(h.change(State::down, State::up, 5000));  // back up: standby for 2 s
    CHECK(h.held());
    CHECK(h.effective(State::up) == State::standby);
    CHECK(h.until_ms() == 7000);
    CHECK(h.reason() == "awaiting failback for 2s");
    CHECK_FALSE(h.expire(6999));
    CHECK(h.effective(State::up) == State::standby);
    // Down again at 6 s: the hold ends (it is down, not standby) and the delay restarts.
    CHECK_FALSE(h.change(State::up, State::down, 6000));
    CHECK_FALSE(h.held());
    CHECK(h.effective(State::down) == State::down);
    CHECK(h.change(State::down, State::up, 8000));
    CHECK(h.until_ms() == 10000);
    CHECK_FALSE(h.expire(9999));
    CHECK(h.expire(10000));
    CHECK(h.effective(State::up) == State::up);
    CHECK_FALSE(h.expire(20000));  // once
    CHECK_FALSE(h.release());      // nothing held
}

TEST_CASE("failback manual: held until released, whatever the time") {
    FailbackHold h(manual());
    CHECK_FALSE(h.change(State::unknown, State::up, 0));
    CHECK_FALSE(h.change(State::up, State::down, 500));
    CHECK(h.change(State::down, State::up, 1000));
    CHECK(h.until_ms() == 0);  // no end of its own
    CHECK_FALSE(h.expire(1000000000));
    CHECK(h.effective(State::up) == State::standby);
    CHECK(h.reason() == "awaiting failback (manual)");
    CHECK(h.release());
    CHECK(h.effective(State::up) == State::up);
    CHECK_FALSE(h.release());
    // A pending member's first result (the filter's unknown -> up) is no return: not held.
    FailbackHold p(manual());
    CHECK_FALSE(p.change(State::unknown, State::up, 0));
    CHECK_FALSE(p.held());
    // Down from its first result (its backend was not ready at the start): it never served,
    // so its first up is no return; once it served, a return is held.
    FailbackHold late(manual());
    CHECK_FALSE(late.change(State::unknown, State::down, 0));
    CHECK_FALSE(late.change(State::down, State::up, 1000));
    CHECK_FALSE(late.change(State::up, State::down, 2000));
    CHECK(late.change(State::down, State::up, 3000));
    // Immediate: never holds.
    FailbackHold i{FailbackDef{}};
    CHECK_FALSE(i.change(State::down, State::up, 0));
    CHECK(health::failback_text(FailbackDef{}) == "immediate");
    CHECK(health::failback_text(delay(2500)) == "delay 2.5s");
    CHECK(health::failback_text(manual()) == "manual");
    CHECK(std::string(health::state_name(State::standby)) == "standby");
}

TEST_CASE("failback: a hold resumed from the state file") {
    FailbackHold m(manual());
    CHECK(m.resume(5'000));
    CHECK(m.held());
    CHECK(m.effective(State::up) == State::standby);
    CHECK(m.release());
    // A delay starts over at the resume, not at the saved hold's start.
    FailbackHold d(delay(2'000));
    CHECK(d.resume(10'000));
    CHECK(d.until_ms() == 12'000);
    CHECK_FALSE(d.expire(11'999));
    CHECK(d.expire(12'000));
    // Down after the restart ends it like any hold; back up, it is a return: held again.
    FailbackHold again(manual());
    again.resume(0);
    again.change(State::up, State::down, 1'000);
    CHECK_FALSE(again.held());
    CHECK(again.change(State::down, State::up, 2'000));
    FailbackHold none(FailbackDef{});
    CHECK_FALSE(none.resume(0));
    CHECK_FALSE(none.held());
}

TEST_CASE("eligible: standby members only when no unknown or up member is left") {
    lb::FamilySet fs;
    health::HealthTable table(8);
    for (uint32_t i = 0; i < 3; ++i) {
        fs.members.push_back(i);
        fs.positions.push_back(i);
        fs.slots.push_back(i);
    }
    fs.probed = true;
    lb::Eligible e;
    table.set(0, State::standby);
    table.set(1, State::up);
    table.set(2, State::pending);
    e.compute(fs, &table);
    CHECK_FALSE(e.all());  // degraded: ttl_degraded applies
    CHECK(std::vector<uint32_t>(e.positions().begin(), e.positions().end()) ==
          std::vector<uint32_t>{1});
    table.set(1, State::down);
    e.compute(fs, &table);  // nothing else up: the pool never goes empty because of failback
    CHECK(std::vector<uint32_t>(e.positions().begin(), e.positions().end()) ==
          std::vector<uint32_t>{0, 2});
    CHECK(table.up(0));
    CHECK_FALSE(table.preferred(0));
}

TEST_CASE("failback: zone key forms, located errors and did-you-mean") {
    CHECK(problems(R"("immediate")") == "");
    CHECK(problems(R"("manual")") == "");
    CHECK(problems(R"({"delay": 2.5})") == "");
    CHECK(problems(R"("manuel")") ==
          "z.json:6:49: pools.www.failback: unknown failback \"manuel\" (did you mean "
          "\"manual\"?): expected \"immediate\", \"manual\" or {\"delay\": seconds}\n");
    CHECK(problems(R"({"dealy": 2})") ==
          "z.json:6:49: pools.www.failback.delay: missing required key \"delay\"\n"
          "z.json:6:50: pools.www.failback.dealy: unknown key \"dealy\" (did you mean "
          "\"delay\"?)\n");
    CHECK(problems(R"({"delay": 0})") ==
          "z.json:6:59: pools.www.failback.delay: delay 0 is out of range (0.1..86400 "
          "seconds)\n");
    CHECK(problems("5") ==
          "z.json:6:49: pools.www.failback: expected \"immediate\", "
          "\"manual\" or {\"delay\": seconds}, got a number\n");
    const zone::LoadResult r = zone::parse_zone_json(zone_text(R"({"delay": 2.5})"), "z.json");
    REQUIRE(r.ok());
    REQUIRE(r.spec.pools[0].failback.has_value());
    CHECK(r.spec.pools[0].failback->mode == FailbackMode::delay);
    CHECK(r.spec.pools[0].failback->delay_ms == 2500);
}

TEST_CASE("failback: the hold is kept by the probe; a manual one is its pool's alone") {
    // Three pools probe 192.0.2.1 with the same check: "img" (immediate) and "www" share
    // nothing with a manual pool, whose hold an operator releases per pool member.
    const zone::LoadResult loaded = zone::parse_zone_json(zone_text(R"("manual")"), "z.json");
    REQUIRE(loaded.ok());
    health::ProbeRegistry registry(16);
    const zone::CompileResult r = zone::compile_zone(loaded.spec, &registry);
    REQUIRE(r.zone);
    CHECK(r.diags.empty());
    std::vector<uint32_t> slots;
    for (const lb::Pool& p : r.zone->pools) slots.push_back(p.members[0].probe_slot);
    REQUIRE(slots.size() == 3);
    CHECK(slots[0] != slots[1]);  // www and api: two manual pools, two holds
    CHECK(slots[0] != slots[2]);
    CHECK(slots[1] != slots[2]);
    CHECK(registry.active().size() == 3);
    for (const health::ProbeSpec& p : registry.active()) {
        if (p.label.pool == "img") {
            CHECK_FALSE(p.target->check.failback.has_value());
        } else {
            REQUIRE(p.target->check.failback.has_value());
            CHECK(p.target->check.failback->scope == "lb.example.test. " + p.label.pool);
        }
    }
    // Delays are the same for every pool that has it: one probe, one shared hold.
    std::string text = zone_text(R"({"delay": 5})");
    text.replace(text.find(R"("failback": "manual")"), 20, R"("failback": {"delay": 5})");
    const zone::LoadResult delayed = zone::parse_zone_json(text, "z.json");
    REQUIRE(delayed.ok());
    health::ProbeRegistry shared(16);
    const zone::CompileResult d = zone::compile_zone(delayed.spec, &shared);
    REQUIRE(d.zone);
    CHECK(d.zone->pools[0].members[0].probe_slot == d.zone->pools[1].members[0].probe_slot);
    CHECK(shared.active().size() == 2);
}

TEST_CASE("failback: without any check, a warning") {
    const std::string text = R"({
  "zone": "lb.example.test.",
  "soa": {"mname": "ns1.example.net.", "rname": "hostmaster", "serial": 1},
  "ns": ["ns1.example.net."],
  "pools": {"www": {"failback": "manual", "members": [{"address": "192.0.2.1"}]}}
})";
    const zone::LoadResult loaded = zone::parse_zone_json(text, "z.json");
    REQUIRE(loaded.ok());
    const zone::CompileResult r = zone::compile_zone(loaded.spec, nullptr);
    std::string diags;
    for (const zone::Diagnostic& d : r.diags) diags += d.to_string() + "\n";
    CHECK(diags ==
          "z.json:5:33: pools.www.failback: warning: \"failback\" has no effect: no "
          "check probes a member of this pool\n");
}
