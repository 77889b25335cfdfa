// tcp checks through io_uring on a real loop against loopback sockets: the same results and
// reasons as the libuv attempt (test_tcp_check.cc), and a cancelled probe leaves nothing.
#include <dirent.h>
#include <doctest/doctest.h>
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <vector>

#include "attempt_runner.h"
#include "steerdns/health/tcp_uring.h"

namespace steerdns::test {
namespace {

// A ring on the runner's loop, or none where the kernel refuses one (the test then says so
// and checks nothing: the daemon falls back to libuv there).
std::unique_ptr<health::UringLoop> make_ring(AttemptRunner& r, unsigned max_in_flight = 1000) {
    try {
        return std::make_unique<health::UringLoop>(r.loop(), max_in_flight);
    } catch (const std::runtime_error& e) {
        MESSAGE("no io_uring here (" << e.what() << "): skipped");
        return nullptr;
    }
}

// Runs the loop without blocking (the ring's poll keeps it alive, and a close that succeeds
// posts nothing to wake it) until `done`, for at most 3 s.
template <class Pred>
bool run_until(uv_loop_t* loop, Pred done) {
    for (int i = 0; i < 3000 && !done(); ++i) {
        uv_run(loop, UV_RUN_NOWAIT);
        if (!done()) ::usleep(1000);
    }
    return done();
}

size_t open_descriptors() {
    size_t n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (::readdir(d) != nullptr) ++n;
        ::closedir(d);
    }
    return n;
}

}  // namespace

TEST_CASE("tcp check (io_uring): a listening port is up, and the probe closes with a reset") {
    LoopbackSocket listener;
    listener.listen(16);
    AttemptRunner r;
    auto ring = make_ring(r);
    if (!ring) return;
    const auto res = r.run(health::make_tcp_uring_attempt(
        *ring, loopback_target(tcp_check(listener.port())), r.done()));
    CHECK(res.ok);
    CHECK(res.reason == "tcp connect: ok");
    CHECK(res.seconds > 0);
    CHECK(res.seconds < 2);
    // The close is a ring request of the next turn: run one, then the backend sees the reset.
    CHECK(run_until(r.loop(), [&] { return ring->in_flight() == 0; }));
    CHECK(backlog_connection_was_reset(listener));
}

TEST_CASE("tcp check (io_uring): a closed port is down, connection refused") {
    LoopbackSocket closed;  // bound, never listening: holds the port, refuses connections
    AttemptRunner r;
    auto ring = make_ring(r);
    if (!ring) return;
    const auto res = r.run(
        health::make_tcp_uring_attempt(*ring, loopback_target(tcp_check(closed.port())), r.done()));
    CHECK_FALSE(res.ok);
    CHECK(res.reason == "tcp connect: connection refused");
}

TEST_CASE("tcp check (io_uring): a listener that never accepts is down at the timeout") {
    StalledListener stalled;
    AttemptRunner r;
    auto ring = make_ring(r);
    if (!ring) return;
    const auto res = r.run(health::make_tcp_uring_attempt(
        *ring, loopback_target(tcp_check(stalled.listener.port(), 300)), r.done()));
    CHECK_FALSE(res.ok);
    CHECK(res.reason == "tcp connect: timeout after 0.3s");
    CHECK(res.seconds >= 0.29);
    CHECK(res.seconds < 2);
}

TEST_CASE("tcp check (io_uring): IPv6 loopback") {
    LoopbackSocket listener(AF_INET6);
    if (!listener.bound()) {
        MESSAGE("no ::1 here: skipped");
        return;
    }
    listener.listen(16);
    AttemptRunner r;
    auto ring = make_ring(r);
    if (!ring) return;
    const auto res = r.run(health::make_tcp_uring_attempt(
        *ring, loopback_target(tcp_check(listener.port()), 6), r.done()));
    CHECK(res.ok);
    CHECK(res.reason == "tcp connect: ok");
}

