// One DNS-over-TCP connection (RFC 7766): two-byte length framing, pipelined queries answered
// in order of arrival, an idle timeout, and backpressure when the client does not read.
// Buffers are taken when data arrives and released when drained, so idle connections cost
// little.
#pragma once

#include <list>
#include <memory>
#include <vector>

#include "steerdns/lb/policy.h"
#include "steerdns/server/uv.h"

namespace steerdns::server {

class Worker;

class TcpSession {
  public:
    explicit TcpSession(Worker& worker);
    ~TcpSession();
    TcpSession(const TcpSession&) = delete;
    TcpSession& operator=(const TcpSession&) = delete;

    // Accepts a pending connection from `server`; false when there was none.
    bool accept(uv_stream_t* server);
    void set_position(std::list<std::unique_ptr<TcpSession>>::iterator it) { position_ = it; }
    std::list<std::unique_ptr<TcpSession>>::iterator position() const { return position_; }

  private:
    struct WriteReq;  // outlives the session if a write is still in flight at close
    static constexpr size_t kMaxPendingOut = 1 << 20;

    void start_reading();
    void on_read(ssize_t nread);
    void answer_frames();
    void flush();
    void on_written(int status);
    void touch();
    void close();

    Worker& worker_;
    UvPtr<uv_tcp_t> tcp_;
    UvPtr<uv_timer_t> idle_;
    std::vector<uint8_t> in_;
    size_t in_len_ = 0;
    std::vector<uint8_t> pending_out_;
    WriteReq* inflight_ = nullptr;
    bool reading_ = false;
    bool closing_ = false;
    lb::Client client_;  // the peer, as the query path wants it
    uint16_t port_ = 0;  // and its port, for the query log
    std::list<std::unique_ptr<TcpSession>>::iterator position_;
};

}  // namespace steerdns::server
