#include "steerdns/server/worker.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "steerdns/server/pktinfo.h"
#include "steerdns/server/tcp_session.h"
#include "steerdns/util/cpu_affinity.h"
#include "steerdns/util/log.h"

namespace steerdns::server {

Worker::Worker(unsigned id, const ServeOptions& opts, SnapshotSlot& slot, SharedLimits* limits)
    : id_(id), opts_(opts), slot_(slot), limits_(limits) {
    if (limits_ == nullptr) {
        own_limits_ = std::make_unique<SharedLimits>(opts);
        limits_ = own_limits_.get();
    }
    ctx_.max_udp_payload = opts.max_udp_payload;
    ctx_.nsid = opts.nsid;
    if (opts.signature_cache > 0)
        ctx_.signatures = std::make_unique<SignatureCache>(opts.signature_cache);
    ctx_.explain_from = opts.explain_from;
    ctx_.worker = id;  // its row of every snapshot's response counters
    ctx_.rng.reseed(0x5eed0000ull + id * 7919ull + static_cast<uint64_t>(uv_hrtime()));
    rx_buf_.resize(kBatch * kRxSlot);
    tx_buf_.resize(kBatch * kTxSlot);
    tcp_out_.resize(TcpSession::kOutBatch);
    tcp_in_.resize(TcpSession::kReadChunk);
    for (unsigned i = 0; i < kBatch; ++i) {
        rx_iov_[i] = {rx_buf_.data() + i * kRxSlot, kRxSlot};
        rx_msgs_[i].msg_hdr.msg_iov = &rx_iov_[i];
        rx_msgs_[i].msg_hdr.msg_iovlen = 1;
        tx_msgs_[i].msg_hdr.msg_iov = &tx_iov_[i];
        tx_msgs_[i].msg_hdr.msg_iovlen = 1;
    }
    mailbox_ = util::make_uv<uv_async_t>();
    util::uv_check(
        uv_async_init(loop_.get(), mailbox_.get(),
                      [](uv_async_t* a) { static_cast<Worker*>(a->data)->on_mailbox(); }),
        "uv_async_init");
    mailbox_->data = this;
    snapshot_ = slot_.get();
}

Worker::~Worker() {
    stop();
    join();
}

void Worker::add_udp(Fd fd, const ListenAddr& at) {
    auto s = std::make_unique<UdpSocket>();
    s->worker = this;
    s->fd = std::move(fd);
    s->pktinfo = at.is_wildcard();
    s->family = at.family();
    s->poll = util::make_uv<uv_poll_t>();
    util::uv_check(uv_poll_init(loop_.get(), s->poll.get(), s->fd.get()), "uv_poll_init");
    s->poll->data = s.get();
    util::uv_check(uv_poll_start(s->poll.get(), UV_READABLE,
                                 [](uv_poll_t* p, int status, int) {
                                     auto* sock = static_cast<UdpSocket*>(p->data);
                                     if (status >= 0) sock->worker->on_udp_readable(*sock);
                                 }),
                   "uv_poll_start");
    udp_.push_back(std::move(s));
}

void Worker::add_tcp(Fd fd, const ListenAddr& at) {
    auto l = std::make_unique<TcpListener>();
    l->worker = this;
    l->tcp = util::make_uv<uv_tcp_t>();
    util::uv_check(uv_tcp_init(loop_.get(), l->tcp.get()), "uv_tcp_init");
    l->tcp->data = l.get();
    util::uv_check(uv_tcp_open(l->tcp.get(), fd.release()), ("uv_tcp_open " + at.text).c_str());
    util::uv_check(uv_listen(reinterpret_cast<uv_stream_t*>(l->tcp.get()), 1024,
                             [](uv_stream_t* s, int status) {
                                 auto* listener = static_cast<TcpListener*>(s->data);
                                 if (status >= 0) listener->worker->on_accept(*listener);
                             }),
                   ("listen tcp " + at.text).c_str());
    tcp_.push_back(std::move(l));
}

void Worker::start() {
    thread_ = std::thread([this] { run(); });
}

void Worker::run() {
    if (!opts_.worker_cpus.empty())
        util::pin_current_thread(opts_.worker_cpus[id_ % opts_.worker_cpus.size()], "worker");
    uv_run(loop_.get(), UV_RUN_DEFAULT);
}

void Worker::adopt_snapshot() {
    uv_async_send(mailbox_.get());
}

void Worker::stop() {
    if (!mailbox_) return;
    stopping_.store(true, std::memory_order_release);
    uv_async_send(mailbox_.get());
}

void Worker::join() {
    if (thread_.joinable()) thread_.join();
}

void Worker::on_mailbox() {
    if (stopping_.load(std::memory_order_acquire)) {
        close_all();
        return;
    }
    // Once per reload: the only place a worker touches the shared slot.
    snapshot_ = slot_.get();
}

void Worker::close_all() {
    sessions_.clear();
    for (auto& s : udp_) s->poll.reset();  // uv_close stops polling before the fd closes
    udp_.clear();
    tcp_.clear();
    mailbox_.reset();
    snapshot_.reset();
}

void Worker::on_udp_readable(UdpSocket& s) {
    // A few batches per wakeup, then back to the loop so TCP and the mailbox get a turn.
    for (int round = 0; round < 8; ++round) {
        const unsigned received = receive_batch(s);
        if (received == 0) return;  // EAGAIN: nothing left to read
        unsigned replies = 0;
        for (unsigned i = 0; i < received; ++i)
            if (handle_datagram(s, i, replies)) ++replies;
        send_batch(s, replies);
        if (received < kBatch) return;
    }
}

// Up to kBatch datagrams into the receive slots; returns how many.
unsigned Worker::receive_batch(UdpSocket& s) {
    for (unsigned i = 0; i < kBatch; ++i) {
        msghdr& h = rx_msgs_[i].msg_hdr;
        h.msg_name = &rx_addr_[i];
        h.msg_namelen = sizeof(sockaddr_storage);
        h.msg_control = s.pktinfo ? rx_cmsg_[i].data() : nullptr;
        h.msg_controllen = s.pktinfo ? kCmsgSpace : 0;
        h.msg_flags = 0;
    }
    const int n = recvmmsg(s.fd.get(), rx_msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
    return n > 0 ? static_cast<unsigned>(n) : 0;
}

// Datagram `in` of the batch: answered into send slot `out` (true), or dropped and counted.
bool Worker::handle_datagram(const UdpSocket& s, unsigned in, unsigned out) {
    const msghdr& h = rx_msgs_[in].msg_hdr;
    if (h.msg_flags & MSG_TRUNC) {
        WorkerStats::bump(stats_.dropped);
        WorkerStats::bump(stats_.dropped_oversized);
        return false;
    }
    Peer peer;
    if (!peer_from(rx_addr_[in], peer)) {
        WorkerStats::bump(stats_.dropped);
        WorkerStats::bump(stats_.dropped_source_port);
        return false;
    }
    WorkerStats::bump(stats_.udp_queries);
    PacketInfo info;
    const bool has_info = s.pktinfo && read_pktinfo(h, info);
    sockaddr_storage local;
    if (has_info) destination_of(info, local);
    if (is_reflection_source(rx_addr_[in], has_info ? &local : nullptr, opts_.listen)) {
        WorkerStats::bump(stats_.reflection_dropped);
        WorkerStats::bump(stats_.dropped);
        return false;
    }
    uint8_t* reply = tx_buf_.data() + size_t{out} * kTxSlot;
    const size_t len = answer({rx_buf_.data() + size_t{in} * kRxSlot, rx_msgs_[in].msg_len}, peer,
                              Transport::udp, {reply, kTxSlot});
    if (len == 0) return false;
    tx_iov_[out] = {reply, len};
    msghdr& t = tx_msgs_[out].msg_hdr;
    t.msg_name = &rx_addr_[in];
    t.msg_namelen = h.msg_namelen;
    t.msg_control = nullptr;
    t.msg_controllen = 0;
    if (has_info) {
        const size_t clen = write_reply_pktinfo(info, tx_cmsg_[out].data(), kCmsgSpace);
        if (clen > 0) {
            t.msg_control = tx_cmsg_[out].data();
            t.msg_controllen = clen;
        }
    }
    return true;
}

// The first `count` send slots, in as few sendmmsg calls as the kernel allows.
void Worker::send_batch(UdpSocket& s, unsigned count) {
    unsigned sent = 0;
    while (sent < count) {
        const int r = sendmmsg(s.fd.get(), tx_msgs_.data() + sent, count - sent, MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR) continue;
            // A full send buffer or an unreachable peer: drop, as NSD and Knot do,
            // rather than stall every other client behind one.
            for (; sent < count; ++sent) WorkerStats::bump(stats_.send_failed);
            break;
        }
        sent += static_cast<unsigned>(r);
    }
}

size_t Worker::answer(std::span<const uint8_t> query, const Peer& peer, Transport transport,
                      std::span<uint8_t> out) {
    size_t len = answer_query(snapshot_.get(), query, peer.client, transport, ctx_, out);
    if (len == 0) {
        // Nothing sensible to say: a response sent to us, a packet too short for a header.
        WorkerStats::bump(stats_.dropped);
        WorkerStats::bump(stats_.dropped_malformed);
        return 0;
    }
    const Outcome& o = ctx_.last;
    if (transport == Transport::udp) {
        // Rate limiting is for UDP only: over TCP the source address is not spoofed.
        if (RateLimiter& rrl = limits_->rrl; rrl.enabled()) {
            // The loop's cached clock: no syscall.
            switch (rrl.check(peer.client, rrl_class(o.rcode), uv_now(loop_.get()))) {
                case RrlVerdict::drop:
                    WorkerStats::bump(stats_.rrl_dropped);
                    return 0;
                case RrlVerdict::slip:
                    WorkerStats::bump(stats_.rrl_slipped);
                    len = slip_response(out, len);
                    break;
                case RrlVerdict::send:
                    break;
            }
        }
        if (o.truncated) WorkerStats::bump(stats_.truncated);  // a UDP counter (/metrics)
    }
    count_query(stats_, transport == Transport::tcp, o.qtype, static_cast<uint16_t>(o.rcode));
    if (o.explained) WorkerStats::bump(stats_.why_answered);
    if (o.explain_refused) WorkerStats::bump(stats_.why_refused);
    if (query_log_.on())
        query_log_.record(peer.client, peer.port, transport, out.first(len), o, stats_);
    return len;
}

void Worker::on_accept(TcpListener& l) {
    auto session = std::make_unique<TcpSession>(*this);
    if (!session->accept(reinterpret_cast<uv_stream_t*>(l.tcp.get()))) return;
    // Over a cap: accepted and closed at once, so the client learns sooner than from a
    // timeout and the listen queue does not fill with connections nobody will serve.
    uint32_t slot = 0;
    switch (limits_->tcp.acquire(session->client(), slot)) {
        case ConnectionLimiter::Admit::total_full:
            WorkerStats::bump(stats_.tcp_rejected);
            return;
        case ConnectionLimiter::Admit::client_full:
            WorkerStats::bump(stats_.tcp_rejected_per_client);
            return;
        case ConnectionLimiter::Admit::ok:
            break;
    }
    WorkerStats::bump(stats_.tcp_accepted);
    sessions_.push_front(std::move(session));
    sessions_.front()->set_position(sessions_.begin());
    sessions_.front()->start(slot);
}

void Worker::remove_session(TcpSession* s) {
    sessions_.erase(s->position());
}

}  // namespace steerdns::server
