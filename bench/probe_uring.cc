// Cost of a tcp probe three ways (issue 17 part 2): libuv as src/health/tcp_check.cc does it,
// io_uring in batches, and plain epoll as a floor. Run by hand or by bench/run.sh when built;
// not a test. Build (an optional target, off by default; needs liburing-dev) and run:
//
//   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DSTEERDNS_BENCH=ON -DSTEERDNS_TESTS=OFF
//   cmake --build build-bench -j2 --target probe_uring
//   build-bench/probe_uring [--targets 10000] [--rounds 5] [--batches 64,256] [--max-seconds 50]
//
// Each round probes N targets once per variant, batch size and target, in an order that
// rotates every round: `open` is a listener on 127.0.0.2 in a child process that accepts and
// closes (the member up), `closed` a bound port that answers the SYN with a reset (the member
// down). A batch of B probes starts together and the next starts when all of them ended, in
// every variant, so each sees the same concurrency. Per segment: CPU of this process
// (getrusage user+sys; the listener is another process), the machine's softirq time
// (/proc/stat, all CPUs: not this process's alone), context switches and wall time.
//
// Variants:
//   libuv       tcp_check.cc's calls: a heap handle and a timer per probe, uv_tcp_connect,
//               SO_LINGER 0 on success, uv_close of both; one loop.
//   epoll       socket, connect, epoll_ctl ADD, getsockopt(SO_ERROR) on EPOLLOUT, SO_LINGER 0
//               on success, close; one deadline per batch (gdnsd's job, without libev).
//   uring       socket() per probe, then IORING_OP_CONNECT + IORING_OP_LINK_TIMEOUT for the
//               batch in one submit, SO_LINGER 0 on success, IORING_OP_CLOSE (no completion
//               unless it fails) submitted with the next wait; one ring.
//   uring-chain everything in the ring, no system call per probe: IORING_OP_SOCKET into a
//               registered file slot, SO_LINGER 0 by IORING_OP_URING_CMD (kernel 6.7+),
//               CONNECT + LINK_TIMEOUT, CLOSE of the slot, linked; skipped when the kernel
//               refuses it.
#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

// ---- outcome of a batch, shared by the variants ----

struct Outcome {
    size_t up = 0;
    size_t down = 0;
    size_t timeouts = 0;
    size_t errors = 0;  // the probe machinery itself failed (not the target)
};

constexpr int kTimeoutMs = 2000;

sockaddr_in target_address(uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.2", &sa.sin_addr);
    return sa;
}

