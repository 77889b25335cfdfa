#include "steerdns/server/tcp_session.h"

#include <algorithm>
#include <cstring>

#include "steerdns/answer/answer.h"
#include "steerdns/dns/wire.h"
#include "steerdns/server/worker.h"

namespace steerdns::server {
namespace {

uint64_t to_ms(double seconds) {
    return static_cast<uint64_t>(seconds * 1000.0);
}

// A graceful close sends our FIN once the answers are written; the request owns itself.
void shutdown_write(uv_stream_t* stream) {
    auto req = std::make_unique<uv_shutdown_t>();
    if (uv_shutdown(req.get(), stream,
                    [](uv_shutdown_t* r, int) { std::unique_ptr<uv_shutdown_t> owned(r); }) == 0)
        req.release();  // owned by libuv until the callback
}

}  // namespace

// A write in flight owns its bytes; if the session ends first, libuv still calls back
// (with UV_ECANCELED) and finds `session` cleared.
struct TcpSession::WriteReq {
    uv_write_t req{};
    std::vector<uint8_t> data;
    TcpSession* session = nullptr;
};

TcpSession::TcpSession(Worker& worker) : worker_(worker) {}

TcpSession::~TcpSession() {
    if (inflight_ != nullptr) inflight_->session = nullptr;
    if (admitted_) worker_.limits().tcp.release(limit_slot_);
}

bool TcpSession::accept(uv_stream_t* server) {
    tcp_ = util::make_uv<uv_tcp_t>();
    uv_tcp_init(worker_.loop(), tcp_.get());
    tcp_->data = this;
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(tcp_.get())) != 0) return false;
    uv_tcp_nodelay(tcp_.get(), 1);
    sockaddr_storage peer{};
    int len = sizeof peer;
    uv_tcp_getpeername(tcp_.get(), reinterpret_cast<sockaddr*>(&peer), &len);
    peer_from(peer, peer_);  // once per connection, not per query
    return true;
}

void TcpSession::start(uint32_t limit_slot) {
    admitted_ = true;
    limit_slot_ = limit_slot;
    timer_ = util::make_uv<uv_timer_t>();
    uv_timer_init(worker_.loop(), timer_.get());
    timer_->data = this;
    last_active_ms_ = uv_now(worker_.loop());
    start_reading();
    rearm();
}

void TcpSession::start_reading() {
    if (reading_ || eof_ || closed_) return;
    auto alloc = [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        static_cast<TcpSession*>(h->data)->on_alloc(buf);
    };
    auto read = [](uv_stream_t* st, ssize_t nread, const uv_buf_t* buf) {
        static_cast<TcpSession*>(st->data)->on_read(nread, buf);
    };
    reading_ = uv_read_start(reinterpret_cast<uv_stream_t*>(tcp_.get()), alloc, read) == 0;
}

void TcpSession::stop_reading() {
    if (!reading_) return;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_.get()));
    reading_ = false;
}

void TcpSession::on_alloc(uv_buf_t* buf) {
    // Every connection of the worker reads into the same buffer: on_read is done with it
    // before the loop reads for anyone else.
    std::span<uint8_t> in = worker_.tcp_in();
    *buf = uv_buf_init(reinterpret_cast<char*>(in.data()), static_cast<unsigned>(in.size()));
}

void TcpSession::on_read(ssize_t nread, const uv_buf_t* buf) {
    if (closed_ || nread == 0) return;  // 0: EAGAIN
    if (nread < 0) return on_eof();     // EOF or reset
    if (closing_) return;               // discarded: the client gets no more answers
    const uint64_t now = uv_now(worker_.loop());
    last_active_ms_ = now;
    const std::span<const uint8_t> fresh(reinterpret_cast<const uint8_t*>(buf->base),
                                         static_cast<size_t>(nread));
    if (in_.empty()) {
        // The common case: whole messages, answered straight from the worker's buffer.
        const size_t used = answer_frames(fresh);
        if (!closing_ && used < fresh.size()) {
            in_.assign(fresh.begin() + static_cast<ptrdiff_t>(used), fresh.end());
            message_started_ms_ = now;
        }
    } else {
        in_.insert(in_.end(), fresh.begin(), fresh.end());
        answer_held();
    }
    if (closing_) std::vector<uint8_t>().swap(in_);
    if (blocked()) stop_reading();
    maybe_finish();
    rearm();
}

