// The control side of the daemon, on the main thread: loads zones, binds sockets, starts the
// workers, publishes snapshots, reloads on SIGHUP, retires old snapshots, and shuts down.
#pragma once

#include <memory>
#include <vector>

#include "steerdns/health/monitor.h"
#include "steerdns/health/registry.h"
#include "steerdns/server/options.h"
#include "steerdns/server/query_log.h"
#include "steerdns/server/reloader.h"
#include "steerdns/server/shared_limits.h"
#include "steerdns/server/snapshot_slot.h"
#include "steerdns/server/uv.h"
#include "steerdns/server/worker.h"
#include "steerdns/server/zone_dir.h"

namespace steerdns::server {

class Server {
  public:
    explicit Server(ServeOptions opts);
    ~Server();

    // Serves until SIGTERM or SIGINT. Returns the process exit code.
    int run();

  private:
    void publish(SnapshotPtr snapshot);
    void retire();
    void shutdown();
    void hand_probes();
    void log_totals() const;

    ServeOptions opts_;
    Loop loop_;
    SnapshotSlot slot_;
    std::unique_ptr<SharedLimits> limits_;  // shared by the workers, outlives them
    std::unique_ptr<QueryLog> query_log_;   // before workers_: they write into its rings
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<SnapshotPtr> retired_;
    // Probe slots (thread-safe: zones compile on the threadpool) and the prober thread.
    health::ProbeRegistry probes_;
    std::unique_ptr<health::Monitor> monitor_;
    uint64_t probes_handed_ = 0;  // registry version the monitor has
    std::unique_ptr<Reloader> reloader_;
    UvPtr<uv_signal_t> sigterm_;
    UvPtr<uv_signal_t> sigint_;
    UvPtr<uv_signal_t> sighup_;
    UvPtr<uv_timer_t> retire_timer_;
};

}  // namespace steerdns::server
