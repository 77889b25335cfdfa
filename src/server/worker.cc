#include "steerdns/server/worker.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "steerdns/server/tcp_session.h"
#include "steerdns/util/cpu_affinity.h"
#include "steerdns/util/log.h"

namespace steerdns::server {
namespace {

// Turns the PKTINFO the kernel gave us for a query into the one that makes the reply leave
// from the address the query was sent to. Returns the control length, 0 when absent.
size_t reply_pktinfo(const msghdr& rx, uint8_t* out, size_t room) {
    for (cmsghdr* c = CMSG_FIRSTHDR(const_cast<msghdr*>(&rx)); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&rx), c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
            room >= CMSG_SPACE(sizeof(in_pktinfo))) {
            in_pktinfo in{};
            std::memcpy(&in, CMSG_DATA(c), sizeof in);
            in_pktinfo reply{};
            reply.ipi_spec_dst = in.ipi_addr;
            auto* h = reinterpret_cast<cmsghdr*>(out);
            h->cmsg_level = IPPROTO_IP;
            h->cmsg_type = IP_PKTINFO;
            h->cmsg_len = CMSG_LEN(sizeof reply);
            std::memcpy(CMSG_DATA(h), &reply, sizeof reply);
            return CMSG_SPACE(sizeof reply);
        }
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
            room >= CMSG_SPACE(sizeof(in6_pktinfo))) {
            in6_pktinfo reply{};
            std::memcpy(&reply, CMSG_DATA(c), sizeof reply);  // same address, same interface
            auto* h = reinterpret_cast<cmsghdr*>(out);
            h->cmsg_level = IPPROTO_IPV6;
            h->cmsg_type = IPV6_PKTINFO;
            h->cmsg_len = CMSG_LEN(sizeof reply);
            std::memcpy(CMSG_DATA(h), &reply, sizeof reply);
            return CMSG_SPACE(sizeof reply);
        }
    }
    return 0;
}

// The address a datagram was sent to, from its PKTINFO (wildcard sockets only).
bool packet_destination(const msghdr& rx, sockaddr_storage& out) {
    for (cmsghdr* c = CMSG_FIRSTHDR(const_cast<msghdr*>(&rx)); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&rx), c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            in_pktinfo in{};
            std::memcpy(&in, CMSG_DATA(c), sizeof in);
            auto& a = reinterpret_cast<sockaddr_in&>(out);
            a.sin_family = AF_INET;
            a.sin_addr = in.ipi_addr;
            return true;
        }
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            in6_pktinfo in{};
            std::memcpy(&in, CMSG_DATA(c), sizeof in);
            auto& a = reinterpret_cast<sockaddr_in6&>(out);
            a.sin6_family = AF_INET6;
            a.sin6_addr = in.ipi6_addr;
            return true;
        }
    }
    return false;
}

}  // namespace

bool client_from(const sockaddr_storage& ss, lb::Client& client) {
    if (ss.ss_family == AF_INET) {
        const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
        client.family = 4;
        std::memcpy(client.address, &a.sin_addr, 4);
        return a.sin_port != 0;
    }
    const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
    client.family = 6;
    std::memcpy(client.address, &a.sin6_addr, 16);
    return a.sin6_port != 0;
}

