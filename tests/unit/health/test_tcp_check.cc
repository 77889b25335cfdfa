// tcp checks on a real loop against loopback sockets.
#include <doctest/doctest.h>
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "attempt_runner.h"

namespace steerdns::test {

TEST_CASE("tcp check: a listening port is up, and the probe closes with a reset") {
    LoopbackSocket listener;
    listener.listen(16);
    AttemptRunner r;
    const auto res = r.run(
        health::make_tcp_attempt(r.loop(), loopback_target(tcp_check(listener.port())), r.done()));
    CHECK(res.ok);
    CHECK(res.reason == "tcp connect: ok");
    CHECK(res.seconds > 0);
    CHECK(res.seconds < 2);
    CHECK(backlog_connection_was_reset(listener));
}

TEST_CASE("tcp check: a closed port is down, connection refused") {
    LoopbackSocket closed;  // bound, never listening: holds the port, refuses connections
    AttemptRunner r;
    const auto res = r.run(
        health::make_tcp_attempt(r.loop(), loopback_target(tcp_check(closed.port())), r.done()));
    CHECK_FALSE(res.ok);
    CHECK(res.reason == "tcp connect: connection refused");
}

TEST_CASE("tcp check: a listener that never accepts is down at the timeout") {
    StalledListener stalled;
    AttemptRunner r;
    const auto res = r.run(health::make_tcp_attempt(
        r.loop(), loopback_target(tcp_check(stalled.listener.port(), 300)), r.done()));
    CHECK_FALSE(res.ok);
    CHECK(res.reason == "tcp connect: timeout after 0.3s");
    CHECK(res.seconds >= 0.29);
    CHECK(res.seconds < 2);
}

TEST_CASE("tcp check: IPv6 loopback") {
    LoopbackSocket listener(AF_INET6);
    if (!listener.bound()) {
        MESSAGE("no ::1 here: skipped");
        return;
    }
    listener.listen(16);
    AttemptRunner r;
    const auto res = r.run(health::make_tcp_attempt(
        r.loop(), loopback_target(tcp_check(listener.port()), 6), r.done()));
    CHECK(res.ok);
    CHECK(res.reason == "tcp connect: ok");
}

TEST_CASE("tcp check: cancel ends the attempt at once, reporting a failure") {
    StalledListener stalled;
    AttemptRunner r;
    std::optional<health::AttemptResult> got;
    auto a = health::make_tcp_attempt(r.loop(),
                                      loopback_target(tcp_check(stalled.listener.port(), 5000)),
                                      [&](const health::AttemptResult& res) { got = res; });
    a->start();
    uv_run(r.loop(), UV_RUN_NOWAIT);
    CHECK_FALSE(got.has_value());
    a->cancel();
    for (int i = 0; i < 10 && !got; ++i) uv_run(r.loop(), UV_RUN_NOWAIT);
    REQUIRE(got.has_value());
    CHECK_FALSE(got->ok);
    CHECK(got->reason == "tcp connect: operation canceled");
    CHECK(got->seconds < 1);
}

}  // namespace steerdns::test
