#include "steerdns/server/server.h"

#include <sys/resource.h>
#include <sys/socket.h>

#include <malloc.h>

#include <csignal>
#include <stdexcept>

#include "steerdns/server/privileges.h"
#include "steerdns/util/log.h"

namespace steerdns::server {
namespace {

// Every TCP connection and probe is a file descriptor. Raise the soft limit to the hard one
// (as Knot and NSD do), then make sure the connection cap leaves room for the rest:
// listening sockets, probes, zone files, the threadpool.
// What is left of the open file limit for idle http connections kept between probes, once
// the sockets, TCP clients and probes in flight have theirs.
size_t fit_descriptor_limit(ServeOptions& opts) {
    constexpr size_t kKeptDefault = 4096;
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return kKeptDefault;
    if (lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
        getrlimit(RLIMIT_NOFILE, &lim);
    }
    const rlim_t reserve =
        256 + rlim_t{opts.max_probes_in_flight} + 8 * opts.listen.size() * opts.threads;
    if (lim.rlim_cur != RLIM_INFINITY && rlim_t{opts.tcp_max_clients} + reserve > lim.rlim_cur) {
        const unsigned fit =
            lim.rlim_cur > reserve + 16 ? static_cast<unsigned>(lim.rlim_cur - reserve) : 16;
        util::log_warn("--tcp-max-clients lowered to fit the open file limit",
                       {{"requested", std::to_string(opts.tcp_max_clients)},
                        {"tcp_max_clients", std::to_string(fit)},
                        {"nofile", std::to_string(lim.rlim_cur)}});
        opts.tcp_max_clients = fit;
    }
    if (lim.rlim_cur == RLIM_INFINITY) return kKeptDefault;
    const rlim_t used = reserve + opts.tcp_max_clients;
    return lim.rlim_cur > used ? std::max<size_t>(16, lim.rlim_cur - used) : 16;
}

}  // namespace

Server::Server(ServeOptions opts) : opts_(std::move(opts)) {}

Server::~Server() {
    shutdown();
}

void Server::publish(SnapshotPtr snapshot) {
    note_versions(*snapshot);
    // The carried totals follow the new zones by position (the old ones' by name).
    carried_.align(*snapshot);
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
    // glibc raises its mmap threshold each time a large block is freed (up to 32 MiB), so
    // after the first reload a zone's big arrays (answer images, member tables, the name
    // index) come from the arenas instead of their own mappings, between small blocks that
    // outlive them: freed, they leave holes malloc_trim cannot return. At 100 000 members
    // that was 30-70 MB of resident memory more after some reloads. Setting the threshold
    // turns the raising off: a block of 128 KiB or more is mapped and unmapped on its own.
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    // A busy port fails the start before any zone is compiled or any backend probed.
    for (const ListenAddr& at : opts_.listen) {
        ensure_port_free(at, SOCK_DGRAM);
        ensure_port_free(at, SOCK_STREAM);
    }
    const size_t kept_budget = fit_descriptor_limit(opts_);
    limits_ = std::make_unique<SharedLimits>(opts_);
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
            std::make_unique<QueryLog>(opts_.query_log, opts_.query_log_sample, responder_rows());
    // The drain state file, and the control port (it may be below 1024): both fail the start
    // loudly.
    start_control();
    if (!opts_.user.empty()) drop_privileges(opts_.user);
    warn_if_state_unwritable();

    std::string error;
    if (zone_files(opts_.zones_dir, error).empty() && error.empty()) {
        // Not fatal: files dropped in later are picked up live. But an operator who pointed
        // --zones at the wrong directory should not have to guess why every answer is REFUSED.
        util::log_warn("no *.json zone files: every query is REFUSED until one is added",
                       {{"zones_dir", opts_.zones_dir}});
    }
    if (!error.empty()) throw std::runtime_error("--zones " + error);
    health::MonitorLimits probe_limits;
    probe_limits.max_in_flight = opts_.max_probes_in_flight;
    probe_limits.max_exec = opts_.max_exec_checks;
    probe_limits.max_kept_connections = kept_budget;
    probe_limits.probe_io = opts_.probe_io;
    monitor_ = std::make_unique<health::Monitor>(probes_, probe_limits);
    restore_health();  // before the first probe set is handed over
    start_events();
    monitor_->start(opts_.probe_cpus);
    reloader_ = std::make_unique<Reloader>(
        loop_.get(), opts_.zones_dir,
        [this](std::vector<zone::ZonePtr> zones, uint64_t generation) {
            return std::make_shared<const Snapshot>(std::move(zones), generation, probes_.table(),
                                                    responder_rows());
        },
        [this](SnapshotPtr s) { publish(std::move(s)); }, &probes_);
    reloader_->set_drains(std::make_shared<const zone::DrainSet>(drains_));
    reloader_->on_report([this](const ReloadReport& r) { on_reload_report(r); });
    publish(reloader_->load_now());
    probes_.set_loaded();  // members later reloads add are pending until probed
    // The parsed JSON and the zone specs of the first load are freed by now; hand their pages
    // back so resident memory starts at what the compiled zones use, not at the load's peak.
    malloc_trim(0);
    // Saved health in the table, first probes answered: only then may a worker read a socket.
    wait_first_probes();
    start_health_saving();

    for (unsigned i = 0; i < opts_.threads; ++i)
        workers_.push_back(std::make_unique<Worker>(
            i, i * Worker::rows_per_worker(opts_.listen.size()), opts_, slot_, limits_.get()));
    for (size_t l = 0; l < opts_.listen.size(); ++l) {
        for (unsigned i = 0; i < opts_.threads; ++i) {
            workers_[i]->add_udp(std::move(bound[l][i].udp), opts_.listen[l]);
            workers_[i]->add_tcp(std::move(bound[l][i].tcp), opts_.listen[l]);
        }
    }
    // To every responder, so after the sockets. The monitor outlives the workers (stopped
    // after them).
    for (auto& w : workers_) w->set_probe_lookup(why_probe_lookup());
    if (query_log_) {
        std::vector<const WorkerStats*> stats;
        for (auto& w : workers_)
            for (Responder* r : w->responders()) {
                r->set_query_log(&query_log_->ring(r->row()), query_log_->sample());
                stats.push_back(&r->stats());
            }
        query_log_->start(std::move(stats));
    }
    // Before the first query is answered: a SIGTERM that a supervisor sends as soon as the
    // server answers must find the handler (libuv queues it until the loop runs), or it kills
    // the process with no clean stop (CI saw exit -15).
    auto on_signal = [](uv_signal_t* h, int signum) {
        auto* self = static_cast<Server*>(h->data);
        if (signum == SIGHUP) {
            util::log_info("SIGHUP: reloading zones");
            self->reloader_->request("SIGHUP", true);
            // Kept for the logrotate configurations written before SIGUSR1 existed.
            if (self->query_log_) self->query_log_->reopen();
        } else if (signum == SIGUSR1) {
            // Log rotation without a reload (logrotate's postrotate): stderr belongs to the
            // supervisor (journald, docker), so only the query log is ours to reopen.
            util::log_info("SIGUSR1: reopening logs",
                           {{"query_log", self->query_log_ ? self->query_log_->path() : "off"}});
            if (self->query_log_) self->query_log_->reopen();
        } else {
            util::log_info("shutting down", {{"signal", signum == SIGTERM ? "SIGTERM" : "SIGINT"}});
            self->shutdown();
        }
    };
    for (auto [handle, signum] : {std::pair{&sigterm_, SIGTERM},
                                  {&sigint_, SIGINT},
                                  {&sighup_, SIGHUP},
                                  {&sigusr1_, SIGUSR1}}) {
        *handle = util::make_uv<uv_signal_t>();
        util::uv_check(uv_signal_init(loop_.get(), handle->get()), "uv_signal_init");
        (*handle)->data = this;
        util::uv_check(uv_signal_start(handle->get(), on_signal, signum), "uv_signal_start");
    }
    for (auto& w : workers_) w->start();

    retire_timer_ = util::make_uv<uv_timer_t>();
    uv_timer_init(loop_.get(), retire_timer_.get());
    retire_timer_->data = this;
    uv_timer_start(
        retire_timer_.get(), [](uv_timer_t* t) { static_cast<Server*>(t->data)->retire(); }, 1000,
        1000);

    std::string listen;
    for (const ListenAddr& at : opts_.listen) listen += (listen.empty() ? "" : ",") + at.text;
    reloader_->start();
    // Counted in a scope of their own: a ZonePtr kept alive here for the whole run would pin
    // the first version of every zone in memory after it is reloaded.
    size_t zone_count = 0;
    size_t pools = 0;
    size_t members = 0;
    for (const SnapshotPtr current = slot_.get(); const auto& z : current->zones()) {
        ++zone_count;
        pools += z->pools.size();
        members += z->member_count();
    }
    util::log_info("steerdns started", {{"version", STEERDNS_VERSION},
                                        {"listen", listen},
                                        {"zones_dir", opts_.zones_dir},
                                        {"zones", std::to_string(zone_count)},
                                        {"pools", std::to_string(pools)},
                                        {"members", std::to_string(members)},
                                        {"threads", std::to_string(opts_.threads)},
                                        {"probes", std::to_string(probes_.active().size())},
                                        {"probe_io", monitor_->probe_io()},
                                        {"user", opts_.user.empty() ? "-" : opts_.user},
                                        {"query_log", query_log_ ? query_log_->path() : "off"}});
    if (http_) {
        util::log_info(
            "control endpoint listening",
            {{"control", opts_.control.text},
             {"writes", opts_.control_token ? "token" : "disabled (no --control-token-file)"}});
    }
    uv_run(loop_.get(), UV_RUN_DEFAULT);
    util::log_info("steerdns stopped");
    return 0;
}

void Server::log_totals() const {
    // One line at exit with what the workers counted: for operators without /metrics, and
    // for tests that check a drop actually happened for the reason they expect.
    uint64_t udp = 0, tcp = 0, dropped = 0, rrl_dropped = 0, rrl_slipped = 0, reflection = 0,
             rejected = 0, rejected_client = 0, read_to = 0, write_to = 0, idle_to = 0,
             query_cap = 0;
    const auto get = [](const std::atomic<uint64_t>& c) {
        return c.load(std::memory_order_relaxed);
    };
    for (const auto& w : workers_)
        for (const Responder* r : w->responders()) {
            const WorkerStats& s = r->stats();
            udp += get(s.udp_queries);
            tcp += get(s.tcp_queries);
            dropped += get(s.dropped);
            rrl_dropped += get(s.rrl_dropped);
            rrl_slipped += get(s.rrl_slipped);
            reflection += get(s.reflection_dropped);
            rejected += get(s.tcp_rejected);
            rejected_client += get(s.tcp_rejected_per_client);
            read_to += get(s.tcp_read_timeouts);
            write_to += get(s.tcp_write_timeouts);
            idle_to += get(s.tcp_idle_timeouts);
            query_cap += get(s.tcp_query_limit_closes);
        }
    util::log_info("totals", {{"udp_queries", std::to_string(udp)},
                              {"tcp_queries", std::to_string(tcp)},
                              {"dropped", std::to_string(dropped)},
                              {"rrl_dropped", std::to_string(rrl_dropped)},
                              {"rrl_slipped", std::to_string(rrl_slipped)},
                              {"reflection_dropped", std::to_string(reflection)},
                              {"tcp_rejected", std::to_string(rejected)},
                              {"tcp_rejected_per_client", std::to_string(rejected_client)},
                              {"tcp_read_timeouts", std::to_string(read_to)},
                              {"tcp_write_timeouts", std::to_string(write_to)},
                              {"tcp_idle_timeouts", std::to_string(idle_to)},
                              {"tcp_query_limit_closes", std::to_string(query_cap)}});
}

void Server::shutdown() {
    if (http_) http_->close();
    for (auto& w : workers_) w->stop();
    for (auto& w : workers_) w->join();
    if (!workers_.empty()) log_totals();
    // After the workers stopped, before they are freed: the writer writes their last records
    // and reads their drop counters one last time.
    if (query_log_) query_log_->stop();
    workers_.clear();
    if (reloader_) reloader_->stop();
    save_health_at_stop();  // while the monitor still holds every probe's status
    if (monitor_) monitor_->stop();
    changes_async_.reset();  // after the monitor's thread, which sends on it, has ended
    // Notify programs still running are left to finish on their own: a stop never waits up
    // to their 10 s, nor kills a program in the middle of telling someone.
    notify_.reset();
    notify_launcher_.reset();
    sigterm_.reset();
    sigint_.reset();
    sighup_.reset();
    sigusr1_.reset();
    retire_timer_.reset();
    sample_timer_.reset();
}

}  // namespace steerdns::server
