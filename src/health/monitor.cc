#include "steerdns/health/monitor.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "steerdns/health/flap_filter.h"
#include "steerdns/util/clock.h"
#include "steerdns/util/cpu_affinity.h"
#include "steerdns/util/curl.h"
#include "steerdns/util/log.h"
#include "steerdns/util/uv.h"

namespace steerdns::health {

using util::curl_init_once;
using util::CurlEasyPtr;
using util::CurlMultiPtr;
using util::CurlSlistPtr;
using util::Loop;
using util::make_uv;
using util::uv_check;
using util::UvPtr;

namespace {

// A health check reads a status line and a small body; a backend streaming more than this
// is cut off (and judged on what arrived), so a probe costs bounded memory.
constexpr size_t kMaxBody = 64 * 1024;

std::string url_host(const ProbeTarget& t) {
    return t.family == 6 ? "[" + t.address_text + "]" : t.address_text;
}

std::string substitute(std::string arg, const ProbeTarget& t) {
    const std::string port = t.check.port ? std::to_string(t.check.port) : "";
    for (const auto& [from, to] :
         {std::pair<std::string, std::string>{"{address}", t.address_text}, {"{port}", port}}) {
        for (size_t at = arg.find(from); at != std::string::npos;
             at = arg.find(from, at + to.size())) {
            arg.replace(at, from.size(), to);
        }
    }
    return arg;
}

}  // namespace

class Attempt;

// One probe: a slot of the registry, its schedule and its flap filter.
struct Probe {
    Probe(Monitor::Impl* m, ProbeSpec s)
        : mon(m), spec(std::move(s)), filter(spec.target->check.rise, spec.target->check.fall) {}
    Monitor::Impl* mon;
    ProbeSpec spec;
    FlapFilter filter;
    util::UvPtr<uv_timer_t> timer;
    uint64_t launched = 0;  // sequence number of the last attempt started
    uint64_t applied = 0;   // of the last result applied: a late, older result is dropped
};

// A socket libcurl asked us to watch.
struct CurlSocket {
    Monitor::Impl* mon = nullptr;
    curl_socket_t fd = CURL_SOCKET_BAD;
    util::UvPtr<uv_poll_t> poll;
};

struct Monitor::Impl {
    Impl(ProbeRegistry& r, MonitorLimits l);
    ~Impl();

    void on_wake();
    void apply(std::vector<ProbeSpec> specs);
    void shutdown_loop();
    void launch(Probe& p);
    void run(Probe& p);
    void launch_waiting();
    void note_cap_reached();
    void on_result(uint32_t slot, const std::string& key, uint64_t seq, bool ok,
                   const std::string& reason, double seconds);
    void log_change(const Probe& p, State before, const std::string& reason);
    void check_multi_info();

    static int on_curl_socket(CURL*, curl_socket_t s, int what, void* userp, void*);
    static int on_curl_timer(CURLM*, long timeout_ms, void* userp);

    ProbeRegistry& registry;
    HealthTable& table;
    // Declared first so it is destroyed last: its destructor runs the close callbacks of
    // every handle below.
    Loop loop;
    util::UvPtr<uv_async_t> wake;
    util::UvPtr<uv_timer_t> curl_timer;
    std::unordered_map<curl_socket_t, std::unique_ptr<CurlSocket>> curl_sockets;
    // After curl_sockets: curl_multi_cleanup may still report sockets to forget.
    CurlMultiPtr multi;
    std::unordered_map<uint32_t, std::unique_ptr<Probe>> probes;
    std::list<std::unique_ptr<Attempt>> attempts;
    std::mt19937_64 rng;
    // The caps, and the probes waiting for a place, by slot, oldest first (exec checks in a
    // queue of their own, so a full exec cap does not hold back tcp and http probes).
    MonitorLimits limits;
    unsigned running_exec = 0;
    struct Waiting {
        uint64_t seq;  // order of arrival across both queues
        uint32_t slot;
    };
    std::deque<Waiting> waiting;
    std::deque<Waiting> waiting_exec;
    uint64_t waiting_seq = 0;
    std::unordered_set<uint32_t> queued;
    bool launching_waiting = false;
    uint64_t last_cap_log_ms = 0;
    bool cap_logged = false;
    std::atomic<uint64_t> delayed{0};
    std::thread thread;
    bool stopping = false;  // loop thread only

