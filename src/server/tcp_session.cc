#include "steerdns/server/tcp_session.h"

#include <cstring>

#include "steerdns/answer.h"
#include "steerdns/dns/wire.h"
#include "steerdns/server/worker.h"

namespace steerdns::server {

// A write in flight owns its bytes; if the session closes first, libuv still calls back
// (with UV_ECANCELED) and finds `session` cleared.
struct TcpSession::WriteReq {
    uv_write_t req{};
    std::vector<uint8_t> data;
    TcpSession* session = nullptr;
};

TcpSession::TcpSession(Worker& worker) : worker_(worker) {}

TcpSession::~TcpSession() {
    if (inflight_ != nullptr) inflight_->session = nullptr;
}

bool TcpSession::accept(uv_stream_t* server) {
    tcp_ = make_uv<uv_tcp_t>();
    uv_tcp_init(worker_.loop(), tcp_.get());
    tcp_->data = this;
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(tcp_.get())) != 0) return false;
    uv_tcp_nodelay(tcp_.get(), 1);
    sockaddr_storage peer{};
    int len = sizeof peer;
    uv_tcp_getpeername(tcp_.get(), reinterpret_cast<sockaddr*>(&peer), &len);
    client_from(peer, client_);  // once per connection, not per query
    idle_ = make_uv<uv_timer_t>();
    uv_timer_init(worker_.loop(), idle_.get());
    idle_->data = this;
    touch();
    start_reading();
    return true;
}

void TcpSession::start_reading() {
    auto alloc = [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* s = static_cast<TcpSession*>(h->data);
        // Grow only when data is actually arriving: an idle connection holds no buffer.
        if (s->in_.size() - s->in_len_ < 4096) s->in_.resize(s->in_len_ + 16384);
        *buf = uv_buf_init(reinterpret_cast<char*>(s->in_.data() + s->in_len_),
                           static_cast<unsigned>(s->in_.size() - s->in_len_));
    };
    auto read = [](uv_stream_t* st, ssize_t nread, const uv_buf_t*) {
        static_cast<TcpSession*>(st->data)->on_read(nread);
    };
    reading_ = uv_read_start(reinterpret_cast<uv_stream_t*>(tcp_.get()), alloc, read) == 0;
}

void TcpSession::touch() {
    const auto ms = static_cast<uint64_t>(worker_.options().tcp_idle_timeout * 1000.0);
    uv_timer_start(
        idle_.get(), [](uv_timer_t* t) { static_cast<TcpSession*>(t->data)->close(); }, ms, 0);
}

void TcpSession::on_read(ssize_t nread) {
    if (nread < 0) return close();  // EOF or reset
    if (nread == 0) return;         // EAGAIN
    in_len_ += static_cast<size_t>(nread);
    touch();
    answer_frames();
    if (closing_ && reading_) {
        uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_.get()));
        reading_ = false;
    }
    flush();
}

void TcpSession::answer_frames() {
    size_t pos = 0;
    std::span<uint8_t> out = worker_.tcp_out();
    while (in_len_ - pos >= 2) {
        const size_t len = dns::load_u16(&in_[pos]);
        if (in_len_ - pos < 2 + len) break;  // wait for the rest of the frame
        WorkerStats& st = worker_.mutable_stats();
        WorkerStats::bump(st.tcp_queries);
        const size_t n = answer_query(worker_.snapshot(), {in_.data() + pos + 2, len}, client_,
                                      Transport::tcp, worker_.context(), out.subspan(2));
        pos += 2 + len;
        if (n == 0) {
            // Nothing sensible to say (a response sent to us, a frame too short for a
            // header): answers queued for earlier queries still go out, then we close.
            WorkerStats::bump(st.dropped);
            WorkerStats::bump(st.dropped_malformed);
            closing_ = true;
            break;
        }
        WorkerStats::bump(st.rcode[static_cast<size_t>(worker_.context().last.rcode) % 24]);
        count_query(st, true, worker_.context().last.qtype,
                    static_cast<uint16_t>(worker_.context().last.rcode));
        dns::store_u16(out.data(), static_cast<uint16_t>(n));
        pending_out_.insert(pending_out_.end(), out.data(), out.data() + 2 + n);
    }
    if (pos > 0) {
        std::memmove(in_.data(), in_.data() + pos, in_len_ - pos);
        in_len_ -= pos;
    }
    if (in_len_ == 0 && in_.capacity() > 65536) std::vector<uint8_t>().swap(in_);
    // A client that sends faster than it reads: stop reading until it catches up.
    if (pending_out_.size() > kMaxPendingOut && reading_) {
        uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_.get()));
        reading_ = false;
    }
}

void TcpSession::flush() {
    if (inflight_ != nullptr) return;
    if (pending_out_.empty()) {
        if (closing_) close();
        return;
    }
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
}

void TcpSession::on_written(int status) {
    inflight_ = nullptr;
    if (status < 0) return close();
    if (!reading_ && !closing_) {
        // Resume reading and answer what was buffered while the client caught up.
        start_reading();
        answer_frames();
    }
    flush();
}

void TcpSession::close() {
    // Destroys this session: handles are closed by their UvPtrs; nothing may touch `this` after.
    worker_.remove_session(this);
}

}  // namespace steerdns::server
