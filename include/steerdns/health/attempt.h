// One run of a health check: the seam between the monitor (schedule, caps, flap filter,
// status: monitor.cc) and the check types, one file each as gdnsd has one per monitor:
// tcp_check.cc (connect, closed with a reset), tcp_uring.cc (the same through io_uring, the
// kernel holding its request until it completes or is cancelled), exec_check.cc (uv_spawn,
// killed at the timeout), http_check.cc (https: libcurl's multi interface on the loop) and
// http_client.cc (plain http: its own HTTP/1.1 client on libuv). An attempt runs on one
// libuv loop, always to its end (bounded by the check's timeout, so no libuv request is ever
// cancelled under a live callback), and reports exactly once.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "steerdns/health/registry.h"

namespace steerdns::health {

struct AttemptResult {
    bool ok = false;
    std::string reason;  // "tcp connect: connection refused", "http GET /healthz: status 200"
    double seconds = 0;  // from the attempt's creation to its result
};

class Attempt {
  public:
    // Called once, on the loop, with the result. It may destroy the attempt: the attempt
    // touches nothing of its own after calling it.
    using Done = std::function<void(const AttemptResult&)>;

    Attempt(uv_loop_t* loop, std::shared_ptr<const ProbeTarget> target, Done done);
    virtual ~Attempt() = default;
    Attempt(const Attempt&) = delete;
    Attempt& operator=(const Attempt&) = delete;

    // May report at once (a failed spawn): the caller touches the attempt no more after it.
    virtual void start() = 0;
    // Shutdown: end as soon as possible (the result still comes, and is to be ignored).
    virtual void cancel() = 0;

  protected:
    // Reports the result through `done`; callers return right after it.
    void finish(bool ok, const std::string& reason);
    uv_loop_t* loop() const { return loop_; }
    const ProbeTarget& target() const { return *target_; }
    const CheckDef& check() const { return target_->check; }
    std::string timeout_text() const;  // "timeout after 0.4s"

  private:
    uv_loop_t* loop_;
    std::shared_ptr<const ProbeTarget> target_;  // kept alive even if the probe goes away
    Done done_;
    uint64_t started_;  // uv_hrtime(), for the result's duration
};

// The http(s) attempts' connections on one libuv loop, shared by the attempts given it:
// libcurl's multi handle for https (a uv_poll per socket libcurl names, one uv_timer for its
// timeouts), and the kept connections of plain http's own client (http_client.h). It must
// outlive them; destroy it only once none is running (cancel ends an http attempt at once).
class CurlMultiLoop {
  public:
    explicit CurlMultiLoop(uv_loop_t* loop);  // throws when libcurl or libuv cannot start
    ~CurlMultiLoop();
    CurlMultiLoop(const CurlMultiLoop&) = delete;
    CurlMultiLoop& operator=(const CurlMultiLoop&) = delete;

    uv_loop_t* loop() const;
    // How many idle connections each keeps (keepalive checks: one per target and path);
    // beyond that libcurl closes the oldest, and http closes the one just used.
    void keep_connections(size_t https, size_t http);

    struct Impl;  // http_check.cc
    Impl& impl() { return *impl_; }

  private:
    std::unique_ptr<Impl> impl_;
};

// The check types. None starts before start(); `target->check.type` says which to call.
// tcp: up when a connection to the address and port is accepted within the timeout.
std::unique_ptr<Attempt> make_tcp_attempt(uv_loop_t* loop,
                                          std::shared_ptr<const ProbeTarget> target,
                                          Attempt::Done done);
// exec: the command (with "{address}" and "{port}" substituted) exits 0 within the timeout.
std::unique_ptr<Attempt> make_exec_attempt(uv_loop_t* loop,
                                           std::shared_ptr<const ProbeTarget> target,
                                           Attempt::Done done);
// http and https: every path answers a status in expect_status, its body containing
// expect_body. http goes to the own client with `curl`'s kept connections, https to libcurl.
std::unique_ptr<Attempt> make_http_attempt(CurlMultiLoop& curl,
                                           std::shared_ptr<const ProbeTarget> target,
                                           Attempt::Done done);

}  // namespace steerdns::health
