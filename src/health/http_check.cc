// https: GET every path at once, through the loop's shared curl multi handle; up
// when all pass (status in expect_status, body containing expect_body). With keepalive (the
// default) a probe reuses the connection the previous one left in the multi handle's cache
// (one per target and path), so a steady probe costs a request, not a TCP (and TLS) set-up;
// a failed GET closes its connection, so the next probe starts afresh and tests the whole
// path again. "keepalive": false makes fresh connections and keeps nothing. Plain http runs
// on steerdns's own client (http_client.cc), whose kept connections the same object holds.
#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "steerdns/health/attempt.h"
#include "steerdns/health/http_client.h"
#include "steerdns/health/http_response.h"
#include "steerdns/util/curl.h"
#include "steerdns/util/uv.h"

namespace steerdns::health {

using util::CurlEasyPtr;
using util::CurlMultiPtr;
using util::CurlSlistPtr;

namespace {

constexpr size_t kMaxBody = kMaxHealthBody;

std::string url_host(const ProbeTarget& t) {
    return t.family == 6 ? "[" + t.address_text + "]" : t.address_text;
}

// A socket libcurl asked us to watch.
struct CurlSocket {
    CurlMultiLoop::Impl* owner = nullptr;
    curl_socket_t fd = CURL_SOCKET_BAD;
    util::UvPtr<uv_poll_t> poll;
};

class HttpAttempt;

// One GET of an attempt; CURLOPT_PRIVATE points here.
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

}  // namespace

struct CurlMultiLoop::Impl {
    explicit Impl(uv_loop_t* l);
    ~Impl();

    static int on_curl_socket(CURL*, curl_socket_t s, int what, void* userp, void*);
    static int on_curl_timer(CURLM*, long timeout_ms, void* userp);
    void check_multi_info();

    uv_loop_t* loop;
    HttpConnectionPool plain;  // http's kept connections
    util::UvPtr<uv_timer_t> timer;
    std::unordered_map<curl_socket_t, std::unique_ptr<CurlSocket>> sockets;
    // After `sockets`: curl_multi_cleanup may still report sockets to forget.
    CurlMultiPtr multi;
};

namespace {

class HttpAttempt final : public Attempt {
  public:
    HttpAttempt(CurlMultiLoop& curl, std::shared_ptr<const ProbeTarget> target, Done done)
        : Attempt(curl.loop(), std::move(target), std::move(done)), curl_(curl.impl()) {}

    ~HttpAttempt() override {
        for (auto& t : transfers_)
            if (!t->done && t->easy) curl_multi_remove_handle(curl_.multi.get(), t->easy.get());
    }

