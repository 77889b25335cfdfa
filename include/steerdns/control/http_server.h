// The control endpoint's HTTP/1.1 server, on the control thread's libuv loop: keep-alive,
// pipelining (answered in order, one at a time), requests answered later (a reload) without
// blocking the loop, and limits on header and body sizes, connections and idle time.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>

#include "steerdns/control/http_request.h"
#include "steerdns/util/sockaddr.h"
#include "steerdns/util/uv.h"

namespace steerdns::control {

class HttpServer {
  public:
    // Sends the response to a request; callable later, from the same loop. A reply to a
    // connection that has gone away meanwhile is dropped.
    using Reply = std::function<void(HttpResponse)>;
    using Handler = std::function<void(HttpRequest, Reply)>;
    // The head check (see RequestParser), given who is asking.
    using Authorize = std::function<std::optional<HttpResponse>(const HttpRequest& head,
                                                                const sockaddr_storage& peer)>;

    HttpServer(uv_loop_t* loop, HttpLimits limits, Authorize authorize, Handler handler);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds and listens; throws std::runtime_error with a message naming `at`.
    void listen(const util::ListenAddr& at);
    uint16_t port() const;
    // Stops listening and closes every connection (replies still pending are dropped).
    void close();
    size_t connections() const { return connections_.size(); }

  private:
    // How long a closing connection waits for the peer to read the answer and close.
    static constexpr uint64_t kLingerMs = 2000;
    struct Connection;
    struct Write;

    void on_accept();
    void on_read(Connection& c, ssize_t n);
    void process(Connection& c);
    void send(Connection& c, const HttpResponse& r, bool keep_alive, bool head_only);
    void reply(uint64_t id, const HttpResponse& r, bool keep_alive, bool head_only);
    void start_reading(Connection& c);
    void start_reading_any(Connection& c);  // also while closing: lingering
    void stop_reading(Connection& c);
    void touch(Connection& c);
    void maybe_close(Connection& c);
    void remove(uint64_t id);

    uv_loop_t* loop_;
    HttpLimits limits_;
    Authorize authorize_;
    Handler handler_;
    util::UvPtr<uv_tcp_t> listener_;
    uint64_t next_id_ = 1;
    std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
    // Replies and write callbacks that outlive the server find it gone through this.
    std::shared_ptr<HttpServer*> self_;
};

}  // namespace steerdns::control
