// tcp checks through io_uring: socket(), then IORING_OP_CONNECT linked to an
// IORING_OP_LINK_TIMEOUT (the check's timeout), then IORING_OP_CLOSE, the requests of one loop
// turn submitted together. Results and reasons are tcp_check.cc's.
#include "steerdns/health/tcp_uring.h"

#include <liburing.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "steerdns/util/uv.h"

namespace steerdns::health {

const char* probe_io_name(ProbeIo io) {
    switch (io) {
        case ProbeIo::automatic:
            return "auto";
        case ProbeIo::uring:
            return "uring";
        case ProbeIo::libuv:
            return "libuv";
    }
    return "?";
}

namespace {

class TcpUringAttempt;

// What the kernel holds of one probe: the address and the timeout it was handed, and the
// socket. Owned by the ring from start() until both the connect's and the link timeout's
// completions are in, whether or not the attempt still exists: the kernel never sees memory
// that was freed.
struct Connect {
    TcpUringAttempt* attempt = nullptr;  // null once it reported or went away
    int fd = -1;
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
    __kernel_timespec timeout{};
    bool connect_done = false;
    bool timeout_done = false;
    bool timed_out = false;  // the link timeout fired (-ETIME)
    bool cancelled = false;  // by cancel(): an -ECANCELED connect is ours, not the timeout's
};

// A request's user_data: its Connect's address, the request in the low bits (alignof >= 8).
enum Tag : uint64_t { kConnect = 0, kTimeout = 1, kClose = 2, kCancel = 3 };
constexpr uint64_t kTagMask = 3;
static_assert(alignof(Connect) >= 4);

uint64_t user_data(Connect* c, Tag tag) {
    return reinterpret_cast<uint64_t>(c) | tag;
}

std::string errno_text(int err) {
    // libuv's error codes are negated errnos on Linux: the texts of tcp_check.cc.
    return std::string("tcp connect: ") + uv_strerror(-err);
}

}  // namespace

struct UringLoop::Impl {
    Impl(uv_loop_t* l, unsigned max_in_flight);
    ~Impl();

    void start(Connect* c) { queued.push_back({kConnect, c, -1}); }
    void cancel(Connect* c) { queued.push_back({kCancel, c, -1}); }
    // Once per loop turn: everything queued into the submission queue, and to the kernel.
    void flush();
    // The eventfd fired: every completion.
    void reap();
    void complete(uint64_t data, int res);
    void close_handles_if_idle();

    uv_loop_t* loop;
    io_uring ring{};
    bool skip_close_cqe = false;  // IORING_FEAT_CQE_SKIP: a successful close posts nothing
    int event_fd = -1;
    util::UvPtr<uv_prepare_t> prepare;
    util::UvPtr<uv_poll_t> poll;
    struct Request {
        Tag tag;
        Connect* c;
        int fd;  // kClose
    };
    std::deque<Request> queued;  // not yet in the submission queue
    std::unordered_map<Connect*, std::unique_ptr<Connect>> live;
    struct Cqe {
        uint64_t data;
        int res;
    };
    std::vector<Cqe> batch;  // reap()'s, kept for its capacity
    bool closing = false;
};

namespace {

class TcpUringAttempt final : public Attempt {
  public:
    TcpUringAttempt(UringLoop& ring, std::shared_ptr<const ProbeTarget> target, Done done)
        : Attempt(ring.loop(), std::move(target), std::move(done)), ring_(ring.impl()) {}

    ~TcpUringAttempt() override {
        if (c_ == nullptr) return;
        c_->attempt = nullptr;  // its completions still come, to the ring alone
        if (!c_->connect_done && !c_->cancelled) {
            c_->cancelled = true;
            ring_.cancel(c_);
        }
    }

    void start() override {
        const int family = target().family == 4 ? AF_INET : AF_INET6;
        const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return finish(false, errno_text(errno));
        auto c = std::make_unique<Connect>();
        c->fd = fd;
        if (family == AF_INET) {
            auto* sa = reinterpret_cast<sockaddr_in*>(&c->addr);
            sa->sin_family = AF_INET;
            sa->sin_port = htons(check().port);
            std::memcpy(&sa->sin_addr, target().address, 4);
            c->addr_len = sizeof(sockaddr_in);
        } else {
            auto* sa = reinterpret_cast<sockaddr_in6*>(&c->addr);
            sa->sin6_family = AF_INET6;
            sa->sin6_port = htons(check().port);
            std::memcpy(&sa->sin6_addr, target().address, 16);
            c->addr_len = sizeof(sockaddr_in6);
        }
        c->timeout.tv_sec = check().timeout_ms / 1000;
        c->timeout.tv_nsec = static_cast<long long>(check().timeout_ms % 1000) * 1000000;
        c->attempt = this;
        c_ = c.get();
        ring_.live.emplace(c_, std::move(c));
        ring_.start(c_);
    }

