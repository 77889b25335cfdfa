// Reloader and maintenance windows: a window that begins while a run is working must still
// take effect at once, not at the next periodic scan (CI saw one 2.3 s late: the run looked
// just before the start, and the timer was then armed for the window's end).
#include <doctest/doctest.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <functional>
#include <memory>
#include <thread>

#include "helpers.h"
#include "steerdns/server/reloader.h"
#include "steerdns/util/clock.h"

using namespace steerdns;
using namespace steerdns::test;

namespace {

std::string rfc3339(int64_t unix_s) {
    const std::time_t t = unix_s;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string zone_with_window(int serial, int64_t start_s, int64_t end_s) {
    return R"({"zone": "mw.test.", "soa": {"mname": "ns1", "rname": "h", "serial": )" +
           std::to_string(serial) + R"(},
      "ns": ["ns1.example."], "pools": {"www": {"policy": "all", "members": [
        {"address": "192.0.2.1"},
        {"address": "192.0.2.2", "maintenance": [{"start": ")" +
           rfc3339(start_s) + R"(", "end": ")" + rfc3339(end_s) + R"("}]}]}}})";
}

bool second_in_maintenance(const std::vector<zone::ZonePtr>& zones) {
    return zones.size() == 1 && zones[0]->pools.size() == 1 &&
           zones[0]->pools[0].members.size() == 2 && zones[0]->pools[0].members[1].in_maintenance;
}

}  // namespace

// Runs the loop, calling `at` when the wall clock reaches `when_ms`, until `until_ms`.
struct LoopTimers {
    uv_loop_t* loop;
    struct Step {
        uv_timer_t timer;
        std::function<void()> fn;
    };
    std::vector<std::unique_ptr<Step>> steps;

    void at(int64_t when_ms, std::function<void()> fn) {
        auto& s = steps.emplace_back(std::make_unique<Step>());
        s->fn = std::move(fn);
        uv_timer_init(loop, &s->timer);
        s->timer.data = s.get();
        uv_update_time(loop);
        const int64_t delay = std::max<int64_t>(0, when_ms - util::unix_ms_now());
        uv_timer_start(
            &s->timer,
            [](uv_timer_t* t) {
                static_cast<Step*>(t->data)->fn();
                uv_close(reinterpret_cast<uv_handle_t*>(t), nullptr);
            },
            static_cast<uint64_t>(delay), 0);
    }
};

TEST_CASE("reloader: a window crossed while a run works is applied at once") {
    // The run that first reads the window begins before its start and, compiling slowly,
    // ends after it. The window must still begin then, not at the next 5 s scan.
    TempDir dir;
    const int64_t start_s = util::unix_ms_now() / 1000 + 2;  // 1 to 2 s ahead
    const int64_t start_ms = start_s * 1000;
    dir.write("mw.json", zone_with_window(1, start_s + 100, start_s + 160));

    uv_loop_t loop;
    REQUIRE(uv_loop_init(&loop) == 0);
    std::atomic<int> builds{0};
    std::atomic<int64_t> drained_at_ms{0};
    {
        server::Reloader reloader(
            &loop, dir.path.string(),
            [&](std::vector<zone::ZonePtr> zones, uint64_t) -> SnapshotPtr {
                if (second_in_maintenance(zones) && drained_at_ms == 0)
                    drained_at_ms = util::unix_ms_now();
                if (++builds == 2)
                    std::this_thread::sleep_until(std::chrono::system_clock::time_point(
                        std::chrono::milliseconds(start_ms + 300)));
                return nullptr;
            },
            [](SnapshotPtr) {});
        reloader.load_now();
        reloader.start();
        LoopTimers timers{&loop, {}};
        // The edit that brings the window in, read by a run (the file watch's) before it.
        timers.at(start_ms - 700,
                  [&] { dir.write("mw.json", zone_with_window(2, start_s, start_s + 60)); });
        // Well before the 5 s scan, which would otherwise catch the window late.
        timers.at(start_ms + 1500, [&] { reloader.stop(); });
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    uv_run(&loop, UV_RUN_DEFAULT);  // the reloader's handles close
    CHECK(uv_loop_close(&loop) == 0);

    CHECK(builds >= 2);
    REQUIRE(drained_at_ms != 0);
    // The slow run ended 300 ms after the start; the next one follows at once.
    CHECK(drained_at_ms - start_ms < 700);
}
