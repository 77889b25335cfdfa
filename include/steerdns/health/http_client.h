// Plain http checks (not https) on steerdns's own HTTP/1.1 client over libuv: a kept
// connection carries a probe as one write and one read, where libcurl spent more on each
// transfer's set-up than a tcp check's whole connect. https stays on libcurl (attempt.h).
#pragma once

#include <uv.h>

#include <cstddef>
#include <memory>

#include "steerdns/health/attempt.h"

namespace steerdns::health {

// The idle kept connections of one loop: at most one per target and path, and no more than
// keep()'s number in all (each holds a descriptor). It must outlive the attempts given it.
class HttpConnectionPool {
  public:
    explicit HttpConnectionPool(uv_loop_t* loop);
    ~HttpConnectionPool();
    HttpConnectionPool(const HttpConnectionPool&) = delete;
    HttpConnectionPool& operator=(const HttpConnectionPool&) = delete;

    // Beyond n idle connections, a finished probe closes its own instead of keeping it. Also
    // closes those of targets gone since the last call (a reload).
    void keep(size_t n);
    size_t idle() const;

    struct Impl;  // http_client.cc
    Impl& impl() { return *impl_; }

  private:
    std::unique_ptr<Impl> impl_;
};

// http: every path answers a status in expect_status, its body containing expect_body.
std::unique_ptr<Attempt> make_plain_http_attempt(HttpConnectionPool& pool,
                                                 std::shared_ptr<const ProbeTarget> target,
                                                 Attempt::Done done);

}  // namespace steerdns::health
