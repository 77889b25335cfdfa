// Flap damping (health/damping.h) on a fake clock: the exact times a member flapping every
// 5 s is suppressed and released, the max_suppress cap, the reason text, and the zone keys
// that configure it (defaults, located errors, did-you-mean, the probe key).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "helpers.h"
#include "steerdns/health/check.h"
#include "steerdns/health/damping.h"
#include "steerdns/health/flap_filter.h"
#include "steerdns/health/registry.h"
#include "steerdns/zone/compile.h"
#include "steerdns/zone/zone_spec.h"

using namespace steerdns;
using health::Damper;
using health::DampingDef;
using health::State;

namespace {

// Drives a FlapFilter (rise 1, fall 1) and a Damper as the monitor does: one probe result
// every 5 s of fake time.
struct Member {
    health::FlapFilter filter{1, 1};
    Damper damper{DampingDef{}};
    int64_t now = 0;
    int64_t suppressed_at = -1;
    int64_t released_at = -1;

    void result(bool ok) {
        const State before = filter.state();
        const bool changed = filter.feed(ok);
        if (changed && before != State::unknown && damper.change(now) && suppressed_at < 0)
            suppressed_at = now;
        if (damper.release(now, filter.state()) && released_at < 0) released_at = now;
        now += 5000;
    }
    State answers() const { return damper.effective(filter.state()); }
};

std::string problems(std::string_view damping, std::string_view member_extra = "") {
    const std::string text = std::string(R"({
  "zone": "lb.example.test.",
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1},
  "ns": ["ns1.lb.example.test."],
  "checks": {"web": {"type": "http", "damping": )") +
                             std::string(damping) + R"(}},
  "pools": {"www": {"check": "web", "members": [{"address": "192.0.2.1")" +
                             std::string(member_extra) + R"(}]}}
})";
    const zone::LoadResult r = zone::parse_zone_json(text, "z.json");
    std::string out;
    for (const zone::Diagnostic& d : r.diags) out += d.to_string() + "\n";
    return out;
}

}  // namespace

TEST_CASE("damping: a member flapping every 5 s is suppressed at its 4th change") {
    Member m;
    m.result(true);  // t=0: the first result, not a change
    // Changes at 5, 10, 15 and 20 s: penalties 1, 1.944, 2.835, 3.676 (> suppress 3).
    for (int i = 0; i < 4; ++i) m.result(i % 2 == 1);
    CHECK(m.suppressed_at == 20000);
    CHECK(m.damper.suppressed());
    CHECK(m.damper.reason() == "flapping: 4 changes in 15s");
    CHECK(m.damper.penalty(20000) == doctest::Approx(3.675669446));
    CHECK(m.answers() == State::down);
    CHECK(m.filter.state() == State::up);  // the filter says up; answers keep it out
    // Released once 3.676 halves below reuse 1: 60 s x log2(3.676) = 112.68 s after the last
    // change (t=20 s), so at 132.68 s; the next result is at 135 s.
    CHECK(m.damper.until_ms() == 132681);
    while (m.now <= 200000) m.result(true);
    CHECK(m.released_at == 135000);
    CHECK(m.answers() == State::up);
    CHECK(m.damper.reason().empty());
    CHECK(std::string(m.damper.released_by()) == "penalty below reuse");
}

TEST_CASE("damping: flapping on while suppressed pushes the release back") {
    Member m;
    m.result(true);
    // 12 changes, every 5 s from t=5 s to t=60 s (the last one to up): penalty 8.909.
    for (int i = 0; i < 12; ++i) m.result(i % 2 == 1);
    CHECK(m.suppressed_at == 20000);
    CHECK(m.damper.penalty(60000) == doctest::Approx(8.908576873));
    // Below reuse at 60 + 189.31 = 249.31 s; answered again from the result at 250 s.
    while (m.now <= 400000) m.result(true);
    CHECK(m.released_at == 250000);
}

TEST_CASE("damping: a member that is down when the penalty decays stays suppressed") {
    Member m;
    m.result(true);
    for (int i = 0; i < 4; ++i) m.result(i % 2 == 1);  // suppressed at 20 s, up
    m.result(false);                                   // t=25 s: 5th change, down
    while (m.now <= 300000) m.result(false);
    CHECK(m.released_at == -1);  // penalty long below reuse, but down: still held
    CHECK(m.damper.suppressed());
    m.result(true);  // t=305 s: up again, a change: 4.469 x 2^(-280/60) + 1 = 1.176
    CHECK(m.damper.suppressed());
    CHECK(m.damper.penalty(305000) == doctest::Approx(1.175970416));
    // Below reuse 60 s x log2(1.176) = 14.03 s later; the next result is at 320 s.
    while (m.released_at < 0 && m.now <= 1000000) m.result(true);
    CHECK(m.released_at == 320000);
}

TEST_CASE("damping: max_suppress ends a suppression even while flapping goes on") {
    DampingDef d;
    d.max_suppress_ms = 120000;
    Member m;
    m.damper = Damper(d);
    m.result(true);
    for (int i = 0; m.now <= 200000; ++i) m.result(i % 2 == 1);
    CHECK(m.suppressed_at == 20000);
    CHECK(m.released_at == 140000);  // 20 s + 120 s, though the penalty stays high
    CHECK(std::string(m.damper.released_by()) == "max_suppress");
    // Flapping goes on: the next change suppresses it again, with a fresh reason.
    CHECK(m.damper.suppressed());
    CHECK(m.damper.reason().starts_with("flapping: "));
}

TEST_CASE("damping: the penalty ceiling keeps a long flap from holding a member for hours") {
    DampingDef d;
    d.half_life_ms = 10000;
    d.max_suppress_ms = 30000;  // ceiling: reuse x 2^(30/10) = 8
    Damper damper(d);
    for (int64_t t = 0; t < 600000; t += 1000) damper.change(t);
    CHECK(damper.penalty(599000) == doctest::Approx(8));
    CHECK(damper.until_ms() <= 599000 + 30000);
}

TEST_CASE("damping: changes after the penalty decayed start a new count") {
    Damper damper{DampingDef{}};
    CHECK_FALSE(damper.change(0));
    CHECK_FALSE(damper.change(1000));
    // 10 minutes later the penalty is 1.98 / 1024: a new episode.
    CHECK_FALSE(damper.change(601000));
    CHECK_FALSE(damper.change(602000));
    CHECK_FALSE(damper.change(603000));
    CHECK(damper.change(604000));
    CHECK(damper.reason() == "flapping: 4 changes in 3s");
}

TEST_CASE("damping: span_text") {
    CHECK(health::span_text(15000) == "15s");
    CHECK(health::span_text(130000) == "2m10s");
    CHECK(health::span_text(3720000) == "1h2m");
    CHECK(health::span_text(500) == "0.5s");
    CHECK(health::span_text(0) == "0s");
    CHECK(health::span_text(7026) == "7s");
    CHECK(health::span_text(1199) == "1.2s");
    CHECK(health::span_text(9960) == "10s");
}

TEST_CASE("damping: zone keys, defaults and the probe key") {
    CHECK(problems("{}") == "");
    CHECK(problems(R"({"half_life": 10, "suppress": 2.5, "reuse": 0.5, "max_suppress": 60})") ==
          "");
    const std::string text = R"({
  "zone": "lb.example.test.",
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1},
  "ns": ["ns1.lb.example.test."],
  "checks": {"web": {"type": "tcp", "port": 80, "damping": {"half_life": 10}},
             "plain": {"type": "tcp", "port": 80}},
  "pools": {"www": {"check": "web", "members": [{"address": "192.0.2.1"}]}}
})";
    const zone::LoadResult r = zone::parse_zone_json(text, "z.json");
    REQUIRE(r.ok());
    REQUIRE(r.spec.checks.size() == 2);
    const health::CheckDef& web = r.spec.checks[0].def;
    REQUIRE(web.damping.has_value());
    CHECK(web.damping->half_life_ms == 10000);
    CHECK(web.damping->suppress == 3);
    CHECK(web.damping->reuse == 1);
    CHECK(web.damping->max_suppress_ms == 900000);
    CHECK_FALSE(r.spec.checks[1].def.damping.has_value());
    // Damping is part of the probe's identity: changing it makes another probe.
    health::CheckDef other = web;
    other.damping->reuse = 0.5;
    CHECK(other.key() != web.key());
    other.damping.reset();
    CHECK(other.key() == r.spec.checks[1].def.key());
}

