// http checks on a real loop against a tiny HTTP server on the same loop.
#include <doctest/doctest.h>

#include <list>
#include <map>
#include <string>
#include <vector>

#include "attempt_runner.h"
#include "steerdns/health/http_client.h"

namespace steerdns::test {
namespace {

// Answers each request with the reply set for its path (404 for others) and keeps the
// connection open for more, as an HTTP/1.1 server may: closing is the prober's choice. Or,
// when silent, reads requests and never answers.
class TinyHttpServer {
  public:
    struct Reply {
        int status = 200;
        std::string body;
        std::string location;  // a Location header when not empty
        bool chunked = false;  // Transfer-Encoding: chunked, a chunk per 3 bytes
    };

    explicit TinyHttpServer(uv_loop_t* loop, int family = AF_INET) {
        listener_ = util::make_uv<uv_tcp_t>();
        util::uv_check(uv_tcp_init(loop, listener_.get()), "uv_tcp_init");
        listener_->data = this;
        sockaddr_storage ss{};
        if (family == AF_INET) {
            uv_ip4_addr("127.0.0.1", 0, reinterpret_cast<sockaddr_in*>(&ss));
        } else {
            uv_ip6_addr("::1", 0, reinterpret_cast<sockaddr_in6*>(&ss));
        }
        if (uv_tcp_bind(listener_.get(), reinterpret_cast<sockaddr*>(&ss), 0) < 0) return;
        if (uv_listen(reinterpret_cast<uv_stream_t*>(listener_.get()), 64, on_connection) < 0) {
            return;
        }
        int len = sizeof ss;
        uv_tcp_getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&ss), &len);
        port_ = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                        : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    }

    uint16_t port() const { return port_; }  // 0: could not listen (no ::1 here)
    void route(const std::string& path, int status, std::string body, std::string location = "") {
        routes_[path] = {status, std::move(body), std::move(location)};
    }
    void route_chunked(const std::string& path, int status, std::string body) {
        routes_[path] = {status, std::move(body), "", true};
    }
    void set_silent() { silent_ = true; }
    // The next n requests close their connection instead of an answer: with a reset, or a FIN.
    void drop_next(int n, bool reset) {
        drop_next_ = n;
        drop_reset_ = reset;
    }
    // Closes every open connection (a FIN), as a backend dropping idle ones does.
    void close_all() {
        for (auto it = conns_.begin(); it != conns_.end();) {
            if ((*it)->writing) {
                ++it;
            } else {
                it = conns_.erase(it);
            }
        }
    }
    const std::vector<std::string>& requests() const { return requests_; }  // request heads
    int connections() const { return connections_; }

  private:
    struct Conn {
        TinyHttpServer* server = nullptr;
        util::UvPtr<uv_tcp_t> tcp;
        std::string in;
        bool writing = false;
        bool closed = false;  // by the client
        char buf[4096];
        std::list<std::unique_ptr<Conn>>::iterator self;
    };
    // Owns its bytes; the connection may be gone when libuv reports it (closed at the end).
    struct Write {
        uv_write_t req{};
        std::string out;
        Conn* conn = nullptr;
    };

    static void on_connection(uv_stream_t* l, int status) {
        auto* self = static_cast<TinyHttpServer*>(l->data);
        if (status < 0) return;
        self->conns_.push_front(std::make_unique<Conn>());
        Conn& c = *self->conns_.front();
        c.self = self->conns_.begin();
        c.server = self;
        c.tcp = util::make_uv<uv_tcp_t>();
        util::uv_check(uv_tcp_init(l->loop, c.tcp.get()), "uv_tcp_init");
        c.tcp->data = &c;
        if (uv_accept(l, reinterpret_cast<uv_stream_t*>(c.tcp.get())) < 0) {
            self->conns_.erase(c.self);
            return;
        }
        ++self->connections_;
        uv_read_start(
            reinterpret_cast<uv_stream_t*>(c.tcp.get()),
            [](uv_handle_t* h, size_t, uv_buf_t* b) {
                auto* conn = static_cast<Conn*>(h->data);
                *b = uv_buf_init(conn->buf, sizeof conn->buf);
            },
            on_read);
    }

