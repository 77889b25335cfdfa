// tcp: up when a connection is accepted within the timeout.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "steerdns/health/attempt.h"
#include "steerdns/util/uv.h"

namespace steerdns::health {

namespace {

class TcpAttempt final : public Attempt {
  public:
    using Attempt::Attempt;

    void start() override {
        sockaddr_storage ss{};
        if (target().family == 4) {
            auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
            sa->sin_family = AF_INET;
            sa->sin_port = htons(check().port);
            std::memcpy(&sa->sin_addr, target().address, 4);
        } else {
            auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
            sa->sin6_family = AF_INET6;
            sa->sin6_port = htons(check().port);
            std::memcpy(&sa->sin6_addr, target().address, 16);
        }
        tcp_ = util::make_uv<uv_tcp_t>();
        int rc = uv_tcp_init(loop(), tcp_.get());
        if (rc < 0) return finish(false, std::string("tcp connect: ") + uv_strerror(rc));
        // The timer before the connect: once the connect is under way, only on_connect may
        // report.
        timer_ = util::make_uv<uv_timer_t>();
        rc = uv_timer_init(loop(), timer_.get());
        if (rc < 0) return finish(false, std::string("tcp connect: ") + uv_strerror(rc));
        timer_->data = this;
        req_.data = this;
        rc = uv_tcp_connect(&req_, tcp_.get(), reinterpret_cast<const sockaddr*>(&ss), on_connect);
        if (rc < 0) return finish(false, std::string("tcp connect: ") + uv_strerror(rc));
        // The loop's clock dates from the start of this turn, before the connect (or the
        // fork) above: a timer set from it would cut the attempt's timeout short.
        uv_update_time(loop());
        uv_timer_start(timer_.get(), on_timeout, check().timeout_ms, 0);
    }

    void cancel() override {
        timer_.reset();
        tcp_.reset();  // the connect callback follows with UV_ECANCELED
    }

  private:
    static void on_connect(uv_connect_t* req, int status) {
        auto* self = static_cast<TcpAttempt*>(req->data);
        if (self->timed_out_) return self->finish(false, "tcp connect: " + self->timeout_text());
        if (status < 0)
            return self->finish(false, std::string("tcp connect: ") + uv_strerror(status));
        // Close with a reset, as HAProxy does for its checks: no FIN exchange and no
        // TIME_WAIT entry per probe, which at thousands of probes a second is most of the
        // kernel's work and would fill the time-wait table.
        uv_os_fd_t fd;
        if (uv_fileno(reinterpret_cast<uv_handle_t*>(self->tcp_.get()), &fd) == 0) {
            const linger reset{1, 0};
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        }
        self->finish(true, "tcp connect: ok");
    }

    static void on_timeout(uv_timer_t* t) {
        auto* self = static_cast<TcpAttempt*>(t->data);
        self->timed_out_ = true;
        self->tcp_.reset();  // closing cancels the connect: on_connect reports the timeout
    }

    // The request lives in the attempt, which lives until on_connect: libuv calls it exactly
    // once, with UV_ECANCELED when the handle is closed first.
    uv_connect_t req_{};
    util::UvPtr<uv_tcp_t> tcp_;
    util::UvPtr<uv_timer_t> timer_;
    bool timed_out_ = false;
};

}  // namespace

std::unique_ptr<Attempt> make_tcp_attempt(uv_loop_t* loop,
                                          std::shared_ptr<const ProbeTarget> target,
                                          Attempt::Done done) {
    return std::make_unique<TcpAttempt>(loop, std::move(target), std::move(done));
}

}  // namespace steerdns::health