TEST_CASE("damping: located errors and did-you-mean") {
    CHECK(problems(R"({"half_lfe": 10})") ==
          "z.json:5:50: checks.web.damping.half_lfe: unknown key \"half_lfe\" (did you mean "
          "\"half_life\"?)\n");
    CHECK(problems(R"({"half_life": 0})") ==
          "z.json:5:63: checks.web.damping.half_life: half_life 0 is out of range (0.1..86400 "
          "seconds)\n");
    CHECK(problems(R"({"suppress": 2, "reuse": 2})") ==
          "z.json:5:74: checks.web.damping.reuse: reuse 2 must be below suppress 2\n");
    CHECK(problems(R"({"reuse": 4})") ==
          "z.json:5:59: checks.web.damping.reuse: reuse 4 must be below suppress 3 (the "
          "default)\n");
    CHECK(problems(R"({"half_life": 120, "max_suppress": 60})") ==
          "z.json:5:84: checks.web.damping.max_suppress: max_suppress 60 must be at least "
          "half_life 120\n");
    CHECK(problems(R"({"half_life": 1000})") ==
          "z.json:5:63: checks.web.damping.half_life: max_suppress 900 (the default) must be "
          "at least half_life 1000\n");
    CHECK(problems(R"({"suppress": "3"})") ==
          "z.json:5:62: checks.web.damping.suppress: expected a number, got a string\n");
    CHECK(problems("true") ==
          "z.json:5:49: checks.web.damping: expected an object, got a boolean\n");
    // On a member: the same checks, at the member's path.
    CHECK(problems("{}", R"(, "damping": {"reuse": 5})") ==
          "z.json:6:95: pools.www.members[0].damping.reuse: reuse 5 must be below suppress 3 "
          "(the default)\n");
    CHECK(problems("{}", R"(, "dampng": {})") ==
          "z.json:6:74: pools.www.members[0].dampng: unknown key \"dampng\" (did you mean "
          "\"damping\"?)\n");
}