void reset_on_close(int fd) {
    const linger reset{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
}

// ---- 1. libuv, the calls of src/health/tcp_check.cc ----

class UvVariant {
  public:
    UvVariant() { uv_loop_init(&loop_); }
    ~UvVariant() {
        uv_run(&loop_, UV_RUN_DEFAULT);
        uv_loop_close(&loop_);
    }

    void run_batch(const sockaddr_in& sa, size_t count, Outcome& out) {
        out_ = &out;
        for (size_t i = 0; i < count; ++i) start(sa);
        uv_run(&loop_, UV_RUN_DEFAULT);  // returns when every handle of the batch is closed
    }

  private:
    struct Probe {
        UvVariant* owner;
        uv_tcp_t* tcp = nullptr;
        uv_timer_t* timer = nullptr;
        uv_connect_t req{};
        bool timed_out = false;
    };

    template <typename T>
    static void close_handle(T*& h) {
        if (h == nullptr) return;
        uv_close(reinterpret_cast<uv_handle_t*>(h),
                 [](uv_handle_t* c) { delete reinterpret_cast<T*>(c); });
        h = nullptr;
    }

    void start(const sockaddr_in& sa) {
        auto* p = new Probe{this};
        p->tcp = new uv_tcp_t;
        if (uv_tcp_init(&loop_, p->tcp) < 0) return finish(p, false, true);
        p->timer = new uv_timer_t;
        uv_timer_init(&loop_, p->timer);
        p->timer->data = p;
        p->req.data = p;
        int rc =
            uv_tcp_connect(&p->req, p->tcp, reinterpret_cast<const sockaddr*>(&sa), on_connect);
        if (rc < 0) return finish(p, false, true);
        uv_update_time(&loop_);
        uv_timer_start(p->timer, on_timeout, kTimeoutMs, 0);
    }

    static void on_connect(uv_connect_t* req, int status) {
        auto* p = static_cast<Probe*>(req->data);
        if (p->timed_out) {
            ++p->owner->out_->timeouts;
            return finish(p, false, false);
        }
        if (status < 0) return finish(p, false, false);
        uv_os_fd_t fd;
        if (uv_fileno(reinterpret_cast<uv_handle_t*>(p->tcp), &fd) == 0) reset_on_close(fd);
        finish(p, true, false);
    }

    static void on_timeout(uv_timer_t* t) {
        auto* p = static_cast<Probe*>(t->data);
        p->timed_out = true;
        close_handle(p->tcp);  // the connect callback follows with UV_ECANCELED
    }

    // The daemon drops the attempt here, which closes both handles.
    static void finish(Probe* p, bool up, bool error) {
        Outcome& out = *p->owner->out_;
        if (error)
            ++out.errors;
        else if (up)
            ++out.up;
        else
            ++out.down;
        close_handle(p->timer);
        close_handle(p->tcp);
        delete p;
    }

    uv_loop_t loop_;
    Outcome* out_ = nullptr;
};

// ---- 2. epoll, the floor ----

class EpollVariant {
  public:
    EpollVariant() : ep_(epoll_create1(EPOLL_CLOEXEC)) {}
    ~EpollVariant() { close(ep_); }

    void run_batch(const sockaddr_in& sa, size_t count, Outcome& out) {
        size_t pending = 0;
        for (size_t i = 0; i < count; ++i) {
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                ++out.errors;
                continue;
            }
            if (connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0) {
                reset_on_close(fd);
                close(fd);
                ++out.up;
                continue;
            }
            if (errno != EINPROGRESS) {
                close(fd);
                ++out.down;
                continue;
            }
            epoll_event ev{};
            ev.events = EPOLLOUT;
            ev.data.fd = fd;
            epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
            fds_.push_back(fd);
            ++pending;
        }
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(kTimeoutMs);
        epoll_event events[256];
        while (pending > 0) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) break;
            int n = epoll_wait(ep_, events, 256, static_cast<int>(left.count()));
            for (int i = 0; i < n; ++i) {
                int fd = events[i].data.fd;
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err == 0) {
                    reset_on_close(fd);
                    ++out.up;
                } else {
                    ++out.down;
                }
                close(fd);  // also leaves the epoll set
                std::replace(fds_.begin(), fds_.end(), fd, -1);
                --pending;
            }
        }
        for (int fd : fds_) {
            if (fd < 0) continue;
            ++out.timeouts;
            ++out.down;
            close(fd);
        }
        fds_.clear();
    }

  private:
    int ep_;
    std::vector<int> fds_;  // in flight
};

// ---- 3. io_uring ----

// SOCKET_URING_OP_SETSOCKOPT (linux 6.7): Debian 12's headers predate it.
constexpr uint32_t kSocketUringOpSetsockopt = 3;

enum Tag : uint64_t { kConnect = 1, kTimeout = 2, kClose = 3, kSocket = 4, kLinger = 5 };

uint64_t user_data(Tag tag, size_t index) {
    return (static_cast<uint64_t>(tag) << 32) | index;
}

class UringVariant {
  public:
    // chain: the whole probe as one linked chain on registered file slots.
    UringVariant(bool chain, size_t max_batch) : chain_(chain) {
        io_uring_params params{};
        params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
        params.flags |= IORING_SETUP_CQSIZE;
        params.cq_entries = 8192;
        int rc = io_uring_queue_init_params(2048, &ring_, &params);
        if (rc < 0) {  // before 6.1
            params = {};
            rc = io_uring_queue_init_params(2048, &ring_, &params);
        }
        if (rc < 0) {
            std::fprintf(stderr, "io_uring_queue_init: %s\n", std::strerror(-rc));
            std::exit(1);
        }
        if (chain_) {
            rc = io_uring_register_files_sparse(&ring_, static_cast<unsigned>(max_batch));
            if (rc < 0) {
                std::fprintf(stderr, "io_uring_register_files_sparse: %s\n", std::strerror(-rc));
                std::exit(1);
            }
        }
        fds_.resize(max_batch, -1);
        timeout_.tv_sec = kTimeoutMs / 1000;
        timeout_.tv_nsec = (kTimeoutMs % 1000) * 1000000L;
    }
    ~UringVariant() { io_uring_queue_exit(&ring_); }

    void run_batch(const sockaddr_in& sa, size_t count, Outcome& out) {
        if (chain_)
            run_chain(sa, count, out);
        else
            run_plain(sa, count, out);
    }