    static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t*) {
        auto* c = static_cast<Conn*>(s->data);
        TinyHttpServer* self = c->server;
        if (n < 0) {
            c->closed = true;
            if (!c->writing) self->conns_.erase(c->self);
            return;
        }
        c->in.append(c->buf, static_cast<size_t>(n));
        const size_t end = c->in.find("\r\n\r\n");
        if (end == std::string::npos || c->writing) return;
        const std::string head = c->in.substr(0, end);
        c->in.erase(0, end + 4);  // a GET has no body
        self->requests_.push_back(head);
        if (self->silent_) return;
        if (self->drop_next_ > 0) {
            --self->drop_next_;
            if (self->drop_reset_) {
                uv_os_fd_t fd;
                const linger reset{1, 0};
                if (uv_fileno(reinterpret_cast<uv_handle_t*>(s), &fd) == 0)
                    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
            }
            self->conns_.erase(c->self);
            return;
        }
        // "GET /path HTTP/1.1"
        const size_t sp1 = head.find(' ');
        const std::string path = head.substr(sp1 + 1, head.find(' ', sp1 + 1) - sp1 - 1);
        Reply reply{404, "not found", ""};
        if (auto it = self->routes_.find(path); it != self->routes_.end()) reply = it->second;
        auto w = std::make_unique<Write>();
        w->conn = c;
        w->out = "HTTP/1.1 " + std::to_string(reply.status) +
                 " X\r\nContent-Type: text/plain\r\nContent-Length: " +
                 std::to_string(reply.body.size()) + "\r\n" +
                 (reply.location.empty() ? "" : "Location: " + reply.location + "\r\n") + "\r\n" +
                 reply.body;
        if (reply.chunked) {
            w->out = "HTTP/1.1 " + std::to_string(reply.status) +
                     " X\r\nTransfer-Encoding: chunked\r\n\r\n";
            for (size_t at = 0; at < reply.body.size(); at += 3) {
                const std::string piece = reply.body.substr(at, 3);
                w->out.append(std::to_string(piece.size())).append("\r\n");
                w->out.append(piece).append("\r\n");
            }
            w->out.append("0\r\n\r\n");
        }
        c->writing = true;
        uv_buf_t b = uv_buf_init(w->out.data(), static_cast<unsigned>(w->out.size()));
        // libuv owns the request until the callback; the callback takes it back.
        uv_write(&w->req, s, &b, 1, [](uv_write_t* req, int st) {
            std::unique_ptr<Write> done(reinterpret_cast<Write*>(req));
            if (st != UV_ECANCELED) {  // else the server is gone
                Conn* conn = done->conn;
                conn->writing = false;
                // The client hung up while we wrote: nothing will read this connection.
                if (conn->closed) conn->server->conns_.erase(conn->self);
            }
        });
        (void)w.release();
    }

    util::UvPtr<uv_tcp_t> listener_;
    std::list<std::unique_ptr<Conn>> conns_;
    std::map<std::string, Reply> routes_;
    std::vector<std::string> requests_;
    bool silent_ = false;
    int drop_next_ = 0;
    bool drop_reset_ = false;
    int connections_ = 0;
    uint16_t port_ = 0;
};

health::CheckDef http_check(uint16_t port, std::vector<std::string> paths = {"/healthz"},
                            uint32_t timeout_ms = 2000) {
    health::CheckDef c;
    c.type = health::CheckType::http;
    c.port = port;
    c.paths = std::move(paths);
    c.timeout_ms = timeout_ms;
    return c;
}

// The loop, the server and the curl multi handle, in the order they must be torn down.
struct HttpFixture {
    AttemptRunner r;
    TinyHttpServer server{r.loop()};
    health::CurlMultiLoop curl{r.loop()};
    // One target per check definition, as the registry keeps one per probe: http's kept
    // connections belong to their target.
    std::map<std::string, std::shared_ptr<const health::ProbeTarget>> targets;

    health::AttemptResult run(const health::CheckDef& c, int family = 4) {
        auto& t = targets[c.key() + "/" + std::to_string(family)];
        if (!t) t = loopback_target(c, family);
        return r.run(health::make_http_attempt(curl, t, r.done()));
    }
};

}  // namespace

