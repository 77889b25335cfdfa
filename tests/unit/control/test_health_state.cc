// Health in the state file: the round trip of its entries (binary keys included), the age
// filter applied at start, and what an older or newer file holds that this build skips.
#include <doctest/doctest.h>

#include "steerdns/control/drain_state.h"
#include "steerdns/health/flap_filter.h"

using namespace steerdns;

namespace {

health::SavedProbe probe(std::string key, health::State state, int64_t last) {
    health::SavedProbe s;
    s.key = std::move(key);
    s.address = "192.0.2.10";
    s.state = state;
    s.count = 1;
    s.since_unix_ms = 1'780'000'000'000;
    s.last_unix_ms = last;
    s.last_ok = state == health::State::up;
    s.reason = "http GET /healthz: status 200";
    return s;
}

}  // namespace

TEST_CASE("state file: health entries round trip, binary keys byte for byte") {
    control::StateFile in;
    const std::string key = std::string("\x04\xc0\x00\x02\x0a|http|%x", 14);
    in.health.push_back(probe(key, health::State::down, 1'780'000'005'000));
    in.health.push_back(probe("plain", health::State::up, 1'780'000'006'000));
    in.health.back().failback_held = true;
    const std::string text = control::state_json(in);
    CHECK(text.find("\"failback\": \"held\"") != std::string::npos);
    CHECK(text.find("\"health\"") != std::string::npos);
    control::StateFile out;
    std::string error;
    REQUIRE_MESSAGE(control::parse_state(text, out, error), error);
    REQUIRE(out.health.size() == 2);
    CHECK(out.health[0].key == key);
    CHECK(out.health[0].state == health::State::down);
    CHECK(out.health[0].count == 1);
    CHECK(out.health[0].last_unix_ms == 1'780'000'005'000);
    CHECK(out.health[0].since_unix_ms == 1'780'000'000'000);
    CHECK_FALSE(out.health[0].last_ok);
    CHECK(out.health[0].address == "192.0.2.10");
    CHECK(out.health[1].reason == "http GET /healthz: status 200");
    CHECK(out.health[1].state == health::State::up);
    CHECK_FALSE(out.health[0].failback_held);
    CHECK(out.health[1].failback_held);
}

TEST_CASE("state file: old files without health load; unknown states and bad entries skip") {
    control::StateFile out;
    std::string error;
    REQUIRE(control::parse_state(R"({"version": 1, "drained": []})", out, error));
    CHECK(out.health.empty());
    const char* text = R"({"version": 1, "drained": [], "health": [
        {"key": "a", "state": "sideways", "count": 0, "since": "2026-12-06T10:00:00Z",
         "last": "2026-12-06T10:00:00Z", "last_ok": true, "reason": ""},
        {"key": "b%zz", "state": "up", "count": 0, "since": "2026-12-06T10:00:00Z",
         "last": "2026-12-06T10:00:00Z", "last_ok": true, "reason": ""},
        {"key": "c", "state": "down", "count": 2, "since": "2026-12-06T10:00:00Z",
         "last": "2026-12-06T10:00:00Z", "last_ok": false, "reason": "refused"},
        {"key": "d", "state": "up"}, 17]})";
    REQUIRE_MESSAGE(control::parse_state(text, out, error), error);
    REQUIRE(out.health.size() == 1);
    CHECK(out.health[0].key == "c");
    CHECK(out.health[0].count == 2);
    // Drains alone, as before: no "health" key at all.
    CHECK(control::state_json(control::StateFile{}).find("health") == std::string::npos);
}

TEST_CASE("state file: only entries younger than the max age are believed") {
    const int64_t now = 1'780'000'100'000;
    const std::vector<health::SavedProbe> saved{probe("fresh", health::State::up, now - 299'000),
                                                probe("stale", health::State::up, now - 301'000),
                                                probe("future", health::State::up, now + 60'000)};
    const auto fresh = control::fresh_health(saved, now, 300'000);
    REQUIRE(fresh.size() == 1);
    CHECK(fresh[0].key == "fresh");
    CHECK(control::fresh_health(saved, now, 0).empty());
}

TEST_CASE("flap filter: a restored state counts on from the saved count") {
    health::FlapFilter f(2, 3);
    f.restore(health::State::up, 2);  // two failures already: the third takes it down
    CHECK(f.state() == health::State::up);
    CHECK(f.feed(false));
    CHECK(f.state() == health::State::down);
    health::FlapFilter g(2, 3);
    g.restore(health::State::down, 9);  // clamped below rise
    CHECK(g.feed(true));
    CHECK(g.state() == health::State::up);
    health::FlapFilter u(2, 3);
    u.restore(health::State::unknown, 0);
    CHECK(u.state() == health::State::unknown);
}
