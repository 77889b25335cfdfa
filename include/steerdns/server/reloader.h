// Keeps the served zones in step with the zones directory: inotify events (uv_fs_event) with
// a debounce, SIGHUP, and a slow periodic scan as a safety net for what inotify misses (a
// replaced directory, a file system without events). Files are compiled on the libuv
// threadpool so a large zone never stalls the control loop; one reload runs at a time and a
// request during it schedules one more.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "steerdns/answer/snapshot.h"
#include "steerdns/server/zone_dir.h"
#include "steerdns/util/uv.h"

namespace steerdns::server {

class Reloader {
  public:
    // Builds a snapshot from zones; runs on a threadpool thread, so it must be thread-safe.
    using Build = std::function<SnapshotPtr(std::vector<zone::ZonePtr>, uint64_t generation)>;
    // Makes a snapshot current; runs on the control loop.
    using Publish = std::function<void(SnapshotPtr)>;
    // Told what a run did, on the control loop, after its snapshot (if any) is published.
    using Done = std::function<void(const ReloadReport&)>;

    // Writes settle for this long (no event, mtime this old) before a file is read, so an
    // editor's half-written file is never loaded.
    static constexpr uint64_t kDebounceMs = 200;
    static constexpr uint64_t kScanIntervalMs = 5000;

    Reloader(uv_loop_t* loop, std::string dir, Build build, Publish publish,
             health::ProbeRegistry* probes = nullptr);
    ~Reloader();
    Reloader(const Reloader&) = delete;
    Reloader& operator=(const Reloader&) = delete;

    // Start-up: reads every file synchronously, so workers start with the zones loaded.
    SnapshotPtr load_now();
    // Starts watching the directory.
    void start();
    // Reload as soon as possible (SIGHUP, control API); `force` recompiles every file.
    // `done` is called once a run that started after this request has published.
    void request(const char* why, bool force = false, Done done = {});
    void stop();
    // Members drained through the control API, applied from the next run on (load_now too).
    void set_drains(std::shared_ptr<const zone::DrainSet> drains);
    // Called after every run, load_now included (counters, status).
    void on_report(Done observer) { observer_ = std::move(observer); }

    const ZoneDir& zone_dir() const { return zone_dir_; }

  private:
    void on_fs_event();
    void run_now();
    void work();  // threadpool
    void done();  // control loop

    uv_loop_t* loop_;
    std::string dir_;
    Build build_;
    Publish publish_;
    ZoneDir zone_dir_;
    uint64_t generation_ = 0;
    bool in_flight_ = false;
    bool again_ = false;
    bool stopped_ = false;
    bool force_ = false;      // next run recompiles everything
    bool run_force_ = false;  // the run in flight does
    const char* reason_ = "";
    const char* run_reason_ = "";  // of the run in flight
    uint64_t run_started_ns_ = 0;  // uv_hrtime()
    ReloadReport report_;
    SnapshotPtr built_;
    std::shared_ptr<const zone::DrainSet> drains_;
    std::vector<Done> waiting_;  // for the next run
    std::vector<Done> running_;  // for the run in flight
    // A forced run that met a file still being written answers after the retry, up to
    // this many times (a file rewritten without pause would otherwise hold the answer).
    static constexpr unsigned kMaxDeferredRuns = 10;
    unsigned deferred_runs_ = 0;
    Done observer_;
    uv_work_t work_req_{};
    util::UvPtr<uv_fs_event_t> watch_;
    util::UvPtr<uv_timer_t> debounce_;
    util::UvPtr<uv_timer_t> scan_;
    // Fires when the next maintenance window of a served zone begins or ends.
    util::UvPtr<uv_timer_t> maintenance_;
    // When the last run began looking at the windows (unix ms): the next boundary is the
    // first after this, not after the run's end, or one crossed while the run worked is skipped.
    int64_t windows_seen_ms_ = 0;
    void arm_maintenance();
};

}  // namespace steerdns::server
