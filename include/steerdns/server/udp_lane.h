// A UDP lane: one thread blocked in recvmmsg(MSG_WAITFORONE) on one socket of a SO_REUSEPORT
// group, answering each batch and sending it back with one sendmmsg, as gdnsd and the bare
// reflector do. No event loop: a batch costs two system calls, not an epoll_wait more (which
// measured 8 % of the server's CPU per query under load). TCP stays on the worker's libuv
// loop. The lane owns its Responder, so it shares nothing writable with any other thread.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <thread>
#include <vector>

#include "steerdns/server/responder.h"
#include "steerdns/server/socket.h"

namespace steerdns::server {

class UdpLane {
  public:
    // Datagrams handled per recvmmsg/sendmmsg pair. 64 amortises the syscalls well past
    // the point of diminishing returns (gdnsd uses 16, Knot 64) at 256 KiB of buffers.
    static constexpr unsigned kBatch = 64;
    static constexpr size_t kRxSlot = 4096;  // larger queries are dropped (MSG_TRUNC)
    static constexpr size_t kTxSlot = 4096;  // >= any max_udp_payload we accept
    // How long a lane waits for a datagram before looking for a new snapshot or a stop: an
    // idle lane must not keep a replaced snapshot (a big zone's memory) alive for long.
    static constexpr int kIdleWakeMs = 100;

    UdpLane(unsigned row, const ServeOptions& opts, SnapshotSlot& slot, SharedLimits& limits, Fd fd,
            const ListenAddr& at);
    ~UdpLane();
    UdpLane(const UdpLane&) = delete;
    UdpLane& operator=(const UdpLane&) = delete;

    Responder& responder() { return responder_; }
    const Responder& responder() const { return responder_; }

    // `cpu`: pin the thread there (-1: leave it to the scheduler).
    void start(int cpu);
    // The slot holds a new snapshot: taken before the next batch is answered.
    void adopt_snapshot() { snapshot_pending_.store(true, std::memory_order_release); }
    void stop();  // wakes the thread; join() waits for it
    void join();

  private:
    void run(int cpu);
    unsigned receive_batch();
    bool handle_datagram(unsigned in, unsigned out, uint64_t now_ms);
    void send_batch(unsigned count);

    const ServeOptions& opts_;
    Responder responder_;
    Fd fd_;
    bool pktinfo_ = false;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> snapshot_pending_{false};
    std::thread thread_;

    // Batch buffers, allocated once: the query path never allocates.
    std::vector<uint8_t> rx_buf_;
    std::vector<uint8_t> tx_buf_;
    std::array<mmsghdr, kBatch> rx_msgs_{};
    std::array<mmsghdr, kBatch> tx_msgs_{};
    std::array<iovec, kBatch> rx_iov_{};
    std::array<iovec, kBatch> tx_iov_{};
    std::array<sockaddr_storage, kBatch> rx_addr_{};
    static constexpr size_t kCmsgSpace = 64;  // fits in_pktinfo and in6_pktinfo
    alignas(cmsghdr) std::array<std::array<uint8_t, kCmsgSpace>, kBatch> rx_cmsg_{};
    alignas(cmsghdr) std::array<std::array<uint8_t, kCmsgSpace>, kBatch> tx_cmsg_{};
};

}  // namespace steerdns::server
