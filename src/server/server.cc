#include "steerdns/server/server.h"

#include <sys/socket.h>

#include <malloc.h>

#include <csignal>
#include <stdexcept>

#include "steerdns/server/log.h"
#include "steerdns/server/privileges.h"

namespace steerdns::server {

Server::Server(ServeOptions opts) : opts_(std::move(opts)) {}

Server::~Server() {
    shutdown();
}

void Server::publish(SnapshotPtr snapshot) {
    if (SnapshotPtr old = slot_.get()) retired_.push_back(std::move(old));
    slot_.publish(std::move(snapshot));
    for (auto& w : workers_) w->adopt_snapshot();
    hand_probes();
}

void Server::hand_probes() {
    // The probe set changes when zones are compiled (new snapshot) and when old zones are
    // freed (retire); the monitor keeps the probes whose key is unchanged as they are.
    if (!monitor_ || probes_.version() == probes_handed_) return;
    probes_handed_ = probes_.version();
    monitor_->update(probes_.active());
}

void Server::retire() {
    // A snapshot is freed here, on the control thread, once no worker holds it: never on a
    // worker in the middle of traffic. Nobody can re-acquire a retired snapshot, so
    // use_count() == 1 is final.
    const size_t freed =
        std::erase_if(retired_, [](const SnapshotPtr& s) { return s.use_count() == 1; });
    // Zones are compiled on threadpool threads, each with its own glibc malloc arena; freed
    // memory in those arenas is not returned to the system on its own, so resident memory
    // would creep up with every large reload. Trimming once per retirement keeps it flat.
    if (freed > 0) malloc_trim(0);
    hand_probes();
}

int Server::run() {
    std::signal(SIGPIPE, SIG_IGN);
    // A busy port fails the start before any zone is compiled or any backend probed.
    for (const ListenAddr& at : opts_.listen) {
        ensure_port_free(at, SOCK_DGRAM);
        ensure_port_free(at, SOCK_STREAM);
    }
    // What needs root comes first: every socket (port 53) and the query log file. Then --user
    // drops root for good, before any zone file is read, probe run or query answered.
    struct Bound {
        Fd udp;
        Fd tcp;
    };
    std::vector<std::vector<Bound>> bound(opts_.listen.size());  // [listen][worker]
    for (size_t l = 0; l < opts_.listen.size(); ++l) {
        ListenAddr& at = opts_.listen[l];
        for (unsigned i = 0; i < opts_.threads; ++i) {
            Bound b;
            b.udp = bind_socket(at, SOCK_DGRAM);
            if (at.port() == 0) {
                // Port 0 asks the kernel for one; every other socket of the group must share it.
                socklen_t len = sizeof at.addr;
                getsockname(b.udp.get(), reinterpret_cast<sockaddr*>(&at.addr), &len);
            }
            b.tcp = bind_socket(at, SOCK_STREAM);
            bound[l].push_back(std::move(b));
        }
    }
    if (!opts_.query_log.empty())
        query_log_ =
            std::make_unique<QueryLog>(opts_.query_log, opts_.query_log_sample, opts_.threads);
    if (!opts_.user.empty()) drop_privileges(opts_.user);

    std::string error;
    zone_files(opts_.zones_dir, error);
    if (!error.empty()) throw std::runtime_error("--zones " + error);
    monitor_ = std::make_unique<health::Monitor>(probes_);
    monitor_->start();
    reloader_ = std::make_unique<Reloader>(
        loop_.get(), opts_.zones_dir,
        [this](std::vector<zone::ZonePtr> zones, uint64_t generation) {
            return std::make_shared<const Snapshot>(std::move(zones), generation, probes_.table());
        },
        [this](SnapshotPtr s) { publish(std::move(s)); }, &probes_);
    publish(reloader_->load_now());

    for (unsigned i = 0; i < opts_.threads; ++i)
        workers_.push_back(std::make_unique<Worker>(i, opts_, slot_));
    for (size_t l = 0; l < opts_.listen.size(); ++l) {
        for (unsigned i = 0; i < opts_.threads; ++i) {
            workers_[i]->add_udp(std::move(bound[l][i].udp), opts_.listen[l]);
            workers_[i]->add_tcp(std::move(bound[l][i].tcp), opts_.listen[l]);
        }
    }
    if (query_log_) {
        std::vector<const WorkerStats*> stats;
        for (auto& w : workers_) {
            w->set_query_log(&query_log_->ring(w->id()), query_log_->sample());
            stats.push_back(&w->stats());
        }
        query_log_->start(std::move(stats));
    }
    for (auto& w : workers_) w->start();

    auto on_signal = [](uv_signal_t* h, int signum) {
        auto* self = static_cast<Server*>(h->data);
        if (signum == SIGHUP) {
            log_info("SIGHUP: reloading zones");
            self->reloader_->request("SIGHUP", true);
            if (self->query_log_) self->query_log_->reopen();
        } else {
            log_info("shutting down", {{"signal", signum == SIGTERM ? "SIGTERM" : "SIGINT"}});
            self->shutdown();
        }
    };
    for (auto [handle, signum] :
         {std::pair{&sigterm_, SIGTERM}, {&sigint_, SIGINT}, {&sighup_, SIGHUP}}) {
        *handle = make_uv<uv_signal_t>();
        uv_check(uv_signal_init(loop_.get(), handle->get()), "uv_signal_init");
        (*handle)->data = this;
        uv_check(uv_signal_start(handle->get(), on_signal, signum), "uv_signal_start");
    }
    retire_timer_ = make_uv<uv_timer_t>();
    uv_timer_init(loop_.get(), retire_timer_.get());
    retire_timer_->data = this;
    uv_timer_start(
        retire_timer_.get(), [](uv_timer_t* t) { static_cast<Server*>(t->data)->retire(); }, 1000,
        1000);

    std::string listen;
    for (const ListenAddr& at : opts_.listen) listen += (listen.empty() ? "" : ",") + at.text;
    reloader_->start();
    const auto zones = slot_.get()->zones();
    size_t pools = 0;
    size_t members = 0;
    for (const auto& z : zones) {
        pools += z->pools.size();
        members += z->member_count();
    }
    log_info("steerdns started", {{"version", STEERDNS_VERSION},
                                  {"listen", listen},
                                  {"zones_dir", opts_.zones_dir},
                                  {"zones", std::to_string(zones.size())},
                                  {"pools", std::to_string(pools)},
                                  {"members", std::to_string(members)},
                                  {"threads", std::to_string(opts_.threads)},
                                  {"probes", std::to_string(probes_.active().size())},
                                  {"user", opts_.user.empty() ? "-" : opts_.user},
                                  {"query_log", query_log_ ? query_log_->path() : "off"}});
    uv_run(loop_.get(), UV_RUN_DEFAULT);
    log_info("steerdns stopped");
    return 0;
}

void Server::shutdown() {
    for (auto& w : workers_) w->stop();
    for (auto& w : workers_) w->join();
    // After the workers stopped, before they are freed: the writer writes their last records
    // and reads their drop counters one last time.
    if (query_log_) query_log_->stop();
    workers_.clear();
    if (reloader_) reloader_->stop();
    if (monitor_) monitor_->stop();
    sigterm_.reset();
    sigint_.reset();
    sighup_.reset();
    retire_timer_.reset();
}

}  // namespace steerdns::server
