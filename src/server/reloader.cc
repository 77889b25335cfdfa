#include "steerdns/server/reloader.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>

#include "steerdns/util/clock.h"
#include "steerdns/util/log.h"

namespace steerdns::server {

Reloader::Reloader(uv_loop_t* loop, std::string dir, Build build, Publish publish,
                   health::ProbeRegistry* probes)
    : loop_(loop),
      dir_(std::move(dir)),
      build_(std::move(build)),
      publish_(std::move(publish)),
      zone_dir_(dir_, probes) {}

Reloader::~Reloader() {
    stop();
}

SnapshotPtr Reloader::load_now() {
    zone_dir_.set_drains(drains_);
    windows_seen_ms_ = util::unix_ms_now();
    report_ = zone_dir_.refresh(ZoneDir::Settle::no);
    SnapshotPtr s = build_(zone_dir_.zones(), ++generation_);
    if (observer_) observer_(report_);
    return s;
}

void Reloader::set_drains(std::shared_ptr<const zone::DrainSet> drains) {
    drains_ = std::move(drains);  // handed to zone_dir_ when no run is in flight
}

void Reloader::start() {
    watch_ = util::make_uv<uv_fs_event_t>();
    util::uv_check(uv_fs_event_init(loop_, watch_.get()), "uv_fs_event_init");
    watch_->data = this;
    const int rc = uv_fs_event_start(
        watch_.get(),
        [](uv_fs_event_t* h, const char*, int, int status) {
            if (status >= 0) static_cast<Reloader*>(h->data)->on_fs_event();
        },
        dir_.c_str(), 0);
    if (rc < 0) {
        // Not fatal: the periodic scan still notices changes, only later.
        util::log_warn(
            "cannot watch the zones directory; changes are picked up by the periodic scan",
            {{"dir", dir_}, {"error", uv_strerror(rc)}});
    }
    debounce_ = util::make_uv<uv_timer_t>();
    uv_timer_init(loop_, debounce_.get());
    debounce_->data = this;
    scan_ = util::make_uv<uv_timer_t>();
    uv_timer_init(loop_, scan_.get());
    scan_->data = this;
    uv_timer_start(
        scan_.get(), [](uv_timer_t* t) { static_cast<Reloader*>(t->data)->request("scan"); },
        kScanIntervalMs, kScanIntervalMs);
    maintenance_ = util::make_uv<uv_timer_t>();
    uv_timer_init(loop_, maintenance_.get());
    maintenance_->data = this;
    arm_maintenance();  // for the zones load_now() read
}

void Reloader::arm_maintenance() {
    if (!maintenance_) return;
    const int64_t next = zone_dir_.next_maintenance_change(windows_seen_ms_);
    if (next == 0) {
        uv_timer_stop(maintenance_.get());
        return;
    }
    // A little after the boundary, so the run sees the window already begun or ended; a
    // window far ahead is looked at again within a day (the clock may be set meanwhile).
    // A boundary already passed (crossed while the run worked) fires at once.
    const int64_t now = util::unix_ms_now();
    const auto delay = static_cast<uint64_t>(std::clamp<int64_t>(next - now, 0, 86400000) + 20);
    // The timer counts from the loop's cached time, which is stale after a long callback
    // or before the loop first runs: a stale base would fire before the boundary.
    uv_update_time(loop_);
    uv_timer_start(
        maintenance_.get(),
        [](uv_timer_t* t) { static_cast<Reloader*>(t->data)->request("maintenance"); }, delay, 0);
}

void Reloader::on_fs_event() {
    // Every event pushes the reload back: a burst of writes (an editor's save, a git checkout
    // replacing many files) ends in one reload once it has been quiet for kDebounceMs.
    reason_ = "change";
    uv_timer_start(
        debounce_.get(), [](uv_timer_t* t) { static_cast<Reloader*>(t->data)->run_now(); },
        kDebounceMs, 0);
}

void Reloader::request(const char* why, bool force, Done done) {
    reason_ = why;
    force_ = force_ || force;
    if (done) waiting_.push_back(std::move(done));
    run_now();
}

void Reloader::run_now() {
    if (stopped_) return;
    if (in_flight_) {
        again_ = true;
        return;
    }
    in_flight_ = true;
    run_force_ = std::exchange(force_, false);
    run_reason_ = reason_;
    run_started_ns_ = uv_hrtime();
    running_ = std::exchange(waiting_, {});
    zone_dir_.set_drains(drains_);  // no run in flight: zone_dir_ is ours
    work_req_.data = this;
    uv_queue_work(
        loop_, &work_req_, [](uv_work_t* w) { static_cast<Reloader*>(w->data)->work(); },
        [](uv_work_t* w, int) { static_cast<Reloader*>(w->data)->done(); });
}

void Reloader::work() {
    // ZoneDir is touched only here while a reload is in flight, and on the control loop
    // otherwise; in_flight_ keeps the two apart.
    windows_seen_ms_ = util::unix_ms_now();
    report_ = zone_dir_.refresh(ZoneDir::Settle::yes, run_force_);
    built_ = report_.changed ? build_(zone_dir_.zones(), generation_ + 1) : nullptr;
}

void Reloader::done() {
    in_flight_ = false;
    // Ours until the next run is queued, which a callback below may do.
    const ReloadReport report = std::move(report_);
    std::vector<Done> finished = std::exchange(running_, {});
    if (built_) {
        ++generation_;
        publish_(std::move(built_));
    }
    if (report.loaded + report.failed + report.removed > 0) {
        // One line per reload that did anything, after the per-zone lines: what triggered it,
        // what it did, and what is served now.
        char took[32];
        std::snprintf(took, sizeof took, "%.1f",
                      static_cast<double>(uv_hrtime() - run_started_ns_) / 1e6);
        log(report.failed > 0 ? util::LogLevel::warn : util::LogLevel::info, "reload done",
            {{"trigger", run_reason_},
             {"loaded", std::to_string(report.loaded)},
             {"failed", std::to_string(report.failed)},
             {"removed", std::to_string(report.removed)},
             {"zones", std::to_string(zone_dir_.zones().size())},
             {"generation", std::to_string(generation_)},
             {"ms", took}});
    }
    if (report.unsettled && run_force_) force_ = true;  // the retry must still recompile all
    if (report.unsettled && debounce_) {
        // A file was still being written: look again once it has had time to settle.
        uv_timer_start(
            debounce_.get(), [](uv_timer_t* t) { static_cast<Reloader*>(t->data)->run_now(); },
            kDebounceMs, 0);
    }
    arm_maintenance();  // no run in flight: zone_dir_ is ours
    if (observer_) observer_(report);
    if (report.unsettled && run_force_ && debounce_ && deferred_runs_ < kMaxDeferredRuns) {
        // "Reload now" was asked while a file was still being written: answer once the retry
        // has read every file, rather than with a report that leaves that file out.
        ++deferred_runs_;
        for (Done& d : finished) waiting_.push_back(std::move(d));
        finished.clear();
    } else {
        deferred_runs_ = 0;
    }
    for (Done& d : finished) d(report);
    if (again_) {
        again_ = false;
        run_now();
    }
}

void Reloader::stop() {
    stopped_ = true;  // a reload in flight still completes; nothing new is queued
    watch_.reset();
    debounce_.reset();
    scan_.reset();
    maintenance_.reset();
}

}  // namespace steerdns::server
