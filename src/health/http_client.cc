// Plain http: GET every path at once, each on its own connection; up when all pass. With
// keepalive (the default) a connection that answered well is parked in the pool, still
// read, so that the peer closing it is seen at once and the next probe opens another; the
// next probe of that target and path writes its GET on it (no connect, no epoll change). A
// parked connection found dead on reuse (closed or reset before any byte of the response)
// is replaced once by a fresh one within the same timeout, as libcurl does. A failed GET
// closes its connection: a failing backend is tested afresh, connection set-up included.
#include "steerdns/health/http_client.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "steerdns/health/http_response.h"
#include "steerdns/util/uv.h"

namespace steerdns::health {

namespace {

struct Connection;

// Heap-held so that a connection closed while connecting leaves libuv a live request: the
// callback (UV_ECANCELED) finds `conn` cleared and frees it.
struct ConnectRequest {
    uv_connect_t req{};
    Connection* conn = nullptr;
};

// The part of a GET uv_try_write could not send at once; freed by its callback.
struct WriteRequest {
    uv_write_t req{};
    std::string out;
};

class PlainHttpAttempt;

// One GET of an attempt.
struct Exchange {
    PlainHttpAttempt* owner = nullptr;
    size_t index = 0;  // in the check's paths
    std::unique_ptr<Connection> conn;
    bool reused = false;   // on a parked connection
    bool retried = false;  // that one was dead: this is the fresh one
    bool done = false;
    bool ok = false;
    std::string reason;  // after "http GET /path: "
};

// One TCP connection to a target, one GET at a time, read all along.
struct Connection {
    Connection(HttpConnectionPool::Impl& p, bool keep_body) : pool(p), reader(keep_body) {}
    ~Connection() {
        if (connecting != nullptr) connecting->conn = nullptr;
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    HttpConnectionPool::Impl& pool;
    util::UvPtr<uv_tcp_t> tcp;
    ConnectRequest* connecting = nullptr;
    Exchange* user = nullptr;  // nullptr: parked
    bool dead = false;         // the peer closed it while parked
    HttpResponseReader reader;
    std::string request;  // the GET, the same for every probe on this connection
};

}  // namespace

struct HttpConnectionPool::Impl {
    explicit Impl(uv_loop_t* l) : loop(l) {}

    std::unique_ptr<Connection> take(const std::shared_ptr<const ProbeTarget>& t, size_t path);
    void park(const std::shared_ptr<const ProbeTarget>& t, size_t path,
              std::unique_ptr<Connection> c);
    void sweep();

    // Every read of every connection lands here and is parsed before the next read.
    static void on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto& self = static_cast<Connection*>(h->data)->pool;
        *buf = uv_buf_init(self.buffer, sizeof self.buffer);
    }

    struct Kept {
        std::weak_ptr<const ProbeTarget> target;  // the key's owner: a new one at the same
                                                  // address is another target
        std::vector<std::unique_ptr<Connection>> by_path;
    };
    size_t drop(Kept& k) {
        size_t n = 0;
        for (auto& c : k.by_path) n += c != nullptr;
        k.by_path.clear();
        idle -= n;
        return n;
    }