Worker::Worker(unsigned id, const ServeOptions& opts, SnapshotSlot& slot, SharedLimits* limits)
    : id_(id), opts_(opts), slot_(slot), limits_(limits) {
    if (limits_ == nullptr) {
        own_limits_ = std::make_unique<SharedLimits>(opts);
        limits_ = own_limits_.get();
    }
    ctx_.max_udp_payload = opts.max_udp_payload;
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
                                     if (status >= 0) sock->worker->drain_udp(*sock);
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

void Worker::drain_udp(UdpSocket& s) {
    const Snapshot* snap = snapshot_.get();
    RateLimiter& rrl = limits_->rrl;
    const uint64_t now_ms = uv_now(loop_.get());  // the loop's cached clock: no syscall
    // A few batches per wakeup, then back to the loop so TCP and the mailbox get a turn.
    for (int round = 0; round < 8; ++round) {
        for (unsigned i = 0; i < kBatch; ++i) {
            msghdr& h = rx_msgs_[i].msg_hdr;
            h.msg_name = &rx_addr_[i];
            h.msg_namelen = sizeof(sockaddr_storage);
            h.msg_control = s.pktinfo ? rx_cmsg_[i].data() : nullptr;
            h.msg_controllen = s.pktinfo ? kCmsgSpace : 0;
            h.msg_flags = 0;
        }
        const int n = recvmmsg(s.fd.get(), rx_msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (n <= 0) return;  // EAGAIN: drained
        unsigned m = 0;
        for (int i = 0; i < n; ++i) {
            const msghdr& h = rx_msgs_[i].msg_hdr;
            lb::Client client;
            if (h.msg_flags & MSG_TRUNC) {
                WorkerStats::bump(stats_.dropped);
                WorkerStats::bump(stats_.dropped_oversized);
                continue;
            }
            if (!client_from(rx_addr_[i], client)) {
                WorkerStats::bump(stats_.dropped);
                WorkerStats::bump(stats_.dropped_source_port);
                continue;
            }
            WorkerStats::bump(stats_.udp_queries);
            sockaddr_storage local;
            const bool has_local = s.pktinfo && packet_destination(h, local);
            if (is_reflection_source(rx_addr_[i], has_local ? &local : nullptr, opts_.listen)) {
                WorkerStats::bump(stats_.reflection_dropped);
                WorkerStats::bump(stats_.dropped);
                continue;
            }
            uint8_t* out = tx_buf_.data() + size_t{m} * kTxSlot;
            size_t len = answer_query(snap, {rx_buf_.data() + i * kRxSlot, rx_msgs_[i].msg_len},
                                      client, Transport::udp, ctx_, {out, kTxSlot});
            if (len == 0) {
                WorkerStats::bump(stats_.dropped);
                WorkerStats::bump(stats_.dropped_malformed);
                continue;
            }
            if (rrl.enabled()) {
                const RrlVerdict v = rrl.check(client, rrl_class(ctx_.last.rcode), now_ms);
                if (v == RrlVerdict::drop) {
                    WorkerStats::bump(stats_.rrl_dropped);
                    continue;
                }
                if (v == RrlVerdict::slip) {
                    WorkerStats::bump(stats_.rrl_slipped);
                    len = slip_response({out, kTxSlot}, len);
                }
            }
            WorkerStats::bump(stats_.rcode[static_cast<size_t>(ctx_.last.rcode) % 24]);
            count_query(stats_, false, ctx_.last.qtype, static_cast<uint16_t>(ctx_.last.rcode));
            if (ctx_.last.truncated) WorkerStats::bump(stats_.truncated);
            if (query_log_.on()) {
                query_log_.record(client, util::port_of(rx_addr_[i]), Transport::udp, {out, len},
                                  ctx_.last, stats_);
            }
            tx_iov_[m] = {out, len};
            msghdr& t = tx_msgs_[m].msg_hdr;
            t.msg_name = &rx_addr_[i];
            t.msg_namelen = h.msg_namelen;
            t.msg_control = nullptr;
            t.msg_controllen = 0;
            if (s.pktinfo) {
                const size_t clen = reply_pktinfo(h, tx_cmsg_[m].data(), kCmsgSpace);
                if (clen > 0) {
                    t.msg_control = tx_cmsg_[m].data();
                    t.msg_controllen = clen;
                }
            }
            ++m;
        }
        unsigned sent = 0;
        while (sent < m) {
            const int r = sendmmsg(s.fd.get(), tx_msgs_.data() + sent, m - sent, MSG_DONTWAIT);
            if (r < 0) {
                if (errno == EINTR) continue;
                // A full send buffer or an unreachable peer: drop, as NSD and Knot do,
                // rather than stall every other client behind one.
                for (; sent < m; ++sent) WorkerStats::bump(stats_.send_failed);
                break;
            }
            sent += static_cast<unsigned>(r);
        }
        if (static_cast<unsigned>(n) < kBatch) return;
    }
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
