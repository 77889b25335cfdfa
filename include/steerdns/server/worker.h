// A worker: one UDP lane per listen address (a thread blocked in recvmmsg on its socket of a
// SO_REUSEPORT group, udp_lane.h) and one libuv loop thread for TCP (its listener per listen
// address) and the mailbox. Each of those threads answers through its own Responder: own
// buffers, random source, counters and snapshot reference. Nothing on a query path is shared
// with another thread except the read-only snapshot (and a pool's rotation counter).
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
#include "steerdns/server/responder.h"
#include "steerdns/server/shared_limits.h"
#include "steerdns/server/snapshot_slot.h"
#include "steerdns/server/socket.h"
#include "steerdns/server/stats.h"
#include "steerdns/server/udp_lane.h"
#include "steerdns/util/uv.h"

namespace steerdns::server {

class TcpSession;

class Worker {
  public:
    // Rows of the snapshots' response counters (and query log rings) one worker writes:
    // its TCP loop's and one per UDP lane.
    static unsigned rows_per_worker(size_t listen_addresses) {
        return 1 + static_cast<unsigned>(listen_addresses);
    }

    // Worker `id` writes rows first_row .. first_row + rows_per_worker() - 1. `limits` is
    // shared by all workers of a server; without one the worker has its own.
    Worker(unsigned id, unsigned first_row, const ServeOptions& opts, SnapshotSlot& slot,
           SharedLimits* limits = nullptr);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Takes ownership of bound sockets (one UDP, one TCP per listen address).
    void add_udp(Fd fd, const ListenAddr& at);
    void add_tcp(Fd fd, const ListenAddr& at);

    // Every responder of this worker (its TCP loop's, then its lanes'): what /metrics, the
    // query log and the exit totals read. Stable once the sockets are added.
    std::vector<Responder*> responders();
    std::vector<const Responder*> responders() const;
    // Where `_why` traces read probe details (before start()).
    void set_probe_lookup(const why::ProbeLookup& probes);
    void start();           // spawns the threads
    void adopt_snapshot();  // wakes the threads to take the slot's current snapshot
    void stop();            // asks every thread to close everything; join() waits
    void join();

    unsigned id() const { return id_; }

    // For TcpSession: one query over TCP, answered by the loop's responder.
    size_t answer(std::span<const uint8_t> query, const Peer& peer, Transport transport,
                  std::span<uint8_t> out) {
        return tcp_responder_.answer(query, peer, transport, out, uv_now(loop_.get()));
    }
    WorkerStats& mutable_stats() { return tcp_responder_.mutable_stats(); }
    std::span<uint8_t> tcp_out() { return tcp_out_; }
    // Where every TCP connection of this worker reads into: a connection keeps bytes of its
    // own only for a message that has not fully arrived.
    std::span<uint8_t> tcp_in() { return tcp_in_; }
    SharedLimits& limits() { return *limits_; }
    const ServeOptions& options() const { return opts_; }
    uv_loop_t* loop() { return loop_.get(); }
    void remove_session(TcpSession* s);

  private:
    struct TcpListener {
        Worker* worker = nullptr;
        util::UvPtr<uv_tcp_t> tcp;
    };

    void run();
    void on_mailbox();
    int cpu() const;  // where this worker's threads run; -1: anywhere
    void on_accept(TcpListener& l);
    void close_all();

    unsigned id_;
    const ServeOptions& opts_;
    SnapshotSlot& slot_;
    util::Loop loop_;
    util::UvPtr<uv_async_t> mailbox_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
    std::vector<std::unique_ptr<UdpLane>> lanes_;
    std::vector<std::unique_ptr<TcpListener>> tcp_;
    std::list<std::unique_ptr<TcpSession>> sessions_;

    std::unique_ptr<SharedLimits> own_limits_;
    SharedLimits* limits_;

    unsigned first_row_;
    Responder tcp_responder_;
    std::vector<uint8_t> tcp_out_;
    std::vector<uint8_t> tcp_in_;
};

}  // namespace steerdns::server
