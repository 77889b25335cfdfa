// The control side of the daemon, on the main thread: loads zones, binds sockets, starts the
// workers, publishes snapshots, reloads on SIGHUP, retires old snapshots, and shuts down.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "steerdns/control/answer_history.h"
#include "steerdns/control/drain_state.h"
#include "steerdns/control/events.h"
#include "steerdns/control/http_server.h"
#include "steerdns/control/notify.h"
#include "steerdns/control/response_totals.h"
#include "steerdns/control/routes.h"
#include "steerdns/control/status_json.h"
#include "steerdns/control/status_revisions.h"

#include "steerdns/health/monitor.h"
#include "steerdns/health/registry.h"
#include "steerdns/server/options.h"
#include "steerdns/server/query_log.h"
#include "steerdns/server/reloader.h"
#include "steerdns/server/shared_limits.h"
#include "steerdns/server/snapshot_slot.h"
#include "steerdns/server/worker.h"
#include "steerdns/server/zone_dir.h"
#include "steerdns/util/uv.h"

namespace steerdns::server {

// Also the control endpoint's Backend: what /status, /metrics, /drain and /reload act on.
class Server : private control::Backend {
  public:
    explicit Server(ServeOptions opts);
    ~Server() override;

    // Serves until SIGTERM or SIGINT. Returns the process exit code.
    int run();

  private:
    void publish(SnapshotPtr snapshot);
    // Control endpoint (server_control.cc), all on the control thread.
    void start_control();
    void warn_if_state_unwritable() const;
    void note_versions(const Snapshot& s);
    void drop_orphan_drains(const Snapshot& s);
    void on_reload_report(const ReloadReport& report);
    control::StatusModel status_model();
    control::ResponseTotals response_totals();
    void sample_answers();
    std::string metrics() override;
    control::HttpResponse status(const control::StatusQuery& query) override;
    control::HttpResponse why(const control::WhyQuery& query) override;
    control::HttpResponse events() override;
    // Events (server_events.cc): the monitor's slot changes, drains; each runs "notify".
    void start_events();
    void on_slot_changes();
    void record_event(control::Event e, const zone::Zone* z);
    why::ProbeLookup why_probe_lookup() const;
    // Health in the state file (server_health_state.cc): restored at start, saved on changes.
    void restore_health();
    void wait_first_probes();
    void start_health_saving();
    void on_health_timer();
    bool save_state_file(const zone::DrainSet& drains, std::string& error);
    void save_health_at_stop();
    void drain(const zone::DrainKey& key, bool drain, control::Reply reply) override;
    void failback(const zone::DrainKey& key, control::Reply reply) override;
    void reload(control::Reply reply) override;
    void retire();
    void shutdown();
    void hand_probes();
    void log_totals() const;

    ServeOptions opts_;
    util::Loop loop_;
    SnapshotSlot slot_;
    std::unique_ptr<SharedLimits> limits_;  // shared by the workers, outlives them
    std::unique_ptr<QueryLog> query_log_;   // before workers_: they write into its rings
    std::vector<std::unique_ptr<Worker>> workers_;
    // Threads that answer, each with its own row of response counters and query log ring.
    unsigned responder_rows() const {
        return opts_.threads * Worker::rows_per_worker(opts_.listen.size());
    }
    std::vector<SnapshotPtr> retired_;
    // Probe slots (thread-safe: zones compile on the threadpool) and the prober thread.
    health::ProbeRegistry probes_;
    std::unique_ptr<health::Monitor> monitor_;
    uint64_t probes_handed_ = 0;  // registry version the monitor has
    std::unique_ptr<Reloader> reloader_;
    util::UvPtr<uv_signal_t> sigterm_;
    util::UvPtr<uv_signal_t> sigint_;
    util::UvPtr<uv_signal_t> sighup_;
    util::UvPtr<uv_signal_t> sigusr1_;
    util::UvPtr<uv_timer_t> retire_timer_;

    // Control endpoint state. Declared last: the HTTP server goes first, before what it uses.
    int64_t started_unix_ms_ = 0;
    std::string state_path_;  // drained members, beside the zones
    zone::DrainSet drains_;
    // The state file's health as loaded at start, and what was saved last (the monitor's
    // counters, wall time): changes are written at most once a second, results refreshed.
    std::vector<health::SavedProbe> loaded_health_;
    bool file_has_health_ = false;
    uint64_t saved_changes_ = 0;
    uint64_t saved_results_ = 0;
    int64_t saved_at_ms_ = 0;
    util::UvPtr<uv_timer_t> health_timer_;
    control::ResponseTotals carried_;  // counts of snapshots already freed
    uint64_t reloads_success_ = 0;
    uint64_t reloads_failure_ = 0;
    // When each zone's file was last loaded, by apex (a recompile for a drain is no load).
    std::map<std::string, int64_t> loaded_at_;
    // When each member's file state (in the file, enabled or not) began: a reload that does
    // not change the member keeps it.
    control::MemberSinceTable member_since_;
    struct FileProblem {
        std::string zone;  // the apex it had, if it ever loaded
        std::vector<std::string> errors;
    };
    std::map<std::string, FileProblem> rejected_;  // files whose current text is refused
    // Answers per member every 10 s for the status page, and what changed when for ?since=.
    control::AnswerHistory answers_;
    control::StatusRevisions revisions_;
    util::UvPtr<uv_timer_t> sample_timer_;
    // Member state changes: the last 1000 for GET /events, and the zones' notify programs.
    control::EventRing events_;
    std::unique_ptr<control::UvNotifyLauncher> notify_launcher_;
    std::unique_ptr<control::NotifyQueue> notify_;
    util::UvPtr<uv_async_t> changes_async_;  // the monitor's wake-up; outlives the monitor
    std::unique_ptr<control::Routes> routes_;
    std::unique_ptr<control::HttpServer> http_;
};

}  // namespace steerdns::server