void TcpSession::on_eof() {
    eof_ = true;
    stop_reading();
    // A message cut short by the EOF can never be answered; answers still queued go out.
    std::vector<uint8_t>().swap(in_);
    begin_graceful_close();
    maybe_finish();
    rearm();
}

// Answers the complete messages at the start of `data`; returns the bytes used. Stops early
// when the client has too much output waiting, or when the connection must end.
size_t TcpSession::answer_frames(std::span<const uint8_t> data) {
    std::span<uint8_t> batch = worker_.tcp_out();
    size_t used = 0;
    size_t out_len = 0;
    WorkerStats& st = worker_.mutable_stats();
    const unsigned max_queries = worker_.options().tcp_max_queries;
    while (!closing_ && !closed_ && data.size() - used >= 2 && !blocked()) {
        const size_t len = dns::load_u16(&data[used]);
        if (data.size() - used < 2 + len) break;  // wait for the rest of the message
        if (batch.size() - out_len < 2 + dns::kMaxTcpMessage) {
            send(batch.first(out_len));
            out_len = 0;
            continue;  // blocked() may have changed
        }
        WorkerStats::bump(st.tcp_queries);
        const size_t n = worker_.answer(data.subspan(used + 2, len), peer_, Transport::tcp,
                                        batch.subspan(out_len + 2));
        used += 2 + len;
        if (n == 0) {
            // Nothing sensible to say (counted as malformed): answers to earlier queries
            // still go out, then we close.
            begin_graceful_close();
            break;
        }
        dns::store_u16(&batch[out_len], static_cast<uint16_t>(n));
        out_len += 2 + n;
        if (max_queries != 0 && ++answered_ == max_queries) {
            // RFC 7766 6.2.3 lets a server close whenever it likes; clients retry what is
            // left on a new connection. Closing after the answers is the polite way.
            WorkerStats::bump(st.tcp_query_limit_closes);
            begin_graceful_close();
            break;
        }
    }
    send(batch.first(out_len));
    return used;
}

// Answers what is held in in_ (a message that just completed, or messages that waited for
// a slow reader).
void TcpSession::answer_held() {
    if (in_.empty() || closing_) return;
    const size_t used = answer_frames(in_);
    if (used == 0) return;
    in_.erase(in_.begin(), in_.begin() + static_cast<ptrdiff_t>(used));
    if (in_.empty()) {
        std::vector<uint8_t>().swap(in_);  // an idle connection holds no buffer
    } else {
        message_started_ms_ = uv_now(worker_.loop());
    }
}

void TcpSession::send(std::span<const uint8_t> bytes) {
    if (closed_ || bytes.empty()) return;
    if (inflight_ == nullptr && pending_out_.empty()) {
        // The common case: the socket takes everything now, nothing is copied or allocated.
        uv_buf_t b = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(bytes.data())),
                                 static_cast<unsigned>(bytes.size()));
        const int r = uv_try_write(reinterpret_cast<uv_stream_t*>(tcp_.get()), &b, 1);
        if (r >= 0 && static_cast<size_t>(r) == bytes.size()) return;
        if (r < 0 && r != UV_EAGAIN) return close();  // the client is gone
        bytes = bytes.subspan(r > 0 ? static_cast<size_t>(r) : 0);
    }
    pending_out_.insert(pending_out_.end(), bytes.begin(), bytes.end());
    write_pending();
}