TEST_CASE("http check: status 200 is up, 503 is down with the status in the reason") {
    HttpFixture f;
    f.server.route("/healthz", 200, "ok");
    auto res = f.run(http_check(f.server.port()));
    CHECK(res.ok);
    CHECK(res.reason == "http GET /healthz: status 200");
    CHECK(res.seconds > 0);
    CHECK(res.seconds < 2);
    REQUIRE(f.server.requests().size() == 1);
    CHECK(f.server.requests()[0].rfind("GET /healthz HTTP/1.1\r\n", 0) == 0);
    CHECK(f.server.requests()[0].find("\r\nUser-Agent: steerdns-health/") != std::string::npos);

    f.server.route("/healthz", 503, "busy");
    res = f.run(http_check(f.server.port()));
    CHECK_FALSE(res.ok);
    CHECK(res.reason == "http GET /healthz: status 503");
}

TEST_CASE("http check: expect_status, and by default 200-399 without following redirects") {
    HttpFixture f;
    f.server.route("/healthz", 503, "drained");
    health::CheckDef c = http_check(f.server.port());
    c.expect_status = {503};
    auto res = f.run(c);
    CHECK(res.ok);
    CHECK(res.reason == "http GET /healthz: status 503");

    f.server.route("/healthz", 302, "", "/elsewhere");
    f.server.route("/elsewhere", 500, "");
    res = f.run(http_check(f.server.port()));
    CHECK(res.ok);
    CHECK(res.reason == "http GET /healthz: status 302");
    CHECK(f.server.requests().size() == 2);  // the redirect was not followed
    f.server.route("/healthz", 404, "");
    res = f.run(http_check(f.server.port()));
    CHECK_FALSE(res.ok);
    CHECK(res.reason == "http GET /healthz: status 404");
}

TEST_CASE("http check: expect_body must be in the body") {
    HttpFixture f;
    f.server.route("/", 200, "status: dead");
    health::CheckDef c = http_check(f.server.port(), {"/"});
    c.has_expect_body = true;
    c.expect_body = "alive";
    auto res = f.run(c);
    CHECK_FALSE(res.ok);
    CHECK(res.reason == "http GET /: status 200, body does not contain \"alive\"");
    f.server.route("/", 200, "status: alive");
    res = f.run(c);
    CHECK(res.ok);
    CHECK(res.reason == "http GET /: status 200");
}

TEST_CASE("http check: a long body is judged on its first 64 KiB") {
    HttpFixture f;
    f.server.route("/early", 200, "alive" + std::string(200 * 1024, 'x'));
    f.server.route("/late", 200, std::string(200 * 1024, 'x') + "alive");
    health::CheckDef c = http_check(f.server.port(), {"/early"});
    c.has_expect_body = true;
    c.expect_body = "alive";
    auto res = f.run(c);
    CHECK(res.ok);
    CHECK(res.reason == "http GET /early: status 200");
    c.paths = {"/late"};
    res = f.run(c);
    CHECK_FALSE(res.ok);
    CHECK(res.reason == "http GET /late: status 200, body does not contain \"alive\"");
}

TEST_CASE("http check: every path must pass; the first failing one is the reason") {
    HttpFixture f;
    f.server.route("/a", 200, "");
    f.server.route("/b", 500, "");
    f.server.route("/c", 204, "");
    auto res = f.run(http_check(f.server.port(), {"/a", "/b"}));
    CHECK_FALSE(res.ok);
    CHECK(res.reason == "http GET /b: status 500");
    res = f.run(http_check(f.server.port(), {"/a", "/c"}));
    CHECK(res.ok);
    CHECK(res.reason == "http GET /a: status 200");
}

TEST_CASE("http check: keepalive false: every GET on a fresh connection, none kept") {
    HttpFixture f;
    f.server.route("/a", 200, "");
    f.server.route("/b", 200, "");
    health::CheckDef c = http_check(f.server.port(), {"/a", "/b"});
    c.keepalive = false;
    for (int i = 0; i < 2; ++i) CHECK(f.run(c).ok);
    CHECK(f.server.requests().size() == 4);
    CHECK(f.server.connections() == 4);
}

TEST_CASE("http check: keepalive: later probes reuse the connection, one per path") {
    HttpFixture f;
    f.server.route("/a", 200, "");
    f.server.route("/b", 200, "");
    for (int i = 0; i < 5; ++i) CHECK(f.run(http_check(f.server.port(), {"/a"})).ok);
    CHECK(f.server.requests().size() == 5);
    CHECK(f.server.connections() == 1);
    // Another check: another probe, with connections of its own.
    for (int i = 0; i < 3; ++i) CHECK(f.run(http_check(f.server.port(), {"/a", "/b"})).ok);
    CHECK(f.server.requests().size() == 11);
    CHECK(f.server.connections() == 3);
}