    uv_loop_t* loop;
    // Until the monitor says: as many as MonitorLimits' default budget.
    size_t limit = 4096;
    size_t idle = 0;
    std::unordered_map<const ProbeTarget*, Kept> kept;
    char buffer[16 * 1024];
};

std::unique_ptr<Connection> HttpConnectionPool::Impl::take(
    const std::shared_ptr<const ProbeTarget>& t, size_t path) {
    const auto it = kept.find(t.get());
    if (it == kept.end()) return nullptr;
    Kept& k = it->second;
    if (k.target.lock() != t) {
        drop(k);
        kept.erase(it);
        return nullptr;
    }
    if (path >= k.by_path.size() || !k.by_path[path]) return nullptr;
    std::unique_ptr<Connection> c = std::move(k.by_path[path]);
    --idle;
    if (c->dead) return nullptr;
    return c;
}

void HttpConnectionPool::Impl::park(const std::shared_ptr<const ProbeTarget>& t, size_t path,
                                    std::unique_ptr<Connection> c) {
    c->user = nullptr;
    if (idle >= limit) return;  // over the descriptor budget: closed
    Kept& k = kept[t.get()];
    if (k.target.lock() != t) {
        drop(k);
        k.target = t;
    }
    if (k.by_path.size() <= path) k.by_path.resize(path + 1);
    if (k.by_path[path]) return;  // two probes overlapped: one connection is enough
    k.by_path[path] = std::move(c);
    ++idle;
}

void HttpConnectionPool::Impl::sweep() {
    for (auto it = kept.begin(); it != kept.end();) {
        if (it->second.target.expired()) {
            drop(it->second);
            it = kept.erase(it);
        } else {
            ++it;
        }
    }
}

HttpConnectionPool::HttpConnectionPool(uv_loop_t* loop) : impl_(std::make_unique<Impl>(loop)) {}

HttpConnectionPool::~HttpConnectionPool() = default;

void HttpConnectionPool::keep(size_t n) {
    impl_->limit = n;
    impl_->sweep();
    // Fewer allowed than parked (a reload lowered the budget): close the excess now.
    for (auto it = impl_->kept.begin(); it != impl_->kept.end() && impl_->idle > n;) {
        impl_->drop(it->second);
        it = impl_->kept.erase(it);
    }
}

size_t HttpConnectionPool::idle() const {
    return impl_->idle;
}

namespace {

std::string host_header(const ProbeTarget& t) {
    const CheckDef& c = t.check;
    std::string host = !c.host.empty() ? c.host
                       : t.family == 6 ? "[" + t.address_text + "]"
                                       : t.address_text;
    if (c.port != 80) host.append(":").append(std::to_string(c.port));
    return host;
}

class PlainHttpAttempt final : public Attempt {
  public:
    PlainHttpAttempt(HttpConnectionPool& pool, std::shared_ptr<const ProbeTarget> target, Done done)
        : Attempt(pool.impl().loop, target, std::move(done)),
          pool_(pool.impl()),
          target_(std::move(target)) {}

    void start() override {
        timer_ = util::make_uv<uv_timer_t>();
        int rc = uv_timer_init(loop(), timer_.get());
        if (rc < 0) return finish(false, "http: " + util::uv_error(rc));
        timer_->data = this;
        const size_t n = check().paths.size();
        exchanges_.resize(n);
        starting_ = true;
        for (size_t i = 0; i < n; ++i) {
            Exchange& ex = exchanges_[i];
            ex.owner = this;
            ex.index = i;
            ++pending_;
            begin(ex);
        }
        starting_ = false;
        if (pending_ == 0) return conclude();
        // The loop's clock dates from the start of this turn: a timer set from it would cut
        // the attempt's timeout short.
        uv_update_time(loop());
        uv_timer_start(timer_.get(), on_timeout, check().timeout_ms, 0);
    }

    void cancel() override {
        timer_.reset();
        for (Exchange& ex : exchanges_) ex.conn.reset();
        finish(false, "cancelled");
    }

    // From the connection's read callback: a response's bytes, its end, or a read error.
    void on_read(Exchange& ex, ssize_t n, const char* data) {
        HttpResponseReader& r = ex.conn->reader;
        HttpResponseReader::Progress p;
        if (n == UV_EOF) {
            if (!r.started() && retry(ex)) return;
            p = r.end_of_stream();
        } else if (n < 0) {
            if (!r.started() && retry(ex)) return;
            return fail(ex, "recv: " + util::uv_error(static_cast<int>(n)));
        } else {
            p = r.feed(data, static_cast<size_t>(n));
        }
        switch (p) {
            case HttpResponseReader::Progress::more:
                return;
            case HttpResponseReader::Progress::error:
                return fail(ex, r.error());
            case HttpResponseReader::Progress::complete:
            case HttpResponseReader::Progress::capped:
                return judge(ex, p == HttpResponseReader::Progress::complete && r.reusable());
        }
    }