void TcpSession::write_pending() {
    if (closed_ || inflight_ != nullptr || pending_out_.empty()) return;
    auto req = std::make_unique<WriteReq>();
    req->data.swap(pending_out_);
    req->session = this;
    req->req.data = req.get();
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(req->data.data()),
                               static_cast<unsigned>(req->data.size()));
    const int rc = uv_write(&req->req, reinterpret_cast<uv_stream_t*>(tcp_.get()), &buf, 1,
                            [](uv_write_t* w, int status) {
                                std::unique_ptr<WriteReq> owned(static_cast<WriteReq*>(w->data));
                                if (owned->session) owned->session->on_written(status);
                            });
    if (rc != 0) return close();
    inflight_ = req.release();  // owned by libuv until the callback
    write_started_ms_ = uv_now(worker_.loop());
}

void TcpSession::on_written(int status) {
    inflight_ = nullptr;
    if (closed_) return;
    if (status < 0) return close();
    last_active_ms_ = uv_now(worker_.loop());
    write_pending();
    // The client is taking its answers: answer what waited, then read again.
    answer_held();
    if (closing_) std::vector<uint8_t>().swap(in_);
    resume_if_unblocked();
    maybe_finish();
    rearm();
}

size_t TcpSession::queued_out() const {
    return pending_out_.size() + (inflight_ != nullptr ? inflight_->data.size() : 0);
}

void TcpSession::resume_if_unblocked() {
    if (!blocked()) start_reading();
}

// No more queries: what is queued goes out, then our FIN (maybe_finish).
void TcpSession::begin_graceful_close() {
    if (closing_) return;
    closing_ = true;
    closing_started_ms_ = uv_now(worker_.loop());
    // Keep reading (and discarding) until the client closes: closing with its unread bytes
    // in our socket would send a reset, which may destroy answers it has not read yet.
    start_reading();
}

void TcpSession::maybe_finish() {
    if (!closing_ || closed_ || inflight_ != nullptr || !pending_out_.empty()) return;
    if (eof_) return close();  // both directions done
    if (!shut_) {
        shut_ = true;
        shutdown_write(reinterpret_cast<uv_stream_t*>(tcp_.get()));
    }
}

void TcpSession::rearm() {
    if (closed_ || !timer_) return;
    const ServeOptions& o = worker_.options();
    uint64_t deadline;
    if (inflight_ != nullptr || !pending_out_.empty()) {
        waiting_ = Wait::write;
        deadline = write_started_ms_ + to_ms(o.tcp_write_timeout);
    } else if (closing_) {
        waiting_ = Wait::linger;
        deadline = closing_started_ms_ + to_ms(o.tcp_read_timeout);
    } else if (!in_.empty()) {
        waiting_ = Wait::read;
        deadline = message_started_ms_ + to_ms(o.tcp_read_timeout);
    } else {
        waiting_ = Wait::idle;
        deadline = last_active_ms_ + to_ms(o.tcp_idle_timeout);
    }
    const uint64_t now = uv_now(worker_.loop());
    uv_timer_start(
        timer_.get(), [](uv_timer_t* t) { static_cast<TcpSession*>(t->data)->on_timer(); },
        deadline > now ? deadline - now : 0, 0);
}

void TcpSession::on_timer() {
    if (!closed_) {
        WorkerStats& st = worker_.mutable_stats();
        switch (waiting_) {
            case Wait::idle:
                WorkerStats::bump(st.tcp_idle_timeouts);
                break;
            case Wait::read:
                WorkerStats::bump(st.tcp_read_timeouts);
                break;
            case Wait::write:
                WorkerStats::bump(st.tcp_write_timeouts);
                break;
            case Wait::linger:
                break;
        }
    }
    // Destroys this session: handles are closed by their UvPtrs; nothing may touch `this` after.
    worker_.remove_session(this);
}

void TcpSession::close() {
    // Deferred to the next loop turn, so no caller up the stack is left holding a destroyed
    // session; until then every callback sees closed_ and does nothing.
    if (closed_) return;
    closed_ = true;
    stop_reading();
    uv_timer_start(
        timer_.get(), [](uv_timer_t* t) { static_cast<TcpSession*>(t->data)->on_timer(); }, 0, 0);
}

}  // namespace steerdns::server