    // Whether the kernel takes SO_LINGER by IORING_OP_URING_CMD (6.7+): tried alone on a
    // plain socket, where exactly one completion comes, so an older kernel cannot leave a
    // chain's completions short and the wait endless.
    bool chain_works() {
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        io_uring_sqe* l = sqe();
        prep_reset_on_close(l, fd);
        io_uring_submit_and_wait(&ring_, 1);
        io_uring_cqe* cqe = nullptr;
        const bool ok = io_uring_wait_cqe(&ring_, &cqe) == 0 && cqe->res == 0;
        if (cqe != nullptr) io_uring_cqe_seen(&ring_, cqe);
        close(fd);
        return ok;
    }

  private:
    io_uring_sqe* sqe() {
        io_uring_sqe* s = io_uring_get_sqe(&ring_);
        if (s == nullptr) {
            io_uring_submit(&ring_);
            s = io_uring_get_sqe(&ring_);
        }
        return s;
    }

    void run_plain(const sockaddr_in& sa, size_t count, Outcome& out) {
        size_t pending = 0;
        for (size_t i = 0; i < count; ++i) {
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                ++out.errors;
                continue;
            }
            fds_[i] = fd;
            io_uring_sqe* c = sqe();
            io_uring_prep_connect(c, fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
            c->flags |= IOSQE_IO_LINK;
            io_uring_sqe_set_data64(c, user_data(kConnect, i));
            io_uring_sqe* t = sqe();
            io_uring_prep_link_timeout(t, &timeout_, 0);
            io_uring_sqe_set_data64(t, user_data(kTimeout, i));
            ++pending;
        }
        // The link timeouts complete too (-ECANCELED when the connect won): wait for both.
        size_t completions = 2 * pending;
        while (completions > 0) {
            io_uring_submit_and_wait(&ring_, 1);  // also sends the closes queued below
            unsigned head;
            unsigned seen = 0;
            io_uring_cqe* cqe;
            io_uring_for_each_cqe(&ring_, head, cqe) {
                ++seen;
                const uint64_t data = io_uring_cqe_get_data64(cqe);
                const auto tag = static_cast<Tag>(data >> 32);
                const size_t i = data & 0xffffffffU;
                if (tag == kClose) {  // only failures complete
                    ++out.errors;
                    continue;
                }
                --completions;
                if (tag == kTimeout) {
                    if (cqe->res == -ETIME) ++out.timeouts;
                    continue;
                }
                if (cqe->res == 0) {
                    reset_on_close(fds_[i]);
                    ++out.up;
                } else {
                    ++out.down;
                }
                io_uring_sqe* c = sqe();
                io_uring_prep_close(c, fds_[i]);
                c->flags |= IOSQE_CQE_SKIP_SUCCESS;
                io_uring_sqe_set_data64(c, user_data(kClose, i));
                fds_[i] = -1;
            }
            io_uring_cq_advance(&ring_, seen);
        }
        io_uring_submit(&ring_);  // the last closes
    }

    // setsockopt(SO_LINGER {1, 0}) as a ring operation (liburing 2.5's
    // io_uring_prep_cmd_sock, which Debian 12's 2.3 lacks).
    static void prep_reset_on_close(io_uring_sqe* l, int fd) {
        static const linger reset{1, 0};
        io_uring_prep_rw(IORING_OP_URING_CMD, l, fd, nullptr, 0, 0);
        l->off = kSocketUringOpSetsockopt;                                // cmd_op
        l->addr = SOL_SOCKET | (static_cast<uint64_t>(SO_LINGER) << 32);  // level, optname
        l->file_index = sizeof reset;                                     // optlen
        l->addr3 = reinterpret_cast<uint64_t>(&reset);                    // optval
        io_uring_sqe_set_data64(l, user_data(kLinger, 0));
    }

