#include "steerdns/server/udp_lane.h"

#include <fcntl.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "steerdns/server/pktinfo.h"
#include "steerdns/util/cpu_affinity.h"

namespace steerdns::server {

namespace {

// The rate limiter's clock, as the TCP loop's uv_now() counts it (monotonic milliseconds),
// read from the vDSO: no system call on the query path.
uint64_t monotonic_ms() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1000000u;
}

}  // namespace

UdpLane::UdpLane(unsigned row, const ServeOptions& opts, SnapshotSlot& slot, SharedLimits& limits,
                 Fd fd, const ListenAddr& at)
    : opts_(opts),
      responder_(row, opts, slot, limits),
      fd_(std::move(fd)),
      pktinfo_(at.is_wildcard()) {
    rx_buf_.resize(kBatch * kRxSlot);
    tx_buf_.resize(kBatch * kTxSlot);
    for (unsigned i = 0; i < kBatch; ++i) {
        rx_iov_[i] = {rx_buf_.data() + i * kRxSlot, kRxSlot};
        rx_msgs_[i].msg_hdr.msg_iov = &rx_iov_[i];
        rx_msgs_[i].msg_hdr.msg_iovlen = 1;
        tx_msgs_[i].msg_hdr.msg_iov = &tx_iov_[i];
        tx_msgs_[i].msg_hdr.msg_iovlen = 1;
    }
    // Blocking reads, woken at least every kIdleWakeMs to look at the stop and snapshot flags.
    const int flags = fcntl(fd_.get(), F_GETFL);
    timeval wake{0, kIdleWakeMs * 1000};
    if (flags < 0 || fcntl(fd_.get(), F_SETFL, flags & ~O_NONBLOCK) < 0 ||
        setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &wake, sizeof wake) < 0)
        throw std::runtime_error("udp socket " + at.text + ": " + std::strerror(errno));
}

UdpLane::~UdpLane() {
    stop();
    join();
}

void UdpLane::start(int cpu) {
    thread_ = std::thread([this, cpu] { run(cpu); });
}

void UdpLane::stop() {
    if (stopping_.exchange(true)) return;
    // Wakes a recvmmsg blocked on the socket at once (it returns 0), rather than after
    // kIdleWakeMs. An unconnected UDP socket answers ENOTCONN but is shut down all the same.
    ::shutdown(fd_.get(), SHUT_RD);
}

void UdpLane::join() {
    if (thread_.joinable()) thread_.join();
}

void UdpLane::run(int cpu) {
    if (cpu >= 0) util::pin_current_thread(static_cast<unsigned>(cpu), "worker");
    while (!stopping_.load(std::memory_order_acquire)) {
        const unsigned received = receive_batch();
        // After the stop's shutdown recvmmsg returns one empty "datagram": not a query.
        if (stopping_.load(std::memory_order_acquire)) break;
        // Once per reload: the only place a lane touches the shared slot. Looked at after the
        // wait, so a query sent after a publish (a drain's API call returned) sees it. The
        // exchange (a locked instruction) runs only when the plain load saw the flag.
        if (snapshot_pending_.load(std::memory_order_relaxed) &&
            snapshot_pending_.exchange(false, std::memory_order_acquire))
            responder_.adopt();
        if (received == 0) continue;  // the idle wake-up or a signal
        const uint64_t now_ms = monotonic_ms();
        unsigned replies = 0;
        for (unsigned i = 0; i < received; ++i)
            if (handle_datagram(i, replies, now_ms)) ++replies;
        send_batch(replies);
    }
    responder_.release();
}

// Waits for one datagram, then takes up to kBatch of what is queued; returns how many.
unsigned UdpLane::receive_batch() {
    for (unsigned i = 0; i < kBatch; ++i) {
        msghdr& h = rx_msgs_[i].msg_hdr;
        h.msg_name = &rx_addr_[i];
        h.msg_namelen = sizeof(sockaddr_storage);
        h.msg_control = pktinfo_ ? rx_cmsg_[i].data() : nullptr;
        h.msg_controllen = pktinfo_ ? kCmsgSpace : 0;
        h.msg_flags = 0;
    }
    const int n = recvmmsg(fd_.get(), rx_msgs_.data(), kBatch, MSG_WAITFORONE, nullptr);
    return n > 0 ? static_cast<unsigned>(n) : 0;
}

// Datagram `in` of the batch: answered into send slot `out` (true), or dropped and counted.
bool UdpLane::handle_datagram(unsigned in, unsigned out, uint64_t now_ms) {
    WorkerStats& stats = responder_.mutable_stats();
    const msghdr& h = rx_msgs_[in].msg_hdr;
    if (h.msg_flags & MSG_TRUNC) {
        WorkerStats::bump(stats.dropped);
        WorkerStats::bump(stats.dropped_oversized);
        return false;
    }
    Peer peer;
    if (!peer_from(rx_addr_[in], peer)) {
        WorkerStats::bump(stats.dropped);
        WorkerStats::bump(stats.dropped_source_port);
        return false;
    }
    WorkerStats::bump(stats.udp_queries);
    PacketInfo info;
    const bool has_info = pktinfo_ && read_pktinfo(h, info);
    sockaddr_storage local;
    if (has_info) destination_of(info, local);
    if (is_reflection_source(rx_addr_[in], has_info ? &local : nullptr, opts_.listen)) {
        WorkerStats::bump(stats.reflection_dropped);
        WorkerStats::bump(stats.dropped);
        return false;
    }
    uint8_t* reply = tx_buf_.data() + size_t{out} * kTxSlot;
    const size_t len =
        responder_.answer({rx_buf_.data() + size_t{in} * kRxSlot, rx_msgs_[in].msg_len}, peer,
                          Transport::udp, {reply, kTxSlot}, now_ms);
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
void UdpLane::send_batch(unsigned count) {
    unsigned sent = 0;
    while (sent < count) {
        const int r = sendmmsg(fd_.get(), tx_msgs_.data() + sent, count - sent, MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR) continue;
            // A full send buffer or an unreachable peer: drop, as NSD and Knot do,
            // rather than stall every other client behind one.
            for (; sent < count; ++sent) WorkerStats::bump(responder_.mutable_stats().send_failed);
            break;
        }
        sent += static_cast<unsigned>(r);
    }
}

}  // namespace steerdns::server
