#include "steerdns/control/http_server.h"

#include <arpa/inet.h>

#include <stdexcept>
#include <string>

#include "steerdns/control/auth.h"
#include "steerdns/util/log.h"

namespace steerdns::control {

using util::make_uv;
using util::UvPtr;

struct HttpServer::Connection {
    Connection(HttpServer& s, uint64_t i, HttpLimits limits)
        : server(&s), id(i), parser(limits, [this](const HttpRequest& head) {
              return server->authorize_ ? server->authorize_(head, peer) : std::nullopt;
          }) {}

    HttpServer* server;
    uint64_t id;
    RequestParser parser;
    util::UvPtr<uv_tcp_t> tcp;
    util::UvPtr<uv_timer_t> idle;
    sockaddr_storage peer{};
    std::string in;  // received, not parsed yet
    char read_buf[16 * 1024];
    bool reading = false;
    bool busy = false;         // a request is being answered
    bool processing = false;   // inside process(): a synchronous reply must not re-enter it
    bool closing = false;      // no more requests: close once the writes are done
    bool peer_closed = false;  // EOF: answer what was received, then close
    bool lingering = false;    // our side shut down; discarding input until the peer closes
    unsigned writes = 0;       // in flight
};

struct HttpServer::Write {
    uv_write_t req{};
    std::string data;
    std::weak_ptr<HttpServer*> server;
    uint64_t id = 0;
};

HttpServer::HttpServer(uv_loop_t* loop, HttpLimits limits, Authorize authorize, Handler handler)
    : loop_(loop),
      limits_(limits),
      authorize_(std::move(authorize)),
      handler_(std::move(handler)),
      self_(std::make_shared<HttpServer*>(this)) {}

HttpServer::~HttpServer() {
    close();
}

void HttpServer::listen(const util::ListenAddr& at) {
    listener_ = util::make_uv<uv_tcp_t>();
    util::uv_check(uv_tcp_init(loop_, listener_.get()), "uv_tcp_init");
    listener_->data = this;
    int rc = uv_tcp_bind(listener_.get(), reinterpret_cast<const sockaddr*>(&at.addr), 0);
    // libuv reports EADDRINUSE of a bind at listen time.
    if (rc == 0) {
        rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener_.get()), 128,
                       [](uv_stream_t* s, int status) {
                           if (status >= 0) static_cast<HttpServer*>(s->data)->on_accept();
                       });
    }
    if (rc < 0) {
        listener_.reset();
        std::string hint;
        if (rc == UV_EADDRINUSE)
            hint = " (use --control ADDR:PORT to pick another, or --control off)";
        throw std::runtime_error("--control " + at.text + ": " + uv_strerror(rc) + hint);
    }
}

uint16_t HttpServer::port() const {
    if (!listener_) return 0;
    sockaddr_storage ss{};
    int len = sizeof ss;
    uv_tcp_getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&ss), &len);
    return util::port_of(ss);
}

void HttpServer::close() {
    listener_.reset();
    connections_.clear();
}

void HttpServer::on_accept() {
    auto owned = std::make_unique<Connection>(*this, next_id_++, limits_);
    Connection& c = *owned;
    c.tcp = util::make_uv<uv_tcp_t>();
    uv_tcp_init(loop_, c.tcp.get());
    if (uv_accept(reinterpret_cast<uv_stream_t*>(listener_.get()),
                  reinterpret_cast<uv_stream_t*>(c.tcp.get())) != 0)
        return;
    c.tcp->data = &c;
    int len = sizeof c.peer;
    uv_tcp_getpeername(c.tcp.get(), reinterpret_cast<sockaddr*>(&c.peer), &len);
    c.idle = util::make_uv<uv_timer_t>();
    uv_timer_init(loop_, c.idle.get());
    c.idle->data = &c;
    const bool full = connections_.size() >= limits_.max_connections;
    connections_.emplace(c.id, std::move(owned));
    if (full) {
        // Told rather than left hanging; nothing of its request is read.
        c.closing = true;
        send(c, json_error(503, "too many control connections"), false, false);
        return;
    }
    touch(c);
    start_reading(c);
}

void HttpServer::start_reading(Connection& c) {
    if (c.closing || c.peer_closed) return;
    start_reading_any(c);
}

void HttpServer::start_reading_any(Connection& c) {
    if (c.reading) return;
    auto alloc = [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* conn = static_cast<Connection*>(h->data);
        *buf = uv_buf_init(conn->read_buf, sizeof conn->read_buf);
    };
    auto on_read = [](uv_stream_t* s, ssize_t n, const uv_buf_t*) {
        auto* conn = static_cast<Connection*>(s->data);
        conn->server->on_read(*conn, n);
    };
    c.reading = uv_read_start(reinterpret_cast<uv_stream_t*>(c.tcp.get()), alloc, on_read) == 0;
}

void HttpServer::stop_reading(Connection& c) {
    if (!c.reading) return;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(c.tcp.get()));
    c.reading = false;
}

void HttpServer::touch(Connection& c) {
    uv_timer_start(
        c.idle.get(),
        [](uv_timer_t* t) {
            auto* conn = static_cast<Connection*>(t->data);
            conn->server->remove(conn->id);
        },
        limits_.idle_timeout_ms, 0);
}