TEST_CASE("tcp check (io_uring): many probes in one turn, more than the ring holds") {
    // A ring sized for one probe (64 entries): 200 probes queued in one turn are submitted in
    // rounds, none dropped, each answered.
    LoopbackSocket listener;
    listener.listen(512);
    LoopbackSocket closed;
    AttemptRunner r;
    auto ring = make_ring(r, 1);
    if (!ring) return;
    std::vector<std::unique_ptr<health::Attempt>> attempts;
    int up = 0;
    int refused = 0;
    int other = 0;
    for (int i = 0; i < 200; ++i) {
        const uint16_t port = i % 2 == 0 ? listener.port() : closed.port();
        attempts.push_back(health::make_tcp_uring_attempt(
            *ring, loopback_target(tcp_check(port)), [&](const health::AttemptResult& res) {
                if (res.ok)
                    ++up;
                else if (res.reason == "tcp connect: connection refused")
                    ++refused;
                else
                    ++other;
            }));
    }
    for (auto& a : attempts) a->start();
    run_until(r.loop(), [&] { return up + refused + other == 200; });
    CHECK(up == 100);
    CHECK(refused == 100);
    CHECK(other == 0);
    attempts.clear();
    CHECK(run_until(r.loop(), [&] { return ring->in_flight() == 0; }));
}

TEST_CASE("tcp check (io_uring): cancel ends the attempt in flight and leaves nothing behind") {
    StalledListener stalled;
    AttemptRunner r;
    const size_t fds_before = open_descriptors();
    auto ring = make_ring(r);
    if (!ring) return;
    const size_t fds_with_ring = open_descriptors();
    std::optional<health::AttemptResult> got;
    auto a = health::make_tcp_uring_attempt(
        *ring, loopback_target(tcp_check(stalled.listener.port(), 5000)),
        [&](const health::AttemptResult& res) { got = res; });
    a->start();
    uv_run(r.loop(), UV_RUN_NOWAIT);  // submitted: the connect hangs in the kernel
    CHECK_FALSE(got.has_value());
    CHECK(ring->in_flight() == 1);
    a->cancel();
    run_until(r.loop(), [&] { return got.has_value(); });
    REQUIRE(got.has_value());
    CHECK_FALSE(got->ok);
    CHECK(got->reason == "tcp connect: operation canceled");
    CHECK(got->seconds < 1);
    a.reset();
    CHECK(run_until(r.loop(), [&] { return ring->in_flight() == 0; }));
    CHECK(open_descriptors() == fds_with_ring);  // the probe's socket is closed
    // An attempt destroyed in flight (never cancelled) is cancelled by its destructor; its
    // state stays with the ring until the kernel is done with it.
    auto b = health::make_tcp_uring_attempt(
        *ring, loopback_target(tcp_check(stalled.listener.port(), 5000)),
        [](const health::AttemptResult&) { FAIL("a destroyed attempt reported"); });
    b->start();
    uv_run(r.loop(), UV_RUN_NOWAIT);
    b.reset();
    CHECK(run_until(r.loop(), [&] { return ring->in_flight() == 0; }));
    CHECK(open_descriptors() == fds_with_ring);
    // Shutdown: the handles close once idle and the loop ends; the ring's descriptors go.
    ring->close_when_idle();
    CHECK(uv_run(r.loop(), UV_RUN_NOWAIT) == 0);
    ring.reset();
    CHECK(open_descriptors() == fds_before);
}

TEST_CASE("tcp check (io_uring): shutdown with a probe in flight ends it, then the loop") {
    StalledListener stalled;
    AttemptRunner r;
    auto ring = make_ring(r);
    if (!ring) return;
    std::optional<health::AttemptResult> got;
    auto a = health::make_tcp_uring_attempt(
        *ring, loopback_target(tcp_check(stalled.listener.port(), 5000)),
        [&](const health::AttemptResult& res) { got = res; });
    a->start();
    uv_run(r.loop(), UV_RUN_NOWAIT);
    // As Monitor's shutdown does it: cancel every attempt, then let the loop run out.
    a->cancel();
    ring->close_when_idle();
    int turns = 0;
    while (uv_run(r.loop(), UV_RUN_ONCE) != 0 && ++turns < 100) {
    }
    CHECK(turns < 100);
    REQUIRE(got.has_value());
    CHECK(got->reason == "tcp connect: operation canceled");
    CHECK(ring->in_flight() == 0);
}

TEST_CASE("probe io names") {
    CHECK(std::string(health::probe_io_name(health::ProbeIo::automatic)) == "auto");
    CHECK(std::string(health::probe_io_name(health::ProbeIo::uring)) == "uring");
    CHECK(std::string(health::probe_io_name(health::ProbeIo::libuv)) == "libuv");
}

}  // namespace steerdns::test
