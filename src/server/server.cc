#include "steerdns/server/server.h"

#include <sys/socket.h>

#include <malloc.h>

#include <csignal>
#include <stdexcept>

#include "steerdns/server/log.h"

namespace steerdns::server {

Server::Server(ServeOptions opts) : opts_(std::move(opts)) {}

Server::~Server() {
    shutdown();
}

void Server::publish(SnapshotPtr snapshot) {
    note_versions(*snapshot);
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
    // Its response counts are final then: /metrics carries them on.
    const size_t freed = std::erase_if(retired_, [this](const SnapshotPtr& s) {
        if (s.use_count() != 1) return false;
        carried_.add(*s);
        return true;
    });
    // Zones are compiled on threadpool threads, each with its own glibc malloc arena; freed
    // memory in those arenas is not returned to the system on its own, so resident memory
    // would creep up with every large reload. Trimming once per retirement keeps it flat.
    if (freed > 0) malloc_trim(0);
    hand_probes();
}

int Server::run() {
    std::signal(SIGPIPE, SIG_IGN);
    std::string error;
    zone_files(opts_.zones_dir, error);
    if (!error.empty()) throw std::runtime_error("--zones " + error);
    // A busy port fails the start before any zone is compiled or any backend probed.
    for (const ListenAddr& at : opts_.listen) {
        ensure_port_free(at, SOCK_DGRAM);
        ensure_port_free(at, SOCK_STREAM);
    }
    start_control();  // the drain state file, and the control port: both fail the start loudly
    monitor_ = std::make_unique<health::Monitor>(probes_);
    monitor_->start();
    reloader_ = std::make_unique<Reloader>(
        loop_.get(), opts_.zones_dir,
        [this](std::vector<zone::ZonePtr> zones, uint64_t generation) {
            return std::make_shared<const Snapshot>(std::move(zones), generation, probes_.table(),
                                                    opts_.threads);
        },
        [this](SnapshotPtr s) { publish(std::move(s)); }, &probes_);
    reloader_->set_drains(std::make_shared<const control::DrainSet>(drains_));
    reloader_->on_report([this](const ReloadReport& r) { on_reload_report(r); });
    publish(reloader_->load_now());

    // Bind everything before starting any worker, so a busy port fails the start loudly.
    for (unsigned i = 0; i < opts_.threads; ++i)
        workers_.push_back(std::make_unique<Worker>(i, opts_, slot_));
    for (ListenAddr& at : opts_.listen) {
        for (auto& w : workers_) {
            Fd udp = bind_socket(at, SOCK_DGRAM);
            if (at.port() == 0) {
                // Port 0 asks the kernel for one; every other socket of the group must share it.
                socklen_t len = sizeof at.addr;
                getsockname(udp.get(), reinterpret_cast<sockaddr*>(&at.addr), &len);
            }
            Fd tcp = bind_socket(at, SOCK_STREAM);
            w->add_udp(std::move(udp), at);
            w->add_tcp(std::move(tcp), at);
        }
    }
    for (auto& w : workers_) w->start();

    auto on_signal = [](uv_signal_t* h, int signum) {
        auto* self = static_cast<Server*>(h->data);
        if (signum == SIGHUP) {
            log_info("SIGHUP: reloading zones");
            self->reloader_->request("SIGHUP", true);
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
                                  {"threads", std::to_string(opts_.threads)}});
    if (http_) {
        log_info(
            "control endpoint listening",
            {{"control", opts_.control.text},
             {"writes", opts_.control_token ? "token" : "disabled (no --control-token-file)"}});
    }
    uv_run(loop_.get(), UV_RUN_DEFAULT);
    return 0;
}

void Server::shutdown() {
    if (http_) http_->close();
    for (auto& w : workers_) w->stop();
    for (auto& w : workers_) w->join();
    workers_.clear();
    if (reloader_) reloader_->stop();
    if (monitor_) monitor_->stop();
    sigterm_.reset();
    sigint_.reset();
    sighup_.reset();
    retire_timer_.reset();
}

}  // namespace steerdns::server