    void run_chain(const sockaddr_in& sa, size_t count, Outcome& out) {
        for (size_t i = 0; i < count; ++i) {
            const auto slot = static_cast<unsigned>(i);
            io_uring_sqe* s = sqe();
            io_uring_prep_socket_direct(s, AF_INET, SOCK_STREAM, 0, slot, 0);
            s->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
            io_uring_sqe_set_data64(s, user_data(kSocket, i));
            // SO_LINGER 0 before the connect: the same reset at close, no system call.
            io_uring_sqe* l = sqe();
            prep_reset_on_close(l, static_cast<int>(slot));
            l->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
            io_uring_sqe_set_data64(l, user_data(kLinger, i));
            io_uring_sqe* c = sqe();
            io_uring_prep_connect(c, static_cast<int>(slot), reinterpret_cast<const sockaddr*>(&sa),
                                  sizeof sa);
            // A hard link: a refused connect still goes on to the close.
            c->flags |= IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;
            io_uring_sqe_set_data64(c, user_data(kConnect, i));
            io_uring_sqe* t = sqe();
            io_uring_prep_link_timeout(t, &timeout_, 0);
            t->flags |= IOSQE_IO_HARDLINK;
            io_uring_sqe_set_data64(t, user_data(kTimeout, i));
            io_uring_sqe* x = sqe();
            io_uring_prep_close_direct(x, slot);
            io_uring_sqe_set_data64(x, user_data(kClose, i));
        }
        // Per probe: the connect, its timeout and the close complete (socket and linger only
        // when they fail, and then the rest of the chain fails too).
        size_t completions = 3 * count;
        while (completions > 0) {
            io_uring_submit_and_wait(&ring_, 1);
            unsigned head;
            unsigned seen = 0;
            io_uring_cqe* cqe;
            io_uring_for_each_cqe(&ring_, head, cqe) {
                ++seen;
                const auto tag = static_cast<Tag>(io_uring_cqe_get_data64(cqe) >> 32);
                if (tag == kSocket || tag == kLinger) {
                    ++out.errors;
                    continue;
                }
                --completions;
                if (tag == kTimeout) {
                    if (cqe->res == -ETIME) ++out.timeouts;
                } else if (tag == kConnect) {
                    if (cqe->res == 0)
                        ++out.up;
                    else if (cqe->res == -ECANCELED && out.errors > 0)
                        ;  // counted as the error that cancelled the chain
                    else
                        ++out.down;
                } else if (tag == kClose && cqe->res < 0) {
                    ++out.errors;
                }
            }
            io_uring_cq_advance(&ring_, seen);
        }
    }

    bool chain_;
    io_uring ring_{};
    __kernel_timespec timeout_{};
    std::vector<int> fds_;  // plain: the socket of each probe of the batch
};

// ---- measurement ----

struct Usage {
    double cpu = 0;       // user + sys of this process, seconds
    double listener = 0;  // user + sys of the listener process, seconds
    double softirq = 0;   // all CPUs, seconds
    long switches = 0;
    double wall = 0;
};

double softirq_seconds() {
    std::ifstream stat("/proc/stat");
    std::string cpu;
    uint64_t user, nice, sys, idle, iowait, irq, softirq;
    stat >> cpu >> user >> nice >> sys >> idle >> iowait >> irq >> softirq;
    return static_cast<double>(softirq) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

pid_t g_listener = 0;

// utime + stime of another process, from /proc/PID/stat (fields 14 and 15).
double process_cpu(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(f, line);
    const auto paren = line.rfind(')');
    if (paren == std::string::npos) return 0;
    std::istringstream rest(line.substr(paren + 2));
    std::string field;
    uint64_t utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
        if (i == 14) utime = std::stoull(field);
        if (i == 15) stime = std::stoull(field);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Threads of this process now: io_uring's io-wq workers would show here (their time is in
// RUSAGE_SELF either way).
int thread_count() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
    return 0;
}

// What one system call costs on this machine (getppid, the cheapest; CPU time, so that a
// loaded machine does not inflate it): the io_uring variants save system calls, so their gain
// scales with this.
double syscall_ns() {
    auto cpu_ns = [] {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
    };
    constexpr int kCalls = 200000;
    const double t0 = cpu_ns();
    for (int i = 0; i < kCalls; ++i) getppid();
    return (cpu_ns() - t0) / kCalls;
}

Usage now() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    Usage u;
    u.cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
            static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    u.softirq = softirq_seconds();
    u.listener = process_cpu(g_listener);
    u.switches = ru.ru_nvcsw + ru.ru_nivcsw;
    u.wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    return u;
}

std::string loadavg() {
    std::ifstream f("/proc/loadavg");
    std::string one;
    f >> one;
    return one;
}

struct Segment {
    std::string variant;
    size_t batch;
    std::string target;
};