    std::mutex m;  // guards the two below, the handoff from the control thread
    std::optional<std::vector<ProbeSpec>> pending;
    bool stop_requested = false;

    // What the control thread reads: written here on each result, copied out under the lock.
    mutable std::mutex status_m;
    std::unordered_map<uint32_t, ProbeStatus> status;
    ProbeResultCounts results;
};

// One run of a check. Attempts always run to their end (bounded by the check's timeout), so
// no libuv request is ever cancelled under a live callback; a result whose probe is gone is
// dropped. finish() reports and destroys the attempt: callers return right after it.
class Attempt {
  public:
    Attempt(Monitor::Impl& mon, const Probe& p)
        : mon_(mon),
          slot_(p.spec.slot),
          key_(p.spec.key),
          seq_(p.launched),
          target_(p.spec.target),
          started_(uv_hrtime()) {}
    virtual ~Attempt() = default;
    Attempt(const Attempt&) = delete;
    Attempt& operator=(const Attempt&) = delete;

    virtual void start() = 0;
    // Shutdown: end as soon as possible (the result is ignored).
    virtual void cancel() = 0;

    std::list<std::unique_ptr<Attempt>>::iterator self;

  protected:
    void finish(bool ok, const std::string& reason) {
        Monitor::Impl& mon = mon_;
        mon.on_result(slot_, key_, seq_, ok, reason,
                      static_cast<double>(uv_hrtime() - started_) / 1e9);
        mon.attempts.erase(self);  // destroys this: only `mon` may be used below
        mon.launch_waiting();      // a place is free
    }
    uv_loop_t* loop() { return mon_.loop.get(); }
    const CheckDef& check() const { return target_->check; }
    std::string timeout_text() const {
        return "timeout after " + seconds_text(check().timeout_ms) + "s";
    }

    Monitor::Impl& mon_;
    uint32_t slot_;
    std::string key_;
    uint64_t seq_;
    std::shared_ptr<const ProbeTarget> target_;  // kept alive even if the probe goes away
    uint64_t started_;                           // uv_hrtime(), for the probe's duration
};

namespace {

// tcp: up when a connection is accepted within the timeout.
class TcpAttempt final : public Attempt {
  public:
    using Attempt::Attempt;

