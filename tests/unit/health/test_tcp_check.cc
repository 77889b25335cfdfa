// tcp checks on a real loop against loopback sockets.
#include <doctest/doctest.h>
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "attempt_runner.h"

namespace steerdns::test {
namespace {

health::CheckDef tcp_check(uint16_t port, uint32_t timeout_ms = 2000) {
    health::CheckDef c;
    c.type = health::CheckType::tcp;
    c.port = port;
    c.timeout_ms = timeout_ms;
    return c;
}

}  // namespace

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
    // The connection waits in the backlog, already closed by the prober: a reset (no FIN,
    // no TIME_WAIT on the prober's side), which the backend reads as ECONNRESET, not EOF.
    const int conn = ::accept(listener.fd(), nullptr, nullptr);
    REQUIRE(conn >= 0);
    char byte;
    const ssize_t n = ::recv(conn, &byte, 1, 0);
    const int err = errno;
    ::close(conn);
    CHECK(n == -1);
    CHECK(err == ECONNRESET);
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
    // listen(fd, 0) takes one connection into its queue; with that one there and never
    // accepted, the kernel drops further SYNs, so the probe's connect hangs.
    LoopbackSocket listener;
    listener.listen(0);
    LoopbackSocket filler;
    {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa.sin_port = htons(listener.port());
        REQUIRE(::connect(filler.fd(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    }
    AttemptRunner r;
    const auto res = r.run(health::make_tcp_attempt(
        r.loop(), loopback_target(tcp_check(listener.port(), 300)), r.done()));
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
    LoopbackSocket listener;
    listener.listen(0);
    LoopbackSocket filler;
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(listener.port());
    REQUIRE(::connect(filler.fd(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    AttemptRunner r;
    std::optional<health::AttemptResult> got;
    auto a = health::make_tcp_attempt(r.loop(), loopback_target(tcp_check(listener.port(), 5000)),
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
