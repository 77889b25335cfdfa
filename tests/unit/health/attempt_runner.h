// Runs one health check attempt at a time on a real libuv loop, with a bounded wait, and
// loopback sockets for it to probe.
#pragma once

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <optional>

#include "steerdns/health/attempt.h"
#include "steerdns/util/uv.h"

namespace steerdns::test {

inline std::shared_ptr<const health::ProbeTarget> loopback_target(health::CheckDef check,
                                                                  int family = 4) {
    auto t = std::make_shared<health::ProbeTarget>();
    t->family = static_cast<uint8_t>(family);
    if (family == 4) {
        const uint8_t v4[4] = {127, 0, 0, 1};
        std::memcpy(t->address, v4, 4);
        t->address_text = "127.0.0.1";
    } else {
        t->address[15] = 1;
        t->address_text = "::1";
    }
    t->check = std::move(check);
    return t;
}

class AttemptRunner {
  public:
    uv_loop_t* loop() { return loop_.get(); }

    // The Done to give the attempt: keeps the result for run().
    health::Attempt::Done done() {
        return [this](const health::AttemptResult& r) { result_ = r; };
    }

    // Starts the attempt and runs the loop until it reports, for at most `limit_ms`; past
    // that the test fails and the attempt is cancelled. The attempt is gone on return.
    health::AttemptResult run(std::unique_ptr<health::Attempt> attempt, uint64_t limit_ms = 5000) {
        result_.reset();
        bool expired = false;
        auto guard = util::make_uv<uv_timer_t>();
        util::uv_check(uv_timer_init(loop(), guard.get()), "uv_timer_init");
        guard->data = &expired;
        uv_timer_start(
            guard.get(), [](uv_timer_t* t) { *static_cast<bool*>(t->data) = true; }, limit_ms, 0);
        attempt->start();
        while (!result_ && !expired) uv_run(loop(), UV_RUN_ONCE);
        if (!result_) {
            FAIL_CHECK("no result within " << limit_ms << " ms");
            attempt->cancel();
            while (!result_ && uv_run(loop(), UV_RUN_ONCE) != 0) {
            }
        }
        attempt.reset();
        guard.reset();
        uv_run(loop(), UV_RUN_NOWAIT);  // closes what the attempt released
        REQUIRE(result_.has_value());
        return *result_;
    }

  private:
    util::Loop loop_;  // first: destroyed last, after every handle on it
    std::optional<health::AttemptResult> result_;
};

// A plain loopback socket, bound to a free port; listening only when asked.
class LoopbackSocket {
  public:
    explicit LoopbackSocket(int family = AF_INET) {
        fd_ = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_storage ss{};
        socklen_t len;
        if (family == AF_INET) {
            auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
            sa->sin_family = AF_INET;
            sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            len = sizeof(sockaddr_in);
        } else {
            auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
            sa->sin6_family = AF_INET6;
            sa->sin6_addr = in6addr_loopback;
            len = sizeof(sockaddr_in6);
        }
        bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) == 0;
        if (!bound_) return;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0);
        port_ = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                        : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    }
    ~LoopbackSocket() { ::close(fd_); }
    LoopbackSocket(const LoopbackSocket&) = delete;
    LoopbackSocket& operator=(const LoopbackSocket&) = delete;

    bool bound() const { return bound_; }  // false: no such loopback address here (::1)
    uint16_t port() const { return port_; }
    int fd() const { return fd_; }
    void listen(int backlog) { REQUIRE(::listen(fd_, backlog) == 0); }

  private:
    int fd_ = -1;
    bool bound_ = false;
    uint16_t port_ = 0;
};

// A tcp check of `port` with `timeout_ms`, every other field at its default.
inline health::CheckDef tcp_check(uint16_t port, uint32_t timeout_ms = 2000) {
    health::CheckDef c;
    c.type = health::CheckType::tcp;
    c.port = port;
    c.timeout_ms = timeout_ms;
    return c;
}

// listen(fd, 0) takes one connection into its queue; with that one there and never accepted,
// the kernel drops further SYNs, so a probe's connect hangs until its timeout.
struct StalledListener {
    LoopbackSocket listener;
    LoopbackSocket filler;
    StalledListener() {
        listener.listen(0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa.sin_port = htons(listener.port());
        REQUIRE(::connect(filler.fd(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    }
};

// The probe's connection waits in `listener`'s backlog, already closed by the prober: true
// when it was closed with a reset (no FIN, no TIME_WAIT on the prober's side), which the
// backend reads as ECONNRESET, not EOF.
inline bool backlog_connection_was_reset(const LoopbackSocket& listener) {
    const int conn = ::accept(listener.fd(), nullptr, nullptr);
    REQUIRE(conn >= 0);
    char byte;
    const ssize_t n = ::recv(conn, &byte, 1, 0);
    const int err = errno;
    ::close(conn);
    return n == -1 && err == ECONNRESET;
}

}  // namespace steerdns::test