TEST_CASE("damping: a member's own damping is its own probe; without a check, a warning") {
    const std::string text = R"({
  "zone": "lb.example.test.",
  "soa": {"mname": "ns1.example.net.", "rname": "hostmaster", "serial": 1},
  "ns": ["ns1.example.net."],
  "checks": {"web": {"type": "tcp", "port": 80, "damping": {}}},
  "pools": {"www": {"check": "web", "ttl": 30, "members": [
              {"address": "192.0.2.1"},
              {"address": "192.0.2.2", "damping": {"half_life": 10}}]},
            "plain": {"members": [{"address": "192.0.2.3", "damping": {}}]}}
})";
    const zone::LoadResult loaded = zone::parse_zone_json(text, "z.json");
    REQUIRE(loaded.ok());
    health::ProbeRegistry registry(16);
    const zone::CompileResult r = zone::compile_zone(loaded.spec, &registry);
    REQUIRE(r.zone);
    std::string diags;
    for (const zone::Diagnostic& d : r.diags) diags += d.to_string() + "\n";
    CHECK(diags ==
          "z.json:9:60: pools.plain.members[0].damping: warning: \"damping\" has no effect: no "
          "check probes this member\n");
    const std::vector<health::ProbeSpec> active = registry.active();
    REQUIRE(active.size() == 2);
    uint32_t check_half_life = 0, own_half_life = 0;
    for (const health::ProbeSpec& p : active) {
        REQUIRE(p.target->check.damping.has_value());
        (p.target->address_text == "192.0.2.1" ? check_half_life : own_half_life) =
            p.target->check.damping->half_life_ms;
    }
    CHECK(check_half_life == 60000);  // the check's: every default
    CHECK(own_half_life == 10000);    // the member's own replaces it
}