    void cancel() override {
        if (c_ == nullptr || c_->connect_done || c_->cancelled) return;
        c_->cancelled = true;
        ring_.cancel(c_);  // the connect completes with -ECANCELED: reported then
    }

    // The connect's completion (its socket is already on its way to being closed).
    void connected(int res) {
        const bool cancelled = c_->cancelled;
        const bool timed_out = c_->timed_out;
        c_->attempt = nullptr;
        c_ = nullptr;
        if (res == 0) return finish(true, "tcp connect: ok");
        // The link timeout cancels the connect: -ECANCELED, whichever completion comes first.
        if (res == -ECANCELED && (timed_out || !cancelled))
            return finish(false, "tcp connect: " + timeout_text());
        finish(false, errno_text(-res));
    }

  private:
    UringLoop::Impl& ring_;
    Connect* c_ = nullptr;  // owned by the ring
};

}  // namespace

UringLoop::Impl::Impl(uv_loop_t* l, unsigned max_in_flight) : loop(l) {
    // Two entries per probe (connect + link timeout) for every probe at once, within bounds:
    // a bigger queue only saves submits, and a longer one is submitted in rounds. Completions
    // beyond the CQ are kept by the kernel (IORING_FEAT_NODROP, required below), not lost.
    const unsigned sq = std::clamp(2 * std::min(max_in_flight, 1u << 20), 64u, 4096u);
    io_uring_params params{};
    params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
    params.cq_entries = 4 * sq;
    int rc = io_uring_queue_init_params(sq, &ring, &params);
    if (rc == -EINVAL) {  // before 5.18: no SUBMIT_ALL
        params = {};
        params.flags = IORING_SETUP_CQSIZE;
        params.cq_entries = 4 * sq;
        rc = io_uring_queue_init_params(sq, &ring, &params);
    }
    if (rc < 0) throw std::runtime_error(std::string("io_uring_setup: ") + std::strerror(-rc));
    const auto fail = [this](const std::string& why) {
        io_uring_queue_exit(&ring);
        if (event_fd >= 0) ::close(event_fd);
        throw std::runtime_error(why);
    };
    if ((params.features & IORING_FEAT_NODROP) == 0)
        fail("io_uring: the kernel may drop completions (no IORING_FEAT_NODROP, before 5.5)");
    skip_close_cqe = (params.features & IORING_FEAT_CQE_SKIP) != 0;
    if (io_uring_probe* p = io_uring_get_probe_ring(&ring)) {
        const bool all = io_uring_opcode_supported(p, IORING_OP_CONNECT) &&
                         io_uring_opcode_supported(p, IORING_OP_LINK_TIMEOUT) &&
                         io_uring_opcode_supported(p, IORING_OP_CLOSE) &&
                         io_uring_opcode_supported(p, IORING_OP_ASYNC_CANCEL);
        io_uring_free_probe(p);
        if (!all) fail("io_uring: the kernel lacks connect, link timeout, close or cancel");
    } else {
        fail("io_uring: cannot probe the kernel's operations");
    }
    event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (event_fd < 0) fail(std::string("eventfd: ") + std::strerror(errno));
    rc = io_uring_register_eventfd(&ring, event_fd);
    if (rc < 0) fail(std::string("io_uring_register_eventfd: ") + std::strerror(-rc));

    poll = util::make_uv<uv_poll_t>();
    rc = uv_poll_init(loop, poll.get(), event_fd);
    if (rc < 0) fail(std::string("uv_poll_init: ") + uv_strerror(rc));
    poll->data = this;
    uv_poll_start(poll.get(), UV_READABLE,
                  [](uv_poll_t* h, int, int) { static_cast<Impl*>(h->data)->reap(); });
    prepare = util::make_uv<uv_prepare_t>();
    uv_prepare_init(loop, prepare.get());
    prepare->data = this;
    uv_prepare_start(prepare.get(), [](uv_prepare_t* h) { static_cast<Impl*>(h->data)->flush(); });
    // Runs every turn but keeps no loop alive; the poll does while the ring is open.
    uv_unref(reinterpret_cast<uv_handle_t*>(prepare.get()));
}

UringLoop::Impl::~Impl() {
    prepare.reset();
    poll.reset();  // stops watching the eventfd at once (libuv), before it is closed below
    // Requests still in the kernel (a loop stopped before they ended) are cancelled by the
    // ring's teardown; the kernel copied their address and timeout when they were submitted,
    // and their Connects are freed only after the ring is gone anyway.
    io_uring_queue_exit(&ring);
    for (auto& entry : live)
        if (entry.second->fd >= 0) ::close(entry.second->fd);
    for (const Request& r : queued)
        if (r.tag == kClose) ::close(r.fd);
    ::close(event_fd);
}

void UringLoop::Impl::flush() {
    while (!queued.empty()) {
        const Request r = queued.front();
        const unsigned need = r.tag == kConnect ? 2 : 1;
        if (io_uring_sq_space_left(&ring) < need) {
            // Full: hand what is there to the kernel and go on. Should the kernel take none
            // (-EBUSY: completions to read first), the rest waits for the next turn, which the
            // eventfd brings.
            if (io_uring_submit(&ring) <= 0 && io_uring_sq_space_left(&ring) < need) break;
            continue;
        }
        queued.pop_front();
        io_uring_sqe* s = io_uring_get_sqe(&ring);
        switch (r.tag) {
            case kConnect: {
                io_uring_prep_connect(s, r.c->fd, reinterpret_cast<const sockaddr*>(&r.c->addr),
                                      r.c->addr_len);
                s->flags |= IOSQE_IO_LINK;
                io_uring_sqe_set_data64(s, user_data(r.c, kConnect));
                io_uring_sqe* t = io_uring_get_sqe(&ring);
                io_uring_prep_link_timeout(t, &r.c->timeout, 0);
                io_uring_sqe_set_data64(t, user_data(r.c, kTimeout));
                break;
            }
            case kCancel:
                // Queued after its connect, so submitted with it or after: the kernel finds it
                // unless it has completed (-ENOENT, and its completion is on its way).
                io_uring_prep_cancel64(s, user_data(r.c, kConnect), 0);
                io_uring_sqe_set_data64(s, kCancel);
                break;
            case kClose:
                io_uring_prep_close(s, r.fd);
                if (skip_close_cqe) s->flags |= IOSQE_CQE_SKIP_SUCCESS;
                io_uring_sqe_set_data64(s, kClose);
                break;
            case kTimeout:
                break;
        }
    }
    if (io_uring_sq_ready(&ring) > 0) io_uring_submit(&ring);
}

void UringLoop::Impl::reap() {
    eventfd_t count;
    (void)eventfd_read(event_fd, &count);  // re-armed before the queue is read: none is missed
    batch.clear();
    for (;;) {
        unsigned head;
        unsigned seen = 0;
        io_uring_cqe* cqe;
        io_uring_for_each_cqe(&ring, head, cqe) {
            batch.push_back({cqe->user_data, cqe->res});
            ++seen;
        }
        io_uring_cq_advance(&ring, seen);
        // Completions the CQ had no room for wait in the kernel: one enter brings them in.
        if (seen == 0 && !io_uring_cq_has_overflow(&ring)) break;
        if (seen == 0) io_uring_get_events(&ring);
    }
    // Out of the ring first: a result's callback may start probes (queued, not submitted).
    for (const Cqe& e : batch) complete(e.data, e.res);
    close_handles_if_idle();
}

void UringLoop::Impl::complete(uint64_t data, int res) {
    const auto tag = static_cast<Tag>(data & kTagMask);
    if (tag == kClose || tag == kCancel) return;  // a failed close or a late cancel: nothing to do
    auto* c = reinterpret_cast<Connect*>(data & ~kTagMask);
    if (tag == kTimeout) {
        c->timeout_done = true;
        c->timed_out = res == -ETIME;
    } else {
        c->connect_done = true;
        if (res == 0) {
            // Close with a reset, as tcp_check.cc does (no FIN exchange, no TIME_WAIT).
            const linger reset{1, 0};
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        }
        queued.push_back({kClose, nullptr, c->fd});
        c->fd = -1;
        if (c->attempt) c->attempt->connected(res);  // may destroy the attempt, not `c`
    }
    if (c->connect_done && c->timeout_done) live.erase(c);
}

void UringLoop::Impl::close_handles_if_idle() {
    if (!closing || !live.empty()) return;
    flush();  // the last closes
    if (!queued.empty()) return;
    prepare.reset();
    poll.reset();
}

UringLoop::UringLoop(uv_loop_t* loop, unsigned max_in_flight)
    : impl_(std::make_unique<Impl>(loop, max_in_flight)) {}

UringLoop::~UringLoop() = default;

uv_loop_t* UringLoop::loop() const {
    return impl_->loop;
}

void UringLoop::close_when_idle() {
    impl_->closing = true;
    impl_->close_handles_if_idle();
}

size_t UringLoop::in_flight() const {
    return impl_->live.size() + impl_->queued.size();
}

std::unique_ptr<Attempt> make_tcp_uring_attempt(UringLoop& ring,
                                                std::shared_ptr<const ProbeTarget> target,
                                                Attempt::Done done) {
    return std::make_unique<TcpUringAttempt>(ring, std::move(target), std::move(done));
}

}  // namespace steerdns::health
