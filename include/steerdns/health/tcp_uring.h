// tcp checks through io_uring (issue 17 part 2, bench/README.md "io_uring for tcp probes"):
// the connects of the probes that fall due in one turn of the prober's loop go to the kernel
// in one io_uring_enter, each linked to a timeout (the check's), and each probe's socket is
// closed by the ring too: 3.4 system calls per probe where libuv makes 6.5, 0.78-0.84x its CPU
// per probe in the daemon (0.42-0.46x in batches of 8+; bench/README.md). The same results
// and reasons as tcp_check.cc; libuv stays the path where the ring cannot be made
// (--probe-io).
#pragma once

#include <uv.h>

#include <memory>
#include <string>

#include "steerdns/health/attempt.h"

namespace steerdns::health {

// Which I/O the tcp probes use (--probe-io): auto is io_uring when a ring can be created
// (Docker's default seccomp profile and kernel.io_uring_disabled refuse it), else libuv.
enum class ProbeIo { automatic, uring, libuv };
const char* probe_io_name(ProbeIo io);  // "auto", "uring", "libuv"

// One io_uring for one libuv loop, shared by the tcp attempts given it. Requests are queued
// in memory and handed to the kernel once per loop turn (a uv_prepare); completions are read
// when the ring's eventfd (a uv_poll) fires. It must outlive its attempts.
class UringLoop {
  public:
    // `max_in_flight`: probes at once (--max-probes-in-flight), which sizes the rings; more
    // still work (the queue is submitted in as many rounds as it takes). Throws
    // std::runtime_error saying why when the kernel refuses a ring.
    UringLoop(uv_loop_t* loop, unsigned max_in_flight);
    ~UringLoop();
    UringLoop(const UringLoop&) = delete;
    UringLoop& operator=(const UringLoop&) = delete;

    uv_loop_t* loop() const;
    // Shutdown: closes the loop handles once every request in the kernel has completed (the
    // loop can then end); the attempts still report before that.
    void close_when_idle();
    // Requests in the kernel or queued for it (tests: nothing is left behind).
    size_t in_flight() const;

    struct Impl;  // tcp_uring.cc
    Impl& impl() { return *impl_; }

  private:
    std::unique_ptr<Impl> impl_;
};

// tcp: up when a connection to the address and port is accepted within the timeout.
std::unique_ptr<Attempt> make_tcp_uring_attempt(UringLoop& ring,
                                                std::shared_ptr<const ProbeTarget> target,
                                                Attempt::Done done);

}  // namespace steerdns::health
