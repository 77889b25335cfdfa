// Events (control/events.h) and the notify program's queue (control/notify.h).
#include <unistd.h>

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "helpers.h"
#include "probed_zone.h"
#include "steerdns/control/events.h"
#include "steerdns/control/notify.h"
#include "steerdns/util/file.h"

using namespace steerdns;
using control::Event;

namespace {

Event event_n(int n) {
    return Event{
        1700000000000 + n * 1000,       "lb.example.test.",    "www",
        "192.0.2." + std::to_string(n), n % 2 ? "down" : "up", "reason " + std::to_string(n)};
}

// A launcher that runs nothing: it records each launch and lets the test end it.
struct FakeLauncher : control::NotifyLauncher {
    struct Launched {
        std::vector<std::string> argv;
        std::function<void(const control::NotifyExit&)> done;
    };
    std::vector<Launched> launched;
    bool fail_next = false;
    bool launch(const std::vector<std::string>& argv,
                std::function<void(const control::NotifyExit&)> done, std::string& error) override {
        if (fail_next) {
            fail_next = false;
            error = "no such file or directory";
            return false;
        }
        launched.push_back({argv, std::move(done)});
        return true;
    }
    void finish(size_t i, int64_t status = 0) {
        auto done = std::move(launched.at(i).done);
        REQUIRE(done);
        done(control::NotifyExit{status, 0, false});
    }
};

}  // namespace

TEST_CASE("events: the ring keeps the last 1000, newest first") {
    control::EventRing ring;
    for (int i = 0; i < 1005; ++i) ring.add(event_n(i));
    CHECK(ring.size() == 1000);
    std::vector<std::string> addresses;
    ring.for_each_newest_first([&](const Event& e) { addresses.push_back(e.address); });
    REQUIRE(addresses.size() == 1000);
    CHECK(addresses.front() == "192.0.2.1004");
    CHECK(addresses.back() == "192.0.2.5");  // 0..4 went first

    control::EventRing small(2);
    small.add(event_n(1));
    small.add(event_n(2));
    small.add(event_n(3));
    const nlohmann::ordered_json j = control::events_json(small);
    REQUIRE(j.size() == 2);
    CHECK(j[0].dump() == R"({"time":"2023-11-14T22:13:23Z","zone":"lb.example.test.","pool":"www",)"
                         R"("address":"192.0.2.3","state":"down","reason":"reason 3"})");
    CHECK(j[1]["address"] == "192.0.2.2");
    CHECK(control::events_json(control::EventRing{}).dump() == "[]");
}

TEST_CASE("events: a first result is an event only when it is down") {
    health::SlotChange c;
    c.state = health::State::up;
    c.first = true;
    CHECK_FALSE(control::is_event(c));
    c.state = health::State::down;
    CHECK(control::is_event(c));
    c.first = false;
    CHECK(control::is_event(c));
    c.state = health::State::up;
    CHECK(control::is_event(c));
    c.state = health::State::unknown;
    CHECK_FALSE(control::is_event(c));
}

TEST_CASE("events: a slot change becomes one event per member probed by it") {
    // 192.0.2.10 is in both pools with the same check: one slot, two members.
    test::ProbedZone z(R"({
  "zone": "lb.example.test.",
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1},
  "ns": ["ns1.example."],
  "checks": {"web": {"type": "tcp", "port": 80}},
  "pools": {
    "www": {"check": "web", "ttl": 30, "members": [{"address": "192.0.2.10"}, {"address": "192.0.2.11"}]},
    "api": {"check": "web", "ttl": 30, "members": [{"address": "192.0.2.10"}]}
  }
})");
    const uint32_t slot = z.pool("www").members[0].probe_slot;
    REQUIRE(slot == z.pool("api").members[0].probe_slot);
    REQUIRE(slot != z.pool("www").members[1].probe_slot);
    health::SlotChange c{
        slot, "key", health::State::down, false, "tcp: refused (after 3 failures)", 1700000000000};
    std::vector<Event> out;
    control::expand_slot_change(*z.snap, c, [&](Event e, const zone::Zone& zz) {
        CHECK(&zz == z.zone.get());
        out.push_back(std::move(e));
    });
    REQUIRE(out.size() == 2);
    CHECK(out[0].zone == "lb.example.test.");
    CHECK(out[0].pool == "www");
    CHECK(out[1].pool == "api");
    for (const Event& e : out) {
        CHECK(e.address == "192.0.2.10");
        CHECK(e.state == "down");
        CHECK(e.reason == "tcp: refused (after 3 failures)");
        CHECK(e.unix_ms == 1700000000000);
    }
    c.slot = health::kNoProbe - 1;  // nobody's
    out.clear();
    control::expand_slot_change(*z.snap, c,
                                [&](Event e, const zone::Zone&) { out.push_back(std::move(e)); });
    CHECK(out.empty());
}