    void start() override {
        sockaddr_storage ss{};
        if (target_->family == 4) {
            auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
            sa->sin_family = AF_INET;
            sa->sin_port = htons(check().port);
            std::memcpy(&sa->sin_addr, target_->address, 4);
        } else {
            auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
            sa->sin6_family = AF_INET6;
            sa->sin6_port = htons(check().port);
            std::memcpy(&sa->sin6_addr, target_->address, 16);
        }
        tcp_ = util::make_uv<uv_tcp_t>();
        uv_tcp_init(loop(), tcp_.get());
        req_.data = this;
        const int rc =
            uv_tcp_connect(&req_, tcp_.get(), reinterpret_cast<const sockaddr*>(&ss), on_connect);
        if (rc < 0) return finish(false, std::string("tcp connect: ") + uv_strerror(rc));
        timer_ = util::make_uv<uv_timer_t>();
        uv_timer_init(loop(), timer_.get());
        timer_->data = this;
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

// exec: keepalived's MISC_CHECK. Exit 0 = up. The program gets its own session (and so
// process group), which the timeout kills whole, children included.
class ExecAttempt final : public Attempt {
  public:
    ExecAttempt(Monitor::Impl& mon, const Probe& p) : Attempt(mon, p) { ++mon_.running_exec; }
    ~ExecAttempt() override { --mon_.running_exec; }

    void start() override {
        std::vector<std::string> args;
        for (const std::string& a : check().command) args.push_back(substitute(a, *target_));
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        uv_stdio_container_t stdio[3];
        for (auto& s : stdio) s.flags = UV_IGNORE;  // /dev/null: a check talks by exit code
        uv_process_options_t o{};
        o.file = argv[0];
        o.args = argv.data();
        o.exit_cb = on_exit;
        o.flags = UV_PROCESS_DETACHED;
        o.stdio_count = 3;
        o.stdio = stdio;
        proc_ = util::make_uv<uv_process_t>();
        proc_->data = this;
        const int rc = uv_spawn(loop(), proc_.get(), &o);
        if (rc < 0) {
            return finish(false, "exec: cannot run " + args[0] + ": " + uv_strerror(rc));
        }
        timer_ = util::make_uv<uv_timer_t>();
        uv_timer_init(loop(), timer_.get());
        timer_->data = this;
        uv_timer_start(timer_.get(), on_timeout, check().timeout_ms, 0);
    }

    void cancel() override { kill_group(); }

  private:
    void kill_group() {
        // Not reaped yet (on_exit has not run), so the pid, and the group it leads, are ours.
        if (proc_ && proc_->pid > 0) uv_kill(-proc_->pid, SIGKILL);
    }

    static void on_exit(uv_process_t* p, int64_t status, int term_signal) {
        auto* self = static_cast<ExecAttempt*>(p->data);
        if (self->timed_out_) {
            return self->finish(false, "exec: " + self->timeout_text() + " (killed)");
        }
        if (term_signal != 0) {
            return self->finish(false, "exec: killed by signal " + std::to_string(term_signal));
        }
        if (status != 0) return self->finish(false, "exec: exit " + std::to_string(status));
        self->finish(true, "exec: exit 0");
    }

    static void on_timeout(uv_timer_t* t) {
        auto* self = static_cast<ExecAttempt*>(t->data);
        self->timed_out_ = true;
        self->kill_group();  // on_exit follows and reports the timeout
    }

    util::UvPtr<uv_process_t> proc_;
    util::UvPtr<uv_timer_t> timer_;
    bool timed_out_ = false;
};

// http and https: GET every path at once, through the monitor's curl multi handle; up when
// all pass (status in expect_status, body containing expect_body).
class HttpAttempt final : public Attempt {
  public:
    using Attempt::Attempt;

    struct Transfer {
        HttpAttempt* owner = nullptr;
        std::string path;
        CurlEasyPtr easy;
        CurlSlistPtr connect_to;
        std::string body;
        bool capped = false;
        bool done = false;
        CURLcode code = CURLE_OK;
        long status = 0;
        char errbuf[CURL_ERROR_SIZE] = {};
    };

    ~HttpAttempt() override {
        for (auto& t : transfers_)
            if (!t->done && t->easy) curl_multi_remove_handle(mon_.multi.get(), t->easy.get());
    }

    void start() override {
        for (const std::string& path : check().paths) {
            auto t = std::make_unique<Transfer>();
            t->owner = this;
            t->path = path;
            if (!setup(*t) || curl_multi_add_handle(mon_.multi.get(), t->easy.get()) != CURLM_OK) {
                t->done = true;
                t->code = CURLE_FAILED_INIT;
            } else {
                ++pending_;
            }
            transfers_.push_back(std::move(t));
        }
        if (pending_ == 0) conclude();
    }

    void cancel() override {
        for (auto& t : transfers_) {
            if (!t->done) curl_multi_remove_handle(mon_.multi.get(), t->easy.get());
            t->done = true;
        }
        finish(false, "cancelled");
    }

    // From Impl::check_multi_info, outside any curl callback.
    void on_done(Transfer& t, CURLcode code) {
        curl_multi_remove_handle(mon_.multi.get(), t.easy.get());
        t.done = true;
        t.code = code;
        curl_easy_getinfo(t.easy.get(), CURLINFO_RESPONSE_CODE, &t.status);
        if (--pending_ == 0) conclude();
    }

  private:
    const char* scheme() const { return check().type == CheckType::https ? "https" : "http"; }

    bool setup(Transfer& t) {
        t.easy.reset(curl_easy_init());
        CURL* e = t.easy.get();
        if (e == nullptr) return false;
        const CheckDef& c = check();
        const std::string port = std::to_string(c.port);
        std::string url = std::string(scheme()) + "://";
        if (c.host.empty()) {
            url += url_host(*target_) + ":" + port + t.path;
        } else {
            // Host header and TLS SNI say the name; the connection goes to the probe address.
            url += c.host + ":" + port + t.path;
            const std::string rule = c.host + ":" + port + ":" + url_host(*target_) + ":" + port;
            t.connect_to.reset(curl_slist_append(nullptr, rule.c_str()));
            curl_easy_setopt(e, CURLOPT_CONNECT_TO, t.connect_to.get());
        }
        curl_easy_setopt(e, CURLOPT_URL, url.c_str());
        curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for timeouts
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(c.timeout_ms));
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(c.timeout_ms));
        // Each probe tests the whole path to the backend, connection set-up included.
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);  // a 3xx is an answer (default 200-399)
        curl_easy_setopt(e, CURLOPT_PROXY, "");           // never through http_proxy & co
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_USERAGENT, "steerdns-health/" STEERDNS_VERSION);
        if (c.type == CheckType::https && !c.verify) {
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        return true;
    }