TEST_CASE("http check: keepalive: a failed GET closes its connection; the next opens one") {
    HttpFixture f;
    f.server.route("/", 200, "ok");
    health::CheckDef c = http_check(f.server.port(), {"/"});
    CHECK(f.run(c).ok);
    CHECK(f.run(c).ok);
    CHECK(f.server.connections() == 1);
    f.server.route("/", 503, "");
    CHECK_FALSE(f.run(c).ok);  // on the kept connection, then closed
    CHECK_FALSE(f.run(c).ok);  // a new one, closed again
    CHECK(f.server.connections() == 2);
    f.server.route("/", 200, "nope");
    c.has_expect_body = true;
    c.expect_body = "ok";
    CHECK_FALSE(f.run(c).ok);  // a wrong body fails too
    CHECK(f.server.connections() == 3);
    f.server.route("/", 200, "ok");
    CHECK(f.run(c).ok);
    CHECK(f.run(c).ok);
    CHECK(f.server.connections() == 4);
    CHECK(f.server.requests().size() == 7);
}

TEST_CASE("http check: host sets the Host header; the connection goes to the probe address") {
    HttpFixture f;
    f.server.route("/", 200, "");
    health::CheckDef c = http_check(f.server.port(), {"/"});
    c.host = "www.example.test";
    const auto res = f.run(c);
    CHECK(res.ok);
    REQUIRE(f.server.requests().size() == 1);
    CHECK(f.server.requests()[0].find("\r\nHost: www.example.test:" +
                                      std::to_string(f.server.port())) != std::string::npos);
}

TEST_CASE("http check: connection refused and timeout") {
    HttpFixture f;
    LoopbackSocket closed;  // bound, never listening
    auto res = f.run(http_check(closed.port(), {"/"}));
    CHECK_FALSE(res.ok);
    CHECK(res.reason == "http GET /: connect: connection refused");

    f.server.set_silent();
    res = f.run(http_check(f.server.port(), {"/"}, 300));
    CHECK_FALSE(res.ok);
    CHECK(res.reason == "http GET /: timeout after 0.3s");
    CHECK(res.seconds >= 0.29);
    CHECK(res.seconds < 2);
    CHECK(f.server.requests().size() == 1);
}

TEST_CASE("http check: a chunked body is matched across its chunks, the connection kept") {
    HttpFixture f;
    f.server.route_chunked("/", 200, "status: alive and well");
    health::CheckDef c = http_check(f.server.port(), {"/"});
    c.has_expect_body = true;
    c.expect_body = "alive";  // chunks "sta" "tus" ": a" "liv" "e a" ...
    for (int i = 0; i < 3; ++i) {
        const auto res = f.run(c);
        CHECK(res.ok);
        CHECK(res.reason == "http GET /: status 200");
    }
    CHECK(f.server.connections() == 1);
    c.expect_body = "dead";
    const auto res = f.run(c);
    CHECK_FALSE(res.ok);
    CHECK(res.reason == "http GET /: status 200, body does not contain \"dead\"");
}

TEST_CASE("http check: a kept connection the backend closes between probes is replaced") {
    HttpFixture f;
    f.server.route("/", 200, "ok");
    const health::CheckDef c = http_check(f.server.port(), {"/"});
    CHECK(f.run(c).ok);
    CHECK(f.server.connections() == 1);
    f.server.close_all();
    // Let the prober's loop see the FIN on its parked connection.
    for (int i = 0; i < 10; ++i) uv_run(f.r.loop(), UV_RUN_NOWAIT);
    CHECK(f.run(c).ok);
    CHECK(f.run(c).ok);
    CHECK(f.server.connections() == 2);
    CHECK(f.server.requests().size() == 3);
}

