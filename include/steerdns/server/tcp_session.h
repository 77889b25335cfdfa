// One DNS-over-TCP connection (RFC 7766): two-byte length framing, pipelined queries answered
// in order of arrival, and the limits that keep one client from holding a worker:
// - idle timeout (no message started), read timeout (a started message must arrive whole),
//   write timeout (a client that does not take its answers), all on one timer;
// - a cap on output held for a client that does not read: reading stops until it catches up;
// - a cap on queries per connection: the last one is answered, then the connection is
//   closed gracefully (FIN after the answers, input discarded until the client closes).
// Memory is taken when data arrives, not per connection: bytes are read into the worker's
// buffer and answered from there; a connection keeps bytes of its own only for a message
// still arriving, and answers only while the socket cannot take them.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <span>
#include <vector>

#include "steerdns/dns/wire.h"
#include "steerdns/lb/policy.h"
#include "steerdns/server/peer.h"
#include "steerdns/util/uv.h"

namespace steerdns::server {

class Worker;

class TcpSession {
  public:
    // The worker's read buffer, shared by its connections.
    static constexpr size_t kReadChunk = 16 * 1024;
    // The worker's answer batch: answers to one read go out in one write.
    static constexpr size_t kOutBatch = 2 * (2 + dns::kMaxTcpMessage);
    // Output held for a client that does not read, past which its queries wait unanswered.
    static constexpr size_t kMaxQueuedOut = 64 * 1024;

    explicit TcpSession(Worker& worker);
    ~TcpSession();
    TcpSession(const TcpSession&) = delete;
    TcpSession& operator=(const TcpSession&) = delete;

    // Accepts a pending connection from `server`; false when there was none.
    bool accept(uv_stream_t* server);
    // Admitted: `limit_slot` is returned to the connection limiter when the session ends.
    void start(uint32_t limit_slot);
    const lb::Client& client() const { return peer_.client; }

    void set_position(std::list<std::unique_ptr<TcpSession>>::iterator it) { position_ = it; }
    std::list<std::unique_ptr<TcpSession>>::iterator position() const { return position_; }

  private:
    struct WriteReq;  // outlives the session if a write is still in flight at close
    enum class Wait : uint8_t { idle, read, write, linger };

    void start_reading();
    void stop_reading();
    void on_alloc(uv_buf_t* buf);
    void on_read(ssize_t nread, const uv_buf_t* buf);
    void on_eof();
    size_t answer_frames(std::span<const uint8_t> data);
    void answer_held();
    void send(std::span<const uint8_t> bytes);
    void write_pending();
    void on_written(int status);
    void begin_graceful_close();
    void maybe_finish();
    void resume_if_unblocked();
    size_t queued_out() const;
    bool blocked() const { return queued_out() >= kMaxQueuedOut; }
    void rearm();
    void on_timer();
    void close();

    Worker& worker_;
    util::UvPtr<uv_tcp_t> tcp_;
    util::UvPtr<uv_timer_t> timer_;
    std::vector<uint8_t> in_;  // bytes of a message still arriving (or held while blocked)
    size_t in_len_ = 0;
    std::vector<uint8_t> pending_out_;  // answers the socket has not taken yet
    WriteReq* inflight_ = nullptr;
    uint64_t last_active_ms_ = 0;
    uint64_t message_started_ms_ = 0;
    uint64_t write_started_ms_ = 0;
    uint64_t closing_started_ms_ = 0;
    uint64_t answered_ = 0;
    uint32_t limit_slot_ = 0;
    bool admitted_ = false;
    bool reading_ = false;
    bool closing_ = false;  // no more queries: send what is queued, then close
    bool eof_ = false;      // the client will send nothing more
    bool shut_ = false;     // our FIN is requested
    bool closed_ = false;   // removal scheduled: every callback ignores the session
    Wait waiting_ = Wait::idle;
    Peer peer_;  // the client, as the query path and the query log want it
    std::list<std::unique_ptr<TcpSession>>::iterator position_;
};

}  // namespace steerdns::server