    static size_t on_body(char* data, size_t size, size_t n, void* userp) {
        auto* t = static_cast<Transfer*>(userp);
        const size_t len = size * n;
        const size_t room = kMaxBody - t->body.size();
        t->body.append(data, std::min(len, room));
        if (len > room) {
            t->capped = true;
            return 0;  // stop the transfer: judged on the first kMaxBody bytes
        }
        return len;
    }

    // Short and specific: "connect: connection refused" rather than libcurl's sentence.
    static std::string failure(const Transfer& t) {
        long os_errno = 0;
        curl_easy_getinfo(t.easy.get(), CURLINFO_OS_ERRNO, &os_errno);
        if (t.code == CURLE_COULDNT_CONNECT && os_errno != 0) {
            std::string e = std::strerror(static_cast<int>(os_errno));
            if (!e.empty())
                e[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(e[0])));
            return "connect: " + e;
        }
        return t.errbuf[0] ? t.errbuf : curl_easy_strerror(t.code);
    }

    // The first failing path decides the reason; all passing is up.
    void conclude() {
        const CheckDef& c = check();
        std::string ok_reason;
        for (const auto& t : transfers_) {
            const std::string what = std::string(scheme()) + " GET " + t->path + ": ";
            const bool cut_off = t->code == CURLE_WRITE_ERROR && t->capped;
            if (t->code == CURLE_OPERATION_TIMEDOUT) return finish(false, what + timeout_text());
            if (t->code != CURLE_OK && !cut_off) return finish(false, what + failure(*t));
            const std::string status = "status " + std::to_string(t->status);
            if (!c.status_ok(t->status)) return finish(false, what + status);
            if (c.has_expect_body && t->body.find(c.expect_body) == std::string::npos) {
                return finish(false,
                              what + status + ", body does not contain \"" + c.expect_body + "\"");
            }
            if (ok_reason.empty()) ok_reason = what + status;
        }
        finish(true, ok_reason);
    }

    std::vector<std::unique_ptr<Transfer>> transfers_;
    size_t pending_ = 0;
};

}  // namespace