TEST_CASE("notify: placeholders are substituted in every argument, once") {
    const Event e{0, "lb.example.test.", "www", "2001:db8::1", "down", "http GET /: status 500"};
    CHECK(control::notify_argv(
              {"/usr/local/bin/on-change", "{zone}", "{pool}", "{address}", "{state}", "{reason}"},
              e) == std::vector<std::string>{"/usr/local/bin/on-change", "lb.example.test.", "www",
                                             "2001:db8::1", "down", "http GET /: status 500"});
    CHECK(control::notify_argv({"--member={pool}/{address}", "{state}{state}", "{nope}", "{", ""},
                               e) ==
          std::vector<std::string>{"--member=www/2001:db8::1", "downdown", "{nope}", "{", ""});
    // A value holding a placeholder's text is not substituted again.
    const Event tricky{0, "z.", "{state}", "a", "up", "r"};
    CHECK(control::notify_argv({"{pool}"}, tricky) == std::vector<std::string>{"{state}"});
}

TEST_CASE("notify: at most max_running at once, a bounded queue, then dropped") {
    FakeLauncher l;
    control::NotifyQueue q(l, control::NotifyLimits{2, 3, 10000});
    for (int i = 0; i < 7; ++i) q.submit({"/bin/n", std::to_string(i)}, event_n(i));
    CHECK(l.launched.size() == 2);
    CHECK(q.running() == 2);
    CHECK(q.queued() == 3);
    CHECK(q.dropped() == 2);  // 5 and 6
    l.finish(0);
    CHECK(q.running() == 2);
    CHECK(q.queued() == 2);
    REQUIRE(l.launched.size() == 3);
    CHECK(l.launched[2].argv == std::vector<std::string>{"/bin/n", "2"});  // first come
    l.finish(1, 1);  // a failure: counted, the next runs, nothing is retried
    CHECK(q.failed() == 1);
    REQUIRE(l.launched.size() == 4);
    CHECK(l.launched[3].argv[1] == "3");
    // A program that cannot start is a failure too, and the one after it still runs.
    l.fail_next = true;
    l.finish(2);
    CHECK(q.failed() == 2);
    REQUIRE(l.launched.size() == 4);  // "4" failed to start; nothing else waits
    CHECK(q.queued() == 0);
    CHECK(q.running() == 1);
    l.finish(3);
    CHECK(q.running() == 0);
    q.submit({"/bin/n", "again"}, event_n(9));
    CHECK(q.running() == 1);
    CHECK(l.launched.size() == 5);
}

TEST_CASE("notify: a run that ends after the queue is gone is ignored") {
    FakeLauncher l;
    {
        control::NotifyQueue q(l);
        q.submit({"/bin/n"}, event_n(1));
    }
    l.finish(0);  // must not touch the freed queue (ASan would say)
    CHECK(l.launched.size() == 1);
}

TEST_CASE(
    "notify: the libuv launcher runs the program with its arguments and kills it at the "
    "timeout") {
    util::Loop loop;
    char dir_template[] = "/tmp/steerdns-notify-XXXXXX";
    REQUIRE(mkdtemp(dir_template) != nullptr);
    const std::string out = std::string(dir_template) + "/args";
    // The script gets all the time it may need (a loaded machine); the sleep is cut at 300 ms.
    control::UvNotifyLauncher launcher(loop.get(), 10000);
    control::UvNotifyLauncher impatient(loop.get(), 300);
    std::vector<control::NotifyExit> exits;
    std::string error;
    REQUIRE(launcher.launch(
        {"/bin/sh", "-c", "printf '%s|' \"$@\" > " + out + "; exit 3", "sh", "lb.example.test.",
         "a b"},
        [&](const control::NotifyExit& e) { exits.push_back(e); }, error));
    REQUIRE(impatient.launch(
        {"/bin/sleep", "30"}, [&](const control::NotifyExit& e) { exits.push_back(e); }, error));
    CHECK_FALSE(launcher.launch(
        {"/nonexistent/notify"}, [&](const control::NotifyExit&) {}, error));
    CHECK(error.find("no such file") != std::string::npos);
    const uint64_t start = uv_hrtime();
    uv_run(loop.get(), UV_RUN_DEFAULT);
    CHECK((uv_hrtime() - start) / 1000000 < 9000);  // the sleep was killed, not waited for
    REQUIRE(exits.size() == 2);
    // In the order they ended, which a loaded machine may swap.
    const bool script_first = !exits[0].timed_out;
    const control::NotifyExit& script = exits[script_first ? 0 : 1];
    const control::NotifyExit& sleeper = exits[script_first ? 1 : 0];
    CHECK(script.status == 3);
    CHECK_FALSE(script.timed_out);
    CHECK(sleeper.timed_out);
    CHECK(sleeper.signal == 9);
    std::string text;
    REQUIRE(util::read_file(out, text, error));
    CHECK(text == "lb.example.test.|a b|");
    std::remove(out.c_str());
    rmdir(dir_template);
}