void HttpServer::on_read(Connection& c, ssize_t n) {
    if (n == 0) return;  // EAGAIN
    if (c.lingering) {
        if (n < 0) remove(c.id);  // the peer has read our answer and closed
        return;                   // what it still sends is dropped
    }
    if (n < 0) {
        // EOF or reset: what was received is still answered (a pipelining client may
        // half-close after its last request), then the connection closes.
        stop_reading(c);
        c.peer_closed = true;
        if (n != UV_EOF) c.closing = true;
        process(c);
        maybe_close(c);
        return;
    }
    touch(c);
    c.in.append(c.read_buf, static_cast<size_t>(n));
    process(c);
    // A client pipelining faster than it is answered: stop reading until it catches up.
    if (c.in.size() > limits_.max_header_bytes + limits_.max_body_bytes) stop_reading(c);
}

void HttpServer::process(Connection& c) {
    if (c.processing) return;
    c.processing = true;
    while (!c.busy && !c.closing && !c.in.empty()) {
        RequestParser::Status status;
        const size_t used = c.parser.feed(c.in.data(), c.in.size(), status);
        c.in.erase(0, used);
        if (status == RequestParser::Status::need_more) break;
        if (status == RequestParser::Status::reject) {
            c.closing = true;
            c.in.clear();
            stop_reading(c);
            send(c, c.parser.rejection(), false, false);
            break;
        }
        HttpRequest req = c.parser.take();
        c.busy = true;
        uv_timer_stop(c.idle.get());  // a reload may take a while: not idle meanwhile
        const bool keep_alive = req.keep_alive;
        const bool head_only = req.method == Method::head;
        std::weak_ptr<HttpServer*> weak = self_;
        const uint64_t id = c.id;
        Reply reply = [weak, id, keep_alive, head_only](HttpResponse r) {
            if (auto s = weak.lock()) (*s)->reply(id, r, keep_alive, head_only);
        };
        try {
            handler_(std::move(req), reply);
        } catch (const std::exception& e) {
            // A bug in a handler costs this request, not the daemon.
            util::log_error("control request failed", {{"error", e.what()}});
            if (c.busy) reply(json_error(500, std::string("internal error: ") + e.what()));
        }
        // `c` may be gone only through remove(), which a reply never calls synchronously.
    }
    c.processing = false;
    if (c.peer_closed && !c.busy) c.closing = true;
    if (!c.busy && !c.closing && c.in.size() <= limits_.max_header_bytes + limits_.max_body_bytes)
        start_reading(c);
}

void HttpServer::reply(uint64_t id, const HttpResponse& r, bool keep_alive, bool head_only) {
    const auto it = connections_.find(id);
    if (it == connections_.end()) return;  // closed meanwhile
    Connection& c = *it->second;
    const bool keep = keep_alive && !r.close && !c.peer_closed;
    c.busy = false;
    if (!keep) {
        c.closing = true;
        stop_reading(c);
    }
    send(c, r, keep, head_only);
    if (c.closing) return;
    touch(c);
    process(c);  // the next pipelined request, if one is waiting
}

void HttpServer::send(Connection& c, const HttpResponse& r, bool keep_alive, bool head_only) {
    auto w = std::make_unique<Write>();
    w->data = serialize(r, keep_alive, head_only);
    w->server = self_;
    w->id = c.id;
    w->req.data = w.get();
    uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
    const int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(c.tcp.get()), &buf, 1,
                            [](uv_write_t* req, int status) {
                                std::unique_ptr<Write> done(static_cast<Write*>(req->data));
                                auto s = done->server.lock();
                                if (!s) return;
                                HttpServer* self = *s;
                                const auto it = self->connections_.find(done->id);
                                if (it == self->connections_.end()) return;
                                Connection& conn = *it->second;
                                --conn.writes;
                                if (status < 0) conn.closing = true;
                                self->maybe_close(conn);
                            });
    if (rc < 0) {
        // Callers still hold `c`: close from the loop's next turn instead of here.
        c.closing = true;
        stop_reading(c);
        uv_timer_start(
            c.idle.get(),
            [](uv_timer_t* t) {
                auto* conn = static_cast<Connection*>(t->data);
                conn->server->remove(conn->id);
            },
            0, 0);
        return;
    }
    ++c.writes;
    w.release();  // libuv calls back, with UV_ECANCELED if the handle closes first
}

void HttpServer::maybe_close(Connection& c) {
    if (!(c.closing || c.peer_closed) || c.busy || c.writes > 0 || c.lingering) return;
    if (c.peer_closed) return remove(c.id);
    // Closing a socket with unread input (the body of a refused request, the request of a
    // connection over the limit) sends a reset, which can destroy our answer before the
    // client reads it. So: send FIN, drop whatever still comes, close on the peer's EOF or
    // after a short wait (Apache's lingering close).
    c.lingering = true;
    auto req = std::make_unique<uv_shutdown_t>();
    if (uv_shutdown(req.get(), reinterpret_cast<uv_stream_t*>(c.tcp.get()),
                    [](uv_shutdown_t* r, int) { std::unique_ptr<uv_shutdown_t> done(r); }) != 0)
        return remove(c.id);
    req.release();  // libuv calls back, with UV_ECANCELED if the handle closes first
    start_reading_any(c);
    uv_timer_start(
        c.idle.get(),
        [](uv_timer_t* t) {
            auto* conn = static_cast<Connection*>(t->data);
            conn->server->remove(conn->id);
        },
        kLingerMs, 0);
}

void HttpServer::remove(uint64_t id) {
    // Closing the handles is asynchronous (util::UvPtr); the connection's memory goes now, and
    // callbacks still queued for it find neither it nor its id.
    connections_.erase(id);
}

}  // namespace steerdns::control