    void start() override {
        for (const std::string& path : check().paths) {
            auto t = std::make_unique<Transfer>();
            t->owner = this;
            t->path = path;
            if (!setup(*t) || curl_multi_add_handle(curl_.multi.get(), t->easy.get()) != CURLM_OK) {
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
            if (!t->done) curl_multi_remove_handle(curl_.multi.get(), t->easy.get());
            t->done = true;
        }
        finish(false, "cancelled");
    }

    // From CurlMultiLoop::Impl::check_multi_info, outside any curl callback.
    void on_done(Transfer& t, CURLcode code) {
        t.done = true;
        t.code = code;
        curl_easy_getinfo(t.easy.get(), CURLINFO_RESPONSE_CODE, &t.status);
        // A transfer error already closed its connection; a status or body the check refuses
        // leaves it in the cache. Shut down, it fails libcurl's liveness test and is dropped
        // instead of carrying the next probe: a failing backend gets a fresh connection.
        if (check().keepalive && failed(t)) {
            curl_socket_t fd = CURL_SOCKET_BAD;
            // Before the removal: the connection is found through the handle's multi.
            if (curl_easy_getinfo(t.easy.get(), CURLINFO_ACTIVESOCKET, &fd) == CURLE_OK &&
                fd != CURL_SOCKET_BAD)
                ::shutdown(fd, SHUT_RDWR);
        }
        curl_multi_remove_handle(curl_.multi.get(), t.easy.get());
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
            url += url_host(target()) + ":" + port + t.path;
        } else {
            // Host header and TLS SNI say the name; the connection goes to the probe address.
            url += c.host + ":" + port + t.path;
            const std::string rule = c.host + ":" + port + ":" + url_host(target()) + ":" + port;
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
        if (!c.keepalive) {
            // Each probe tests the whole path to the backend, connection set-up included.
            curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
            curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
        }
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

    // What conclude() would call a failure, for one GET.
    bool failed(const Transfer& t) const {
        const CheckDef& c = check();
        if (t.code != CURLE_OK && !(t.code == CURLE_WRITE_ERROR && t.capped)) return true;
        if (!c.status_ok(t.status)) return true;
        return c.has_expect_body && t.body.find(c.expect_body) == std::string::npos;
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

    CurlMultiLoop::Impl& curl_;
    std::vector<std::unique_ptr<Transfer>> transfers_;
    size_t pending_ = 0;
};

}  // namespace

CurlMultiLoop::Impl::Impl(uv_loop_t* l) : loop(l), plain(l) {
    util::curl_init_once();
    timer = util::make_uv<uv_timer_t>();
    util::uv_check(uv_timer_init(loop, timer.get()), "uv_timer_init");
    timer->data = this;
    multi.reset(curl_multi_init());
    if (!multi) throw std::runtime_error("curl_multi_init failed");
    curl_multi_setopt(multi.get(), CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(multi.get(), CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi.get(), CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(multi.get(), CURLMOPT_TIMERDATA, this);
}

CurlMultiLoop::Impl::~Impl() {
    multi.reset();  // may report sockets to forget and stop the timer: both still live
    sockets.clear();
    timer.reset();
}

// libcurl's socket callback: watch what it asks for, with one uv_poll per socket.
int CurlMultiLoop::Impl::on_curl_socket(CURL*, curl_socket_t s, int what, void* userp, void*) {
    auto* self = static_cast<Impl*>(userp);
    if (what == CURL_POLL_REMOVE) {
        // libcurl says so before it closes the socket, so the fd is still ours to unwatch.
        if (auto it = self->sockets.find(s); it != self->sockets.end()) {
            uv_poll_stop(it->second->poll.get());
            self->sockets.erase(it);  // closes the poll handle
        }
        return 0;
    }
    std::unique_ptr<CurlSocket>& cs = self->sockets[s];
    if (!cs) {
        cs = std::make_unique<CurlSocket>();
        cs->owner = self;
        cs->fd = s;
        cs->poll = util::make_uv<uv_poll_t>();
        if (uv_poll_init_socket(self->loop, cs->poll.get(), s) < 0) {
            self->sockets.erase(s);
            return -1;
        }
        cs->poll->data = cs.get();
    }
    int events = 0;
    if (what & CURL_POLL_IN) events |= UV_READABLE;
    if (what & CURL_POLL_OUT) events |= UV_WRITABLE;
    uv_poll_start(cs->poll.get(), events, [](uv_poll_t* h, int status, int ev) {
        auto* sock = static_cast<CurlSocket*>(h->data);
        Impl* owner = sock->owner;
        const curl_socket_t fd = sock->fd;  // sock may be gone once libcurl has run
        int flags = 0;
        if (status < 0) flags = CURL_CSELECT_ERR;
        if (ev & UV_READABLE) flags |= CURL_CSELECT_IN;
        if (ev & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
        int running = 0;
        curl_multi_socket_action(owner->multi.get(), fd, flags, &running);
        owner->check_multi_info();
    });
    return 0;
}

// libcurl's timer callback: one uv_timer for the whole multi handle.
int CurlMultiLoop::Impl::on_curl_timer(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<Impl*>(userp);
    if (!self->timer) return 0;
    if (timeout_ms < 0) {
        uv_timer_stop(self->timer.get());
        return 0;
    }
    // Never call back into libcurl from here: a 0 ms timer runs it on the next loop turn.
    uv_timer_start(
        self->timer.get(),
        [](uv_timer_t* t) {
            auto* owner = static_cast<Impl*>(t->data);
            int running = 0;
            curl_multi_socket_action(owner->multi.get(), CURL_SOCKET_TIMEOUT, 0, &running);
            owner->check_multi_info();
        },
        static_cast<uint64_t>(timeout_ms), 0);
    return 0;
}

void CurlMultiLoop::Impl::check_multi_info() {
    if (!multi) return;
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi.get(), &left)) {
        if (msg->msg != CURLMSG_DONE) continue;
        char* priv = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        auto* t = reinterpret_cast<Transfer*>(priv);
        const CURLcode code = msg->data.result;
        t->owner->on_done(*t, code);  // may finish (destroy) the attempt
    }
}

CurlMultiLoop::CurlMultiLoop(uv_loop_t* loop) : impl_(std::make_unique<Impl>(loop)) {}

CurlMultiLoop::~CurlMultiLoop() = default;

void CurlMultiLoop::keep_connections(size_t https, size_t http) {
    // libcurl's default keeps 4 per transfer running at the moment a transfer ends: with
    // probes spread over the interval that is a handful, and the cache would close most of
    // the connections it was meant to keep.
    curl_multi_setopt(impl_->multi.get(), CURLMOPT_MAXCONNECTS,
                      static_cast<long>(https < 1 ? 1 : https));
    impl_->plain.keep(http);
}

uv_loop_t* CurlMultiLoop::loop() const {
    return impl_->loop;
}

std::unique_ptr<Attempt> make_http_attempt(CurlMultiLoop& curl,
                                           std::shared_ptr<const ProbeTarget> target,
                                           Attempt::Done done) {
    if (target->check.type == CheckType::http)
        return make_plain_http_attempt(curl.impl().plain, std::move(target), std::move(done));
    return std::make_unique<HttpAttempt>(curl, std::move(target), std::move(done));
}

}  // namespace steerdns::health
