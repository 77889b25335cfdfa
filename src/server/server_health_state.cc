// Health across restarts (README "Health at start"): the state file's fresh health entries go
// to the monitor before its first probe set, the start waits for a first probe of the members
// without one, and the monitor's health is written back beside the drains: at most once a
// second while states change, refreshed while probes answer, and at a clean stop.
#include <algorithm>
#include <cmath>

#include "steerdns/server/server.h"
#include "steerdns/util/clock.h"
#include "steerdns/util/log.h"

namespace steerdns::server {
namespace {

// Checked once a second: state changes are written by the next tick.
constexpr uint64_t kTickMs = 1000;
// While only results come (no change), the file is rewritten this often, so that after a
// kill -9 an entry's age says how old the knowledge is (and a stable member stays fresh).
constexpr int64_t kRefreshMs = 60000;

int64_t max_age_ms(const ServeOptions& o) {
    return std::llround(o.health_max_age * 1000);
}

}  // namespace

void Server::restore_health() {
    std::vector<health::SavedProbe> fresh =
        control::fresh_health(loaded_health_, util::unix_ms_now(), max_age_ms(opts_));
    loaded_health_ = {};
    monitor_->restore(std::move(fresh), opts_.start_probe_wait > 0);
}

void Server::wait_first_probes() {
    // Before any worker reads a socket: queries already queued in them are answered after
    // this, with what the saved entries and the first probes said.
    const auto max_wait = static_cast<uint32_t>(std::lround(opts_.start_probe_wait * 1000));
    const health::StartRound r = monitor_->wait_start(max_wait);
    if (r.from_saved + r.first_probe + r.unprobed == 0) return;  // no health checks
    util::log_info("health at start", {{"members_from_saved_state", std::to_string(r.from_saved)},
                                       {"first_probe", std::to_string(r.first_probe)},
                                       {"unprobed", std::to_string(r.unprobed)},
                                       {"waited_ms", std::to_string(r.waited_ms)}});
}

void Server::start_health_saving() {
    // Unreferenced: saving alone does not keep the daemon running.
    health_timer_ = util::make_uv<uv_timer_t>();
    uv_timer_init(loop_.get(), health_timer_.get());
    health_timer_->data = this;
    uv_timer_start(
        health_timer_.get(),
        [](uv_timer_t* t) { static_cast<Server*>(t->data)->on_health_timer(); }, kTickMs, kTickMs);
    uv_unref(reinterpret_cast<uv_handle_t*>(health_timer_.get()));
    saved_changes_ = UINT64_MAX;  // the first tick writes what the start restored and probed
}

void Server::on_health_timer() {
    if (!monitor_) return;
    const uint64_t changes = monitor_->state_changes();
    const uint64_t results = monitor_->result_count();
    const int64_t now = util::unix_ms_now();
    const int64_t refresh = std::min(kRefreshMs, std::max<int64_t>(1000, max_age_ms(opts_) / 2));
    const bool changed = changes != saved_changes_;
    if (!changed && (results == saved_results_ || now - saved_at_ms_ < refresh)) return;
    // Nothing to keep and nothing old to replace: a server without health checks leaves the
    // file as the drains make it (or absent).
    if (monitor_->saved().empty() && !file_has_health_) return;
    const bool failing = saved_at_ms_ < 0;
    saved_changes_ = changes;
    saved_results_ = results;
    saved_at_ms_ = now;
    std::string error;
    if (!save_state_file(drains_, error)) {
        // Once, not every second: the next change tries again.
        if (!failing) util::log_error("cannot write health state", {{"error", error}});
        saved_at_ms_ = -1;
    }
}

bool Server::save_state_file(const zone::DrainSet& drains, std::string& error) {
    control::StateFile state;
    state.drains = drains;
    if (monitor_) state.health = monitor_->saved();
    if (!control::save_state(state_path_, state, error)) return false;
    file_has_health_ = !state.health.empty();
    return true;
}

void Server::save_health_at_stop() {
    if (!monitor_ || !health_timer_) return;
    health_timer_.reset();
    std::string error;
    const size_t probes = monitor_->saved().size();
    if (probes == 0 && !file_has_health_) return;
    if (!save_state_file(drains_, error)) {
        util::log_error("cannot write health state", {{"error", error}});
        return;
    }
    util::log_info("health state saved",
                   {{"file", state_path_}, {"probes", std::to_string(probes)}});
}

}  // namespace steerdns::server