TEST_CASE("http check: a kept connection dead on reuse is retried once on a fresh one") {
    for (const bool reset : {false, true}) {
        CAPTURE(reset);
        HttpFixture f;
        f.server.route("/", 200, "ok");
        const health::CheckDef c = http_check(f.server.port(), {"/"});
        CHECK(f.run(c).ok);
        // The backend closes the kept connection as the GET arrives, before any answer.
        f.server.drop_next(1, reset);
        const auto res = f.run(c);
        CHECK(res.ok);
        CHECK(res.reason == "http GET /: status 200");
        CHECK(f.server.connections() == 2);
        CHECK(f.server.requests().size() == 3);
        CHECK(f.run(c).ok);  // and the new one is kept
        CHECK(f.server.connections() == 2);

        // Dead again on the fresh connection: not retried twice, the probe fails.
        f.server.drop_next(2, reset);
        const auto bad = f.run(c);
        CHECK_FALSE(bad.ok);
        CHECK(bad.reason == (reset ? "http GET /: recv: connection reset by peer"
                                   : "http GET /: connection closed before the response"));
        CHECK(f.server.connections() == 3);
        CHECK(f.run(c).ok);  // the next probe reconnects
        CHECK(f.server.connections() == 4);
    }
}

TEST_CASE("http check: a fresh connection reset before the response fails, not retried") {
    HttpFixture f;
    f.server.route("/", 200, "ok");
    f.server.drop_next(1, true);
    const auto res = f.run(http_check(f.server.port(), {"/"}));
    CHECK_FALSE(res.ok);
    CHECK(res.reason == "http GET /: recv: connection reset by peer");
    CHECK(f.server.connections() == 1);
}

TEST_CASE("http check: no more connections kept than allowed") {
    HttpFixture f;
    f.server.route("/a", 200, "");
    f.server.route("/b", 200, "");
    f.curl.keep_connections(4, 1);  // one http connection: the other path's is closed
    const health::CheckDef c = http_check(f.server.port(), {"/a", "/b"});
    for (int i = 0; i < 3; ++i) CHECK(f.run(c).ok);
    CHECK(f.server.connections() == 4);  // 2, then one new per probe
}

TEST_CASE("http check: the pool closes the connections of targets gone, and past its cap") {
    AttemptRunner r;
    TinyHttpServer server(r.loop());
    health::HttpConnectionPool pool(r.loop());
    server.route("/", 200, "");
    auto t = loopback_target(http_check(server.port(), {"/"}));
    CHECK(r.run(health::make_plain_http_attempt(pool, t, r.done())).ok);
    CHECK(pool.idle() == 1);
    pool.keep(10);  // the target lives on: kept
    CHECK(pool.idle() == 1);
    t.reset();  // a reload dropped the probe
    pool.keep(10);
    CHECK(pool.idle() == 0);

    t = loopback_target(http_check(server.port(), {"/"}));
    pool.keep(0);
    CHECK(r.run(health::make_plain_http_attempt(pool, t, r.done())).ok);
    CHECK(pool.idle() == 0);
    CHECK(r.run(health::make_plain_http_attempt(pool, t, r.done())).ok);
    CHECK(server.connections() == 3);
    pool.keep(1);
    CHECK(r.run(health::make_plain_http_attempt(pool, t, r.done())).ok);
    CHECK(pool.idle() == 1);
    pool.keep(0);  // lowered by a reload: closed now
    CHECK(pool.idle() == 0);
}

TEST_CASE("http check: IPv6 loopback") {
    AttemptRunner r;
    TinyHttpServer server(r.loop(), AF_INET6);
    if (server.port() == 0) {
        MESSAGE("no ::1 here: skipped");
        return;
    }
    health::CurlMultiLoop curl(r.loop());
    server.route("/", 200, "");
    const auto res = r.run(health::make_http_attempt(
        curl, loopback_target(http_check(server.port(), {"/"}), 6), r.done()));
    CHECK(res.ok);
    CHECK(res.reason == "http GET /: status 200");
}

TEST_CASE("http check: cancel ends the attempt at once") {
    HttpFixture f;
    f.server.set_silent();
    std::optional<health::AttemptResult> got;
    auto a = health::make_http_attempt(f.curl, loopback_target(http_check(f.server.port())),
                                       [&](const health::AttemptResult& res) { got = res; });
    a->start();
    for (int i = 0; i < 100 && f.server.requests().empty(); ++i) {
        uv_run(f.r.loop(), UV_RUN_ONCE);
    }
    CHECK(f.server.requests().size() == 1);
    CHECK_FALSE(got.has_value());
    a->cancel();
    REQUIRE(got.has_value());
    CHECK_FALSE(got->ok);
    CHECK(got->reason == "cancelled");
}

}  // namespace steerdns::test