    void on_connect(Exchange& ex, int status) {
        if (status < 0) return fail(ex, "connect: " + util::uv_error(status));
        const int rc = uv_read_start(stream(ex), HttpConnectionPool::Impl::on_alloc, on_read_cb);
        if (rc < 0) return fail(ex, "recv: " + util::uv_error(rc));
        send(ex);
    }

  private:
    uv_stream_t* stream(Exchange& ex) { return reinterpret_cast<uv_stream_t*>(ex.conn->tcp.get()); }

    static void on_read_cb(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
        auto* c = static_cast<Connection*>(s->data);
        if (n == 0) return;  // nothing this time (EAGAIN)
        if (c->user == nullptr) {
            // Parked: the peer closed it (or sent what nobody asked for). Closed now, so the
            // next probe opens a fresh one instead of finding this one dead.
            c->dead = true;
            c->tcp.reset();
            return;
        }
        c->user->owner->on_read(*c->user, n, buf->base);  // may destroy c
    }

    static void on_connect_cb(uv_connect_t* req, int status) {
        std::unique_ptr<ConnectRequest> r(static_cast<ConnectRequest*>(req->data));
        Connection* c = r->conn;
        if (c == nullptr) return;  // closed while connecting: nobody waits
        c->connecting = nullptr;
        c->user->owner->on_connect(*c->user, status);
    }

    static void on_timeout(uv_timer_t* t) {
        auto* self = static_cast<PlainHttpAttempt*>(t->data);
        for (Exchange& ex : self->exchanges_) {
            if (ex.done) continue;
            ex.conn.reset();
            ex.done = true;
            ex.reason = self->timeout_text();
        }
        self->pending_ = 0;
        self->conclude();
    }

    void begin(Exchange& ex) {
        if (check().keepalive && !ex.retried) ex.conn = pool_.take(target_, ex.index);
        if (ex.conn) {
            ex.reused = true;
            ex.conn->user = &ex;
            return send(ex);
        }
        ex.reused = false;
        open(ex);
    }

    // A parked connection that died before answering: once, a fresh one.
    bool retry(Exchange& ex) {
        if (!ex.reused || ex.retried) return false;
        ex.retried = true;
        ex.conn.reset();
        open(ex);
        return true;
    }

    void open(Exchange& ex) {
        const ProbeTarget& t = target();
        sockaddr_storage ss{};
        if (t.family == 4) {
            auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
            sa->sin_family = AF_INET;
            sa->sin_port = htons(check().port);
            std::memcpy(&sa->sin_addr, t.address, 4);
        } else {
            auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
            sa->sin6_family = AF_INET6;
            sa->sin6_port = htons(check().port);
            std::memcpy(&sa->sin6_addr, t.address, 16);
        }
        ex.conn = std::make_unique<Connection>(pool_, check().has_expect_body);
        Connection& c = *ex.conn;
        c.user = &ex;
        c.tcp = util::make_uv<uv_tcp_t>();
        int rc = uv_tcp_init(loop(), c.tcp.get());
        if (rc < 0) return fail(ex, "connect: " + util::uv_error(rc));
        c.tcp->data = &c;
        auto req = std::make_unique<ConnectRequest>();
        req->req.data = req.get();
        req->conn = &c;
        rc = uv_tcp_connect(&req->req, c.tcp.get(), reinterpret_cast<const sockaddr*>(&ss),
                            on_connect_cb);
        if (rc < 0) return fail(ex, "connect: " + util::uv_error(rc));
        c.connecting = req.release();  // libuv's until on_connect_cb
    }