Monitor::Impl::Impl(ProbeRegistry& r, MonitorLimits l)
    : registry(r), table(r.states()), rng(static_cast<uint64_t>(uv_hrtime())), limits(l) {
    limits.max_in_flight = std::max(1u, limits.max_in_flight);
    limits.max_exec = std::max(1u, limits.max_exec);
    curl_init_once();
    wake = util::make_uv<uv_async_t>();
    util::uv_check(uv_async_init(loop.get(), wake.get(),
                                 [](uv_async_t* a) { static_cast<Impl*>(a->data)->on_wake(); }),
                   "uv_async_init");
    wake->data = this;
    curl_timer = util::make_uv<uv_timer_t>();
    uv_timer_init(loop.get(), curl_timer.get());
    curl_timer->data = this;
    multi.reset(curl_multi_init());
    if (!multi) throw std::runtime_error("curl_multi_init failed");
    curl_multi_setopt(multi.get(), CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(multi.get(), CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi.get(), CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(multi.get(), CURLMOPT_TIMERDATA, this);
}

Monitor::Impl::~Impl() {
    if (!stopping) shutdown_loop();  // never started: release everything here
}

// libcurl's socket callback: watch what it asks for, with one uv_poll per socket.
int Monitor::Impl::on_curl_socket(CURL*, curl_socket_t s, int what, void* userp, void*) {
    auto* self = static_cast<Impl*>(userp);
    if (what == CURL_POLL_REMOVE) {
        // libcurl says so before it closes the socket, so the fd is still ours to unwatch.
        if (auto it = self->curl_sockets.find(s); it != self->curl_sockets.end()) {
            uv_poll_stop(it->second->poll.get());
            self->curl_sockets.erase(it);  // closes the poll handle
        }
        return 0;
    }
    std::unique_ptr<CurlSocket>& cs = self->curl_sockets[s];
    if (!cs) {
        cs = std::make_unique<CurlSocket>();
        cs->mon = self;
        cs->fd = s;
        cs->poll = util::make_uv<uv_poll_t>();
        if (uv_poll_init_socket(self->loop.get(), cs->poll.get(), s) < 0) {
            self->curl_sockets.erase(s);
            return -1;
        }
        cs->poll->data = cs.get();
    }
    int events = 0;
    if (what & CURL_POLL_IN) events |= UV_READABLE;
    if (what & CURL_POLL_OUT) events |= UV_WRITABLE;
    uv_poll_start(cs->poll.get(), events, [](uv_poll_t* h, int status, int ev) {
        auto* sock = static_cast<CurlSocket*>(h->data);
        Impl* mon = sock->mon;
        const curl_socket_t fd = sock->fd;  // sock may be gone once libcurl has run
        int flags = 0;
        if (status < 0) flags = CURL_CSELECT_ERR;
        if (ev & UV_READABLE) flags |= CURL_CSELECT_IN;
        if (ev & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
        int running = 0;
        curl_multi_socket_action(mon->multi.get(), fd, flags, &running);
        mon->check_multi_info();
    });
    return 0;
}

// libcurl's timer callback: one uv_timer for the whole multi handle.
int Monitor::Impl::on_curl_timer(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<Impl*>(userp);
    if (!self->curl_timer) return 0;
    if (timeout_ms < 0) {
        uv_timer_stop(self->curl_timer.get());
        return 0;
    }
    // Never call back into libcurl from here: a 0 ms timer runs it on the next loop turn.
    uv_timer_start(
        self->curl_timer.get(),
        [](uv_timer_t* t) {
            auto* mon = static_cast<Impl*>(t->data);
            int running = 0;
            curl_multi_socket_action(mon->multi.get(), CURL_SOCKET_TIMEOUT, 0, &running);
            mon->check_multi_info();
        },
        static_cast<uint64_t>(timeout_ms), 0);
    return 0;
}

void Monitor::Impl::check_multi_info() {
    if (!multi) return;
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi.get(), &left)) {
        if (msg->msg != CURLMSG_DONE) continue;
        char* priv = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        auto* t = reinterpret_cast<HttpAttempt::Transfer*>(priv);
        const CURLcode code = msg->data.result;
        t->owner->on_done(*t, code);  // may finish (destroy) the attempt
    }
}

void Monitor::Impl::on_wake() {
    std::optional<std::vector<ProbeSpec>> specs;
    bool stop;
    {
        std::lock_guard lock(m);
        specs = std::exchange(pending, std::nullopt);
        stop = stop_requested;
    }
    if (stop) return shutdown_loop();
    if (specs) apply(std::move(*specs));
}

void Monitor::Impl::apply(std::vector<ProbeSpec> specs) {
    std::unordered_map<uint32_t, ProbeSpec*> wanted;
    for (ProbeSpec& s : specs) wanted.emplace(s.slot, &s);
    std::vector<uint32_t> dropped;
    for (auto it = probes.begin(); it != probes.end();) {
        const auto w = wanted.find(it->first);
        if (w != wanted.end() && w->second->key == it->second->spec.key) {
            // Same key: keeps its state, filter and schedule; only who uses it may change.
            it->second->spec.label = std::move(w->second->label);
            it->second->spec.users = w->second->users;
            wanted.erase(w);
            ++it;
            continue;
        }
        if (w == wanted.end()) dropped.push_back(it->first);
        table.set(it->first, State::unknown);
        {
            std::lock_guard lock(status_m);
            status.erase(it->first);
        }
        it = probes.erase(it);  // closes its timer; an attempt in flight ends unheard
    }
    for (auto& [slot, spec] : wanted) {
        auto p = std::make_unique<Probe>(this, std::move(*spec));
        p->timer = util::make_uv<uv_timer_t>();
        uv_timer_init(loop.get(), p->timer.get());
        p->timer->data = p.get();
        // A random phase in the interval: a thousand probes of one check spread over it
        // instead of firing together, at start and after every reload that adds some.
        const uint64_t interval = std::max<uint32_t>(1, p->spec.target->check.interval_ms);
        const uint64_t first = std::uniform_int_distribution<uint64_t>(0, interval - 1)(rng);
        uv_timer_start(
            p->timer.get(),
            [](uv_timer_t* t) {
                auto* probe = static_cast<Probe*>(t->data);
                probe->mon->launch(*probe);
            },
            first, interval);
        {
            std::lock_guard lock(status_m);
            ProbeStatus& st = status[slot];
            st = ProbeStatus{};
            st.since_unix_ms = util::unix_ms_now();
        }
        probes.emplace(slot, std::move(p));
    }
    registry.recycle(dropped);
    if (!wanted.empty() || !dropped.empty()) {
        util::log_info("health probes", {{"probes", std::to_string(probes.size())},
                                         {"added", std::to_string(wanted.size())},
                                         {"removed", std::to_string(dropped.size())}});
    }
}

void Monitor::Impl::launch(Probe& p) {
    const CheckType type = p.spec.target->check.type;
    if (type == CheckType::none) return;  // compile gives "none" members no slot
    const bool exec = type == CheckType::exec;
    if (attempts.size() >= limits.max_in_flight || (exec && running_exec >= limits.max_exec) ||
        queued.count(p.spec.slot) > 0) {
        // Delayed, not dropped: it runs when a place frees. A probe already waiting keeps
        // its one place in the queue.
        if (queued.insert(p.spec.slot).second) {
            (exec ? waiting_exec : waiting).push_back({++waiting_seq, p.spec.slot});
            delayed.fetch_add(1, std::memory_order_relaxed);
            note_cap_reached();
        }
        return;
    }
    run(p);
}

void Monitor::Impl::note_cap_reached() {
    // One line when the queue starts to fill, then at most one every 10 s while it stays.
    const uint64_t now = uv_now(loop.get());
    if (cap_logged && now - last_cap_log_ms < 10000) return;
    cap_logged = true;
    last_cap_log_ms = now;
    util::log_warn("probe cap reached, probes delayed",
                   {{"in_flight", std::to_string(attempts.size())},
                    {"max_probes_in_flight", std::to_string(limits.max_in_flight)},
                    {"exec_running", std::to_string(running_exec)},
                    {"max_exec_checks", std::to_string(limits.max_exec)},
                    {"waiting", std::to_string(waiting.size() + waiting_exec.size())},
                    {"delayed_total", std::to_string(delayed.load(std::memory_order_relaxed))}});
}

void Monitor::Impl::launch_waiting() {
    // Not re-entered: a waiting probe that finishes at once (a failed spawn) returns here
    // through finish(), and this loop goes on with the next.
    if (stopping || launching_waiting) return;
    launching_waiting = true;
    while (attempts.size() < limits.max_in_flight) {
        const bool exec_ok = running_exec < limits.max_exec && !waiting_exec.empty();
        std::deque<Waiting>* from = nullptr;
        if (!waiting.empty() && (!exec_ok || waiting.front().seq < waiting_exec.front().seq)) {
            from = &waiting;
        } else if (exec_ok) {
            from = &waiting_exec;
        } else if (!waiting.empty()) {
            from = &waiting;
        }
        if (from == nullptr) break;
        const Waiting w = from->front();
        const uint32_t slot = w.slot;
        from->pop_front();
        queued.erase(slot);
        const auto it = probes.find(slot);
        if (it == probes.end()) continue;  // removed by a reload while it waited
        Probe& p = *it->second;
        if (p.spec.target->check.type == CheckType::exec && running_exec >= limits.max_exec) {
            // The slot now holds an exec check (a reload changed it): wait with those.
            waiting_exec.push_front(w);
            queued.insert(slot);
            continue;
        }
        run(p);
    }
    if (waiting.empty() && waiting_exec.empty()) cap_logged = false;
    launching_waiting = false;
}

void Monitor::Impl::run(Probe& p) {
    ++p.launched;
    std::unique_ptr<Attempt> a;
    switch (p.spec.target->check.type) {
        case CheckType::tcp:
            a = std::make_unique<TcpAttempt>(*this, p);
            break;
        case CheckType::http:
        case CheckType::https:
            a = std::make_unique<HttpAttempt>(*this, p);
            break;
        case CheckType::exec:
            a = std::make_unique<ExecAttempt>(*this, p);
            break;
        case CheckType::none:
            return;
    }
    attempts.push_front(std::move(a));
    attempts.front()->self = attempts.begin();
    attempts.front()->start();  // may finish at once: the attempt is not touched after
}

void Monitor::Impl::on_result(uint32_t slot, const std::string& key, uint64_t seq, bool ok,
                              const std::string& reason, double seconds) {
    if (stopping) return;
    const auto it = probes.find(slot);
    if (it == probes.end() || it->second->spec.key != key) return;
    Probe& p = *it->second;
    if (seq <= p.applied) return;
    p.applied = seq;
    const State before = p.filter.state();
    const bool changed = p.filter.feed(ok);
    {
        std::lock_guard lock(status_m);
        const int64_t now = util::unix_ms_now();
        ProbeStatus& st = status[slot];
        st.has_result = true;
        st.last_ok = ok;
        st.last_reason = reason;
        st.last_unix_ms = now;
        st.last_seconds = seconds;
        if (changed) {
            st.state = p.filter.state();
            st.since_unix_ms = now;
        }
        const auto type = static_cast<size_t>(p.spec.target->check.type);
        if (type < results.success.size()) ++(ok ? results.success : results.failure)[type];
    }
    if (!changed) return;
    table.set(slot, p.filter.state());
    log_change(p, before, reason);
}

void Monitor::Impl::log_change(const Probe& p, State before, const std::string& reason) {
    const ProbeSpec& s = p.spec;
    const bool up = p.filter.state() == State::up;
    const CheckDef& c = s.target->check;
    std::string after;
    if (before == State::unknown) {
        after = "first result";
    } else {
        const uint32_t n = up ? c.rise : c.fall;
        after = std::to_string(n) +
                (up ? (n == 1 ? " success" : " successes") : (n == 1 ? " failure" : " failures"));
    }
    std::vector<util::LogField> fields{
        {"zone", s.label.zone}, {"pool", s.label.pool}, {"address", s.label.address}};
    if (s.target->address_text != s.label.address) {
        fields.push_back({"probe_address", s.target->address_text});
    }
    fields.push_back({"check", s.label.check});
    fields.push_back({"reason", reason});
    fields.push_back({"after", after});
    if (s.users > 1) fields.push_back({"members", std::to_string(s.users)});
    util::log(up ? util::LogLevel::info : util::LogLevel::warn, up ? "member up" : "member down",
              fields);
}

void Monitor::Impl::shutdown_loop() {
    stopping = true;
    probes.clear();
    std::vector<Attempt*> all;
    for (auto& a : attempts) all.push_back(a.get());
    for (Attempt* a : all) a->cancel();  // may destroy a; the others stay valid
    multi.reset();                       // may report sockets to forget: curl_sockets lives on
    curl_sockets.clear();
    curl_timer.reset();
    {
        std::lock_guard lock(m);  // update() sends on `wake` under the same lock
        wake.reset();
    }
    // tcp and exec attempts end in their callbacks while the loop runs out.
}

Monitor::Monitor(ProbeRegistry& registry, MonitorLimits limits)
    : impl_(std::make_unique<Impl>(registry, limits)) {}

uint64_t Monitor::delayed() const {
    return impl_->delayed.load(std::memory_order_relaxed);
}

Monitor::~Monitor() {
    stop();
}

void Monitor::start(std::vector<unsigned> cpus) {
    if (impl_->thread.joinable()) return;
    impl_->thread = std::thread([impl = impl_.get(), cpus = std::move(cpus)] {
        util::pin_current_thread(cpus, "prober");
        uv_run(impl->loop.get(), UV_RUN_DEFAULT);
    });
}

std::unordered_map<uint32_t, ProbeStatus> Monitor::status() const {
    std::lock_guard lock(impl_->status_m);
    return impl_->status;
}

ProbeResultCounts Monitor::results() const {
    std::lock_guard lock(impl_->status_m);
    return impl_->results;
}

void Monitor::update(std::vector<ProbeSpec> probes) {
    std::lock_guard lock(impl_->m);
    impl_->pending = std::move(probes);
    if (impl_->wake && !impl_->stop_requested) uv_async_send(impl_->wake.get());
}

void Monitor::stop() {
    if (!impl_->thread.joinable()) return;
    {
        std::lock_guard lock(impl_->m);
        impl_->stop_requested = true;
        uv_async_send(impl_->wake.get());
    }
    impl_->thread.join();
}

}  // namespace steerdns::health