std::string key(const Segment& s) {
    return s.variant + "/" + std::to_string(s.batch) + "/" + s.target;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void kill_listener() {
    if (g_listener > 0) {
        kill(g_listener, SIGKILL);
        waitpid(g_listener, nullptr, 0);
        g_listener = 0;
    }
}

// The open target: a child process that accepts and closes, so its CPU is not ours.
uint16_t start_listener() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa = target_address(0);
    socklen_t len = sizeof sa;
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0 || listen(fd, 4096) < 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) < 0) {
        std::perror("listener");
        std::exit(1);
    }
    const pid_t parent = getpid();
    g_listener = fork();
    if (g_listener == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(0);
        for (;;) {
            int c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (c >= 0) close(c);
        }
    }
    close(fd);
    return ntohs(sa.sin_port);
}

void usage(const char* argv0) {
    std::fprintf(stderr,
                 "usage: %s [--targets N] [--rounds R] [--batches 64,256] [--max-seconds S]\n"
                 "          [--variants libuv,epoll,uring,uring-chain] [--only-target "
                 "open|closed|stalled]\n"
                 "stalled: a listener whose queue is full, so probes time out after 2 s (a check "
                 "of the\ntimeout path, not part of the default run)\n",
                 argv0);
    std::exit(2);
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) out.push_back(item);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    size_t targets = 10000;
    int rounds = 5;
    double max_seconds = 50;
    std::vector<size_t> batches{64, 256};
    std::vector<std::string> variants{"libuv", "epoll", "uring", "uring-chain"};
    std::vector<std::string> kinds{"open", "closed"};
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) usage(argv[0]);
        const std::string v = argv[++i];
        if (a == "--targets") {
            targets = std::stoul(v);
        } else if (a == "--rounds") {
            rounds = std::stoi(v);
        } else if (a == "--max-seconds") {
            max_seconds = std::stod(v);
        } else if (a == "--batches") {
            batches.clear();
            for (const auto& b : split(v)) batches.push_back(std::stoul(b));
        } else if (a == "--variants") {
            variants = split(v);
        } else if (a == "--only-target") {
            kinds = {v};
        } else {
            usage(argv[0]);
        }
    }
    signal(SIGPIPE, SIG_IGN);
    const size_t max_batch = *std::max_element(batches.begin(), batches.end());
    if (max_batch > 1024) usage(argv[0]);

    const uint16_t open_port = start_listener();
    // The closed target: a bound socket that does not listen answers SYNs with a reset, and
    // holding it keeps the port from being taken by anyone else.
    int closed_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in closed = target_address(0);
    socklen_t len = sizeof closed;
    bind(closed_fd, reinterpret_cast<sockaddr*>(&closed), sizeof closed);
    getsockname(closed_fd, reinterpret_cast<sockaddr*>(&closed), &len);
    const sockaddr_in open = target_address(open_port);
    // The stalled target: listening with a queue of one that nobody accepts; once it is full
    // the kernel drops SYNs and the probes time out.
    int stalled_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in stalled = target_address(0);
    len = sizeof stalled;
    bind(stalled_fd, reinterpret_cast<sockaddr*>(&stalled), sizeof stalled);
    listen(stalled_fd, 0);
    getsockname(stalled_fd, reinterpret_cast<sockaddr*>(&stalled), &len);

    UvVariant uv;
    EpollVariant ep;
    UringVariant uring(false, max_batch);
    UringVariant chain(true, max_batch);
    if (std::find(variants.begin(), variants.end(), "uring-chain") != variants.end() &&
        !chain.chain_works()) {
        std::fprintf(stderr,
                     "uring-chain: skipped (SO_LINGER by IORING_OP_URING_CMD needs "
                     "linux 6.7)\n");
        variants.erase(std::find(variants.begin(), variants.end(), "uring-chain"));
    }

    std::vector<Segment> segments;
    for (const auto& kind : kinds)
        for (size_t b : batches)
            for (const auto& v : variants) segments.push_back({v, b, kind});

    utsname uts{};
    uname(&uts);
    std::printf(
        "# probe_uring: %zu targets per segment, kernel %s, load %s, a system call "
        "(getppid) %.0f ns\n",
        targets, uts.release, loadavg().c_str(), syscall_ns());
    std::printf(
        "# per probe: cpu = this process (user+sys), listener = the accepting process, "
        "softirq = all CPUs (/proc/stat)\n");
    std::printf(
        "# round\tvariant\tbatch\ttarget\tup\tdown\ttimeouts\terrors\tcpu_us\t"
        "listener_us\tsoftirq_us\tswitches\tthreads\twall_ms\tload1\n");
    std::map<std::string, std::vector<Usage>> per_round;  // key -> one Usage per round
    const auto started = std::chrono::steady_clock::now();
    int done_rounds = 0;
    for (int round = 0; round < rounds; ++round) {
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        if (round > 0 && elapsed / round * (round + 1) > max_seconds) break;
        // Each round starts one segment later: no variant always runs first or last.
        if (round > 0) std::rotate(segments.begin(), segments.begin() + 1, segments.end());
        for (const auto& seg : segments) {
            const sockaddr_in& sa = seg.target == "open"     ? open
                                    : seg.target == "closed" ? closed
                                                             : stalled;
            Outcome out;
            const Usage before = now();
            for (size_t started_n = 0; started_n < targets; started_n += seg.batch) {
                const size_t n = std::min(seg.batch, targets - started_n);
                if (seg.variant == "libuv")
                    uv.run_batch(sa, n, out);
                else if (seg.variant == "epoll")
                    ep.run_batch(sa, n, out);
                else if (seg.variant == "uring")
                    uring.run_batch(sa, n, out);
                else
                    chain.run_batch(sa, n, out);
            }
            const Usage after = now();
            Usage d;
            d.cpu = after.cpu - before.cpu;
            d.listener = after.listener - before.listener;
            d.softirq = after.softirq - before.softirq;
            d.switches = after.switches - before.switches;
            d.wall = after.wall - before.wall;
            per_round[key(seg)].push_back(d);
            const double n = static_cast<double>(targets);
            std::printf(
                "%d\t%s\t%zu\t%s\t%zu\t%zu\t%zu\t%zu\t%.2f\t%.2f\t%.2f\t%ld\t%d\t%.1f\t%s\n", round,
                seg.variant.c_str(), seg.batch, seg.target.c_str(), out.up, out.down, out.timeouts,
                out.errors, d.cpu / n * 1e6, d.listener / n * 1e6, d.softirq / n * 1e6, d.switches,
                thread_count(), d.wall * 1e3, loadavg().c_str());
            std::fflush(stdout);
            const bool expected = seg.target == "open"     ? out.up == targets
                                  : seg.target == "closed" ? out.down == targets
                                                           : out.up + out.down == targets;
            if (!expected || out.errors > 0)
                std::fprintf(stderr, "WARNING: %s: %zu up, %zu down, %zu errors of %zu\n",
                             key(seg).c_str(), out.up, out.down, out.errors, targets);
        }
        ++done_rounds;
    }
    kill_listener();
    close(closed_fd);
    close(stalled_fd);

    // Medians of per-round ratios against libuv at the same batch size and target.
    std::printf("\n# %d rounds; medians of per-round values (min-max of the ratios)\n",
                done_rounds);
    std::printf(
        "# target\tbatch\tvariant\tcpu_us\tlistener_us\tsoftirq_us\twall_ms\t"
        "cpu/libuv\twall/libuv\n");
    for (const auto& kind : kinds) {
        for (size_t b : batches) {
            const auto& base = per_round[key({"libuv", b, kind})];
            for (const auto& v : variants) {
                const auto& us = per_round[key({v, b, kind})];
                std::vector<double> cpu, listener, soft, wall, cpu_ratio, wall_ratio;
                for (size_t r = 0; r < us.size(); ++r) {
                    const double n = static_cast<double>(targets);
                    cpu.push_back(us[r].cpu / n * 1e6);
                    listener.push_back(us[r].listener / n * 1e6);
                    soft.push_back(us[r].softirq / n * 1e6);
                    wall.push_back(us[r].wall * 1e3);
                    if (r < base.size() && base[r].cpu > 0) {
                        cpu_ratio.push_back(us[r].cpu / base[r].cpu);
                        wall_ratio.push_back(us[r].wall / base[r].wall);
                    }
                }
                if (cpu_ratio.empty()) continue;
                std::printf(
                    "%s\t%zu\t%s\t%.2f\t%.2f\t%.2f\t%.1f\t%.2f (%.2f-%.2f)\t%.2f\n", kind.c_str(),
                    b, v.c_str(), median(cpu), median(listener), median(soft), median(wall),
                    median(cpu_ratio), *std::min_element(cpu_ratio.begin(), cpu_ratio.end()),
                    *std::max_element(cpu_ratio.begin(), cpu_ratio.end()), median(wall_ratio));
            }
        }
    }
    return 0;
}