    void send(Exchange& ex) {
        Connection& c = *ex.conn;
        c.reader.reset();
        if (c.request.empty()) {
            const CheckDef& k = check();
            c.request.append("GET ").append(k.paths[ex.index]).append(" HTTP/1.1\r\nHost: ");
            c.request.append(host_header(target()));
            c.request.append("\r\nUser-Agent: steerdns-health/" STEERDNS_VERSION
                             "\r\nAccept: */*\r\n");
            if (!k.keepalive) c.request.append("Connection: close\r\n");
            c.request.append("\r\n");
        }
        // Short, into an idle socket: written at once, without a request or a poll.
        uv_buf_t b = uv_buf_init(c.request.data(), static_cast<unsigned>(c.request.size()));
        int rc = uv_try_write(stream(ex), &b, 1);
        if (rc == UV_EAGAIN) rc = 0;
        if (rc < 0) {
            if (retry(ex)) return;
            return fail(ex, "send: " + util::uv_error(rc));
        }
        const auto sent = static_cast<size_t>(rc);
        if (sent == c.request.size()) return;
        auto w = std::make_unique<WriteRequest>();
        w->out.assign(c.request, sent);
        b = uv_buf_init(w->out.data(), static_cast<unsigned>(w->out.size()));
        // A failed write shows in the read that follows: the callback only frees.
        rc = uv_write(&w->req, stream(ex), &b, 1,
                      [](uv_write_t* req, int) { delete reinterpret_cast<WriteRequest*>(req); });
        if (rc < 0) return fail(ex, "send: " + util::uv_error(rc));
        (void)w.release();
    }

    // A whole response (or its first kMaxHealthBody bytes): the check's verdict.
    void judge(Exchange& ex, bool reusable) {
        const CheckDef& c = check();
        const HttpResponseReader& r = ex.conn->reader;
        std::string reason = "status " + std::to_string(r.status());
        bool ok = c.status_ok(r.status());
        if (ok && c.has_expect_body && r.body().find(c.expect_body) == std::string::npos) {
            ok = false;
            reason.append(", body does not contain \"").append(c.expect_body).append("\"");
        }
        if (ok && reusable && c.keepalive) {
            pool_.park(target_, ex.index, std::move(ex.conn));
        } else {
            ex.conn.reset();
        }
        done(ex, ok, std::move(reason));
    }

    void fail(Exchange& ex, std::string why) {
        ex.conn.reset();
        done(ex, false, std::move(why));
    }

    void done(Exchange& ex, bool ok, std::string reason) {
        ex.done = true;
        ex.ok = ok;
        ex.reason = std::move(reason);
        if (--pending_ == 0 && !starting_) conclude();  // may destroy the attempt
    }

    // The first failing path decides the reason; all passing is up.
    void conclude() {
        timer_.reset();
        const std::string* ok_reason = nullptr;
        size_t ok_path = 0;
        for (const Exchange& ex : exchanges_) {
            if (!ex.ok) {
                return finish(false, "http GET " + check().paths[ex.index] + ": " + ex.reason);
            }
            if (ok_reason == nullptr) {
                ok_reason = &ex.reason;
                ok_path = ex.index;
            }
        }
        if (ok_reason == nullptr) return finish(false, "http: no path");
        finish(true, "http GET " + check().paths[ok_path] + ": " + *ok_reason);
    }

    HttpConnectionPool::Impl& pool_;
    std::shared_ptr<const ProbeTarget> target_;  // parked connections are keyed by it
    util::UvPtr<uv_timer_t> timer_;
    std::vector<Exchange> exchanges_;
    size_t pending_ = 0;
    bool starting_ = false;
};

}  // namespace

std::unique_ptr<Attempt> make_plain_http_attempt(HttpConnectionPool& pool,
                                                 std::shared_ptr<const ProbeTarget> target,
                                                 Attempt::Done done) {
    return std::make_unique<PlainHttpAttempt>(pool, std::move(target), std::move(done));
}

}  // namespace steerdns::health
