// A worker: one thread, one libuv loop, its own UDP socket and TCP listener per listen
// address (SO_REUSEPORT groups spread clients across workers), its own buffers, random
// source, counters and snapshot reference. Nothing on its query path is shared with other
// workers except the read-only snapshot (and a pool's rotation counter).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <list>
#include <memory>
#include <thread>
#include <vector>

#include "steerdns/answer/answer.h"
#include "steerdns/server/options.h"
#include "steerdns/server/peer.h"
#include "steerdns/server/query_log.h"
#include "steerdns/server/shared_limits.h"
#include "steerdns/server/snapshot_slot.h"
#include "steerdns/server/socket.h"
#include "steerdns/server/stats.h"
#include "steerdns/util/uv.h"

namespace steerdns::server {

class TcpSession;

class Worker {
  public:
    // Datagrams handled per recvmmsg/sendmmsg pair. 64 amortises the syscalls well past
    // the point of diminishing returns (gdnsd uses 16, Knot 64) at 256 KiB of buffers.
    static constexpr unsigned kBatch = 64;
    static constexpr size_t kRxSlot = 4096;  // larger queries are dropped (MSG_TRUNC)
    static constexpr size_t kTxSlot = 4096;  // >= any max_udp_payload we accept

    // `limits` is shared by all workers of a server; without one the worker has its own.
    Worker(unsigned id, const ServeOptions& opts, SnapshotSlot& slot,
           SharedLimits* limits = nullptr);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Takes ownership of bound sockets (one UDP, one TCP per listen address).
    void add_udp(Fd fd, const ListenAddr& at);
    void add_tcp(Fd fd, const ListenAddr& at);

    // --query-log: this worker's ring and sampling; before start().
    void set_query_log(QueryLogRing* ring, unsigned sample) { query_log_.attach(ring, sample); }
    // Where `_why` traces read probe details (before start()).
    void set_probe_lookup(why::ProbeLookup probes) { ctx_.probes = std::move(probes); }
    void start();           // spawns the thread
    void adopt_snapshot();  // wakes the worker to take the slot's current snapshot
    void stop();            // asks the loop to close everything; join() waits
    void join();

    const WorkerStats& stats() const { return stats_; }
    // Null with --signature-cache 0. Its counters may be read from other threads.
    const SignatureCache* signature_cache() const { return ctx_.signatures.get(); }
    unsigned id() const { return id_; }

    // One query, over UDP or TCP, from receipt to the bytes to send: answer_query(), rate
    // limiting (UDP), then what every answered query is counted and logged as. Returns the
    // response length in `out`; 0: send nothing (counted here, as dropped or rate limited).
    size_t answer(std::span<const uint8_t> query, const Peer& peer, Transport transport,
                  std::span<uint8_t> out);

    // For TcpSession.
    WorkerStats& mutable_stats() { return stats_; }
    std::span<uint8_t> tcp_out() { return tcp_out_; }
    // Where every TCP connection of this worker reads into: a connection keeps bytes of its
    // own only for a message that has not fully arrived.
    std::span<uint8_t> tcp_in() { return tcp_in_; }
    SharedLimits& limits() { return *limits_; }
    const ServeOptions& options() const { return opts_; }
    uv_loop_t* loop() { return loop_.get(); }
    void remove_session(TcpSession* s);

  private:
    struct UdpSocket {
        Worker* worker = nullptr;
        Fd fd;
        bool pktinfo = false;
        int family = AF_INET;
        util::UvPtr<uv_poll_t> poll;
    };
    struct TcpListener {
        Worker* worker = nullptr;
        util::UvPtr<uv_tcp_t> tcp;
    };

    void run();
    void on_mailbox();
    // A UDP socket is readable: a few rounds of receive, handle, send, each a batch.
    void on_udp_readable(UdpSocket& s);
    unsigned receive_batch(UdpSocket& s);
    bool handle_datagram(const UdpSocket& s, unsigned in, unsigned out);
    void send_batch(UdpSocket& s, unsigned count);
    void on_accept(TcpListener& l);
    void close_all();

    unsigned id_;
    const ServeOptions& opts_;
    SnapshotSlot& slot_;
    util::Loop loop_;
    util::UvPtr<uv_async_t> mailbox_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
    std::vector<std::unique_ptr<UdpSocket>> udp_;
    std::vector<std::unique_ptr<TcpListener>> tcp_;
    std::list<std::unique_ptr<TcpSession>> sessions_;

    std::unique_ptr<SharedLimits> own_limits_;
    SharedLimits* limits_;

    SnapshotPtr snapshot_;
    AnswerContext ctx_;
    WorkerStats stats_;
    QueryLogTap query_log_;

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
    std::vector<uint8_t> tcp_out_;
    std::vector<uint8_t> tcp_in_;
};

}  // namespace steerdns::server
