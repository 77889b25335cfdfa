// The daemon's side of the control endpoint: what /status, /metrics, /drain, /undrain and
// /reload read and change. Everything here runs on the control thread.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <unordered_map>

#include "steerdns/answer/why.h"
#include "steerdns/control/metrics.h"
#include "steerdns/control/status_view.h"
#include "steerdns/server/server.h"
#include "steerdns/util/clock.h"
#include "steerdns/util/log.h"

namespace steerdns::server {
namespace {

struct Found {
    const zone::Zone* zone = nullptr;
    const lb::Pool* pool = nullptr;
    const lb::Member* member = nullptr;
};

Found find_member(const Snapshot* s, const zone::DrainKey& key) {
    Found f;
    if (!s) return f;
    for (const zone::ZonePtr& z : s->zones())
        if (zone::canonical_zone(z->apex_text()) == key.zone) f.zone = z.get();
    if (!f.zone) return f;
    for (const lb::Pool& p : f.zone->pools)
        if (zone::canonical_pool(p.name) == key.pool) f.pool = &p;
    if (!f.pool) return f;
    for (const lb::Member& m : f.pool->members)
        if (zone::canonical_address(m.address_text) == key.address) f.member = &m;
    return f;
}

std::string zone_list(const Snapshot* s) {
    std::string out;
    if (s)
        for (const zone::ZonePtr& z : s->zones()) out += (out.empty() ? "" : ", ") + z->apex_text();
    return out.empty() ? "none" : out;
}

// 404 for a member find_member() did not find, naming the part that is missing.
control::HttpResponse not_found(const Found& f, const zone::DrainKey& key, const Snapshot* s) {
    std::string what;
    if (!f.zone) {
        what = "zone " + key.zone + " not found (zones served: " + zone_list(s) + ")";
    } else if (!f.pool) {
        what = "pool \"" + key.pool + "\" not found in zone " + key.zone;
    } else {
        what =
            "member " + key.address + " not found in pool \"" + key.pool + "\" of zone " + key.zone;
    }
    return control::json_error(404, what);
}

// A member's health as the answers see it: unknown and unprobed count as up.
health::State member_health(const Snapshot* s, const lb::Member& m) {
    const health::HealthTable* table = s ? s->health() : nullptr;
    const health::State st = table ? table->state(m.probe_slot) : health::State::up;
    return st == health::State::unknown ? health::State::up : st;
}

control::HttpResponse json_response(int status, const nlohmann::ordered_json& body) {
    control::HttpResponse r;
    r.status = status;
    r.body = body.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    return r;
}

nlohmann::ordered_json outcome_json(const FileOutcome& o) {
    nlohmann::ordered_json j;
    j["file"] = o.file;
    j["ok"] = o.ok;
    j["zone"] = o.zone.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(o.zone);
    if (o.kind == FileOutcome::Kind::drain) j["recompiled_for"] = "drained members";
    j["errors"] = o.errors;
    return j;
}

}  // namespace

void Server::warn_if_state_unwritable() const {
    // Checked as the user the server now runs as: a root-owned zones directory is the usual
    // reason a drain fails with 500 under --user.
    const size_t slash = state_path_.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : state_path_.substr(0, slash + 1);
    if (::access(dir.c_str(), W_OK) == 0) return;
    util::log_warn(
        "the drain state file cannot be written: drains through the control "
        "endpoint will fail; give --state-file a writable place (systemd: "
        "StateDirectory=)",
        {{"file", state_path_},
         {"user", opts_.user.empty() ? "current" : opts_.user},
         {"error", std::strerror(errno)}});
}

void Server::start_control() {
    started_unix_ms_ = util::unix_ms_now();
    state_path_ =
        opts_.state_file.empty() ? control::state_file_path(opts_.zones_dir) : opts_.state_file;
    std::string error;
    control::StateFile state;
    if (!control::load_state(state_path_, state, error))
        throw std::runtime_error("drain state file " + error +
                                 " (fix it, or remove it to undrain every member)");
    drains_ = std::move(state.drains);
    file_has_health_ = !state.health.empty();
    loaded_health_ = std::move(state.health);
    if (drains_.size() > 0)
        util::log_info("drained members restored",
                       {{"file", state_path_}, {"drained", std::to_string(drains_.size())}});
    if (!opts_.control_enabled) return;
    revisions_ = control::StatusRevisions(static_cast<uint64_t>(started_unix_ms_));
    // Unreferenced: the sampler alone does not keep the loop (the daemon) running.
    sample_timer_ = util::make_uv<uv_timer_t>();
    uv_timer_init(loop_.get(), sample_timer_.get());
    sample_timer_->data = this;
    uv_timer_start(
        sample_timer_.get(), [](uv_timer_t* t) { static_cast<Server*>(t->data)->sample_answers(); },
        control::kAnswerSampleMs, control::kAnswerSampleMs);
    uv_unref(reinterpret_cast<uv_handle_t*>(sample_timer_.get()));
    routes_ = std::make_unique<control::Routes>(
        *static_cast<control::Backend*>(this),
        control::AuthConfig{opts_.control_token, opts_.control_read_from}, opts_.peer_status);
    http_ = std::make_unique<control::HttpServer>(
        loop_.get(), control::HttpLimits{},
        [this](const control::HttpRequest& head, const sockaddr_storage& peer) {
            return routes_->authorize(head, peer);
        },
        [this](control::HttpRequest req, control::Reply reply) {
            routes_->handle(std::move(req), reply);
        });
    http_->listen(opts_.control);
}

void Server::note_versions(const Snapshot& s) {
    // A zone new to the snapshot is loaded now; the others keep their time, which
    // on_reload_report() sets when their file is loaded again (not for a drain's recompile).
    const int64_t now = util::unix_ms_now();
    std::map<std::string, int64_t> next;
    for (const zone::ZonePtr& z : s.zones()) {
        const std::string apex = z->apex_text();
        const auto it = loaded_at_.find(apex);
        next.emplace(apex, it != loaded_at_.end() ? it->second : now);
    }
    loaded_at_ = std::move(next);
    member_since_.update(s, now);
    drop_orphan_drains(s);
}

void Server::drop_orphan_drains(const Snapshot& s) {
    // A drain whose member left its zone file goes with it: re-adding the address later
    // brings back a member in service, as the file says, not one drained long ago. Only for
    // zones served: a zone whose file has not loaded (yet) keeps its drains.
    zone::DrainSet next = drains_;
    bool dropped = false;
    for (const auto& [key, since] : drains_.entries()) {
        const Found f = find_member(&s, key);
        if (!f.zone || f.member) continue;
        next.remove(key);
        dropped = true;
        util::log_info("drain dropped: the member left its zone file",
                       {{"zone", key.zone}, {"pool", key.pool}, {"address", key.address}});
    }
    if (!dropped) return;
    std::string error;
    if (!save_state_file(next, error))
        util::log_error("cannot write drain state", {{"error", error}});
    drains_ = std::move(next);
    if (reloader_) reloader_->set_drains(std::make_shared<const zone::DrainSet>(drains_));
}

void Server::on_reload_report(const ReloadReport& report) {
    // Counted: runs that read or dropped a file (not the recompiles of a drain, nor the
    // periodic scans that found nothing new).
    bool read = report.removed > 0;
    bool failed = false;
    const int64_t now = util::unix_ms_now();
    for (const FileOutcome& o : report.files) {
        if (o.kind != FileOutcome::Kind::file) continue;
        read = true;
        failed = failed || !o.ok;
        if (o.ok) {
            rejected_.erase(o.file);
            if (!o.zone.empty()) loaded_at_[o.zone] = now;
        } else {
            FileProblem& p = rejected_[o.file];
            p.zone = o.zone;
            p.errors = o.errors;
        }
    }
    for (auto it = rejected_.begin(); it != rejected_.end();) {
        struct stat st {};
        it = ::stat(it->first.c_str(), &st) == 0 ? std::next(it) : rejected_.erase(it);
    }
    if (read) ++(failed ? reloads_failure_ : reloads_success_);
}

control::StatusModel Server::status_model() {
    const SnapshotPtr snap = slot_.get();
    std::unordered_map<uint32_t, health::ProbeStatus> probes;
    if (monitor_) probes = monitor_->status();
    std::unordered_map<uint32_t, health::ProbeSpec> targets;
    for (health::ProbeSpec& s : probes_.active()) {
        const uint32_t slot = s.slot;
        targets.emplace(slot, std::move(s));
    }
    std::map<std::string, control::ZoneRecord> zones;
    std::set<std::string> served_files;
    if (snap) {
        for (const zone::ZonePtr& z : snap->zones()) {
            control::ZoneRecord r;
            const std::string apex = z->apex_text();
            served_files.insert(z->file);
            if (const auto at = loaded_at_.find(apex); at != loaded_at_.end())
                r.loaded_unix_ms = at->second;
            if (const auto p = rejected_.find(z->file); p != rejected_.end())
                r.errors = p->second.errors;
            zones.emplace(apex, std::move(r));
        }
    }
    control::StatusInputs in;
    in.snapshot = snap.get();
    in.probes = &probes;
    in.targets = &targets;
    in.drains = &drains_;
    in.zones = &zones;
    in.member_since = &member_since_;
    in.answers = &answers_;
    for (const auto& [file, p] : rejected_) {
        // An older version of this file serves: its zone shows the errors. A file refused
        // because another file serves its zone is listed here like any rejected file.
        if (served_files.count(file) != 0) continue;
        control::RejectedFile r;
        r.file = file;
        r.zone = p.zone;
        r.errors = p.errors;
        in.rejected.push_back(std::move(r));
    }
    in.version = STEERDNS_VERSION;
    in.nsid = dns::nsid_text(opts_.nsid);
    in.now_unix_ms = util::unix_ms_now();
    in.started_unix_ms = started_unix_ms_;
    return control::build_status(in);
}

control::HttpResponse Server::status(const control::StatusQuery& query) {
    const control::StatusModel model = status_model();
    revisions_.observe(model);
    if (const auto why = control::unknown_selection(model, query))
        return control::json_error(404, *why);
    const nlohmann::ordered_json doc = control::status_view(model, revisions_, answers_, query);
    control::HttpResponse r;
    // File names and probe reasons are not always UTF-8: replaced, never thrown about.
    // Indented for people reading /status; compact for the page's polling (?since=).
    r.body = doc.dump(query.since ? -1 : 2, ' ', false,
                      nlohmann::ordered_json::error_handler_t::replace) +
             "\n";
    return r;
}

why::ProbeLookup Server::why_probe_lookup() const {
    const health::Monitor* monitor = monitor_.get();
    if (monitor == nullptr) return {};
    return [monitor](uint32_t slot, health::ProbeStatus& out) {
        return monitor->status_of(slot, out);
    };
}

control::HttpResponse Server::why(const control::WhyQuery& query) {
    const SnapshotPtr snap = slot_.get();
    if (!snap) return control::json_error(503, "no zones loaded yet");
    why::Question q;
    q.name = query.name;
    q.qtype = query.qtype;
    q.client.family = query.family;
    std::memcpy(q.client.address, query.address, sizeof q.client.address);
    q.client.ecs = query.ecs.present ? &query.ecs : nullptr;
    nlohmann::ordered_json doc;
    doc["name"] = query.name_text;
    doc["type"] = query.qtype == dns::type::AAAA ? "AAAA" : "A";
    doc["lines"] = why::explain(*snap, q, why_probe_lookup(), util::unix_ms_now());
    control::HttpResponse r;
    r.body = doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    return r;
}

control::ResponseTotals Server::response_totals() {
    // Freed snapshots' totals, plus what the live ones (current, and retired ones a worker
    // may still hold) have counted so far.
    control::ResponseTotals totals = carried_;
    if (const SnapshotPtr s = slot_.get()) totals.add(*s);
    for (const SnapshotPtr& s : retired_) totals.add(*s);
    return totals;
}

void Server::sample_answers() {
    const SnapshotPtr snap = slot_.get();
    if (!snap) return;
    answers_.sample(*snap, response_totals(), revisions_.bump());
}

std::string Server::metrics() {
    control::ServerCounters c;
    for (const auto& w : workers_)
        for (const Responder* r : w->responders()) {
            add_worker(c, r->stats());
            if (const SignatureCache* cache = r->signature_cache()) {
                const SignatureCache::Counters& n = cache->counters();
                c.signature_cache_hits += n.hits.load(std::memory_order_relaxed);
                c.signature_cache_misses += n.misses.load(std::memory_order_relaxed);
                c.signature_cache_evictions += n.evictions.load(std::memory_order_relaxed);
            }
        }
    if (monitor_) {
        c.probe_results = monitor_->results();
        c.probes_delayed = monitor_->delayed();
    }
    c.reloads_success = reloads_success_;
    c.reloads_failure = reloads_failure_;
    return control::render_metrics(status_model(), response_totals(), c);
}

void Server::drain(const zone::DrainKey& key, bool drain, control::Reply reply) {
    const char* verb = drain ? "drain" : "undrain";
    const SnapshotPtr snap = slot_.get();
    const Found f = find_member(snap.get(), key);
    const bool known = drains_.contains(key);  // undrain works for a member since removed
    if (!f.member && !(known && !drain)) return reply(not_found(f, key, snap.get()));
    zone::DrainSet next = drains_;
    const bool changed = drain ? next.add(key, util::unix_ms_now()) : next.remove(key);
    auto done = [this, key, drain, changed, reply](const ReloadReport* report) {
        const Found now = find_member(slot_.get().get(), key);
        nlohmann::ordered_json body;
        body["result"] = drain ? "drained" : "undrained";
        body["zone"] = key.zone;
        body["pool"] = key.pool;
        body["address"] = key.address;
        if (drain && now.member && now.member->enabled) {
            // The zone did not compile with the member drained: undo, say why.
            nlohmann::ordered_json errors = nlohmann::ordered_json::array();
            if (report)
                for (const FileOutcome& o : report->files)
                    if (o.zone == key.zone && !o.ok)
                        for (const std::string& e : o.errors) errors.push_back(e);
            drains_.remove(key);
            std::string error;
            if (!save_state_file(drains_, error))
                util::log_error("cannot write drain state", {{"error", error}});
            reloader_->set_drains(std::make_shared<const zone::DrainSet>(drains_));
            body["result"] = "error";
            body["error"] = "the zone is invalid with this member drained; nothing changed";
            body["errors"] = std::move(errors);
            return reply(json_response(409, body));
        }
        // The member's health by the name /status gives it (pending and standby are not
        // "up": they are answered only when nothing else is).
        body["state"] = !now.member ? nlohmann::ordered_json(nullptr)
                        : !now.member->enabled
                            ? nlohmann::ordered_json("drained")
                            : nlohmann::ordered_json(health::state_name(
                                  member_health(slot_.get().get(), *now.member)));
        if (!drain && now.member && !now.member->enabled)
            body["note"] = "its zone file says \"enabled\": false: it stays out of answers";
        if (changed) {
            // Named as health events name members: the apex, the pool and address as written.
            record_event({util::unix_ms_now(), now.zone ? now.zone->apex_text() : key.zone,
                          now.pool ? now.pool->name : key.pool,
                          now.member ? now.member->address_text : key.address,
                          drain ? "drained" : "undrained", "control API"},
                         now.zone);
        }
        reply(json_response(200, body));
    };
    if (!changed) return done(nullptr);  // already so: nothing to write or recompile
    std::string error;
    if (!save_state_file(next, error)) {
        util::log_error("cannot write drain state", {{"error", error}});
        return reply(control::json_error(
            500, "cannot write the drain state file, nothing changed: " + error));
    }
    drains_ = std::move(next);
    util::log_info(
        drain ? "member drained" : "member undrained",
        {{"zone", key.zone}, {"pool", key.pool}, {"address", key.address}, {"by", "control API"}});
    reloader_->set_drains(std::make_shared<const zone::DrainSet>(drains_));
    // Answers change when the recompiled zone is published, before the reply is sent.
    reloader_->request(verb, false, [done](const ReloadReport& report) { done(&report); });
}

void Server::failback(const zone::DrainKey& key, control::Reply reply) {
    const SnapshotPtr snap = slot_.get();
    const Found f = find_member(snap.get(), key);
    if (!f.member) return reply(not_found(f, key, snap.get()));
    // Only a member in standby has a hold to end: anything else is a conflict, said as such.
    const health::State state = member_health(snap.get(), *f.member);
    if (state != health::State::standby || !monitor_ ||
        !monitor_->release_failback(f.member->probe_slot)) {
        return reply(control::json_error(
            409,
            "member " + key.address + " of pool \"" + key.pool + "\" is not awaiting failback" +
                " (state: " + (f.member->enabled ? health::state_name(state) : "drained") + ")"));
    }
    util::log_info(
        "failback released",
        {{"zone", key.zone}, {"pool", key.pool}, {"address", key.address}, {"by", "control API"}});
    // The prober thread ends the hold within a loop turn; answers follow at once.
    nlohmann::ordered_json body;
    body["result"] = "released";
    body["zone"] = key.zone;
    body["pool"] = key.pool;
    body["address"] = key.address;
    reply(json_response(200, body));
}

void Server::reload(control::Reply reply) {
    util::log_info("reload requested", {{"by", "control API"}});
    reloader_->request("control API", true, [reply](const ReloadReport& report) {
        bool ok = true;
        nlohmann::ordered_json files = nlohmann::ordered_json::array();
        for (const FileOutcome& o : report.files) {
            ok = ok && o.ok;
            files.push_back(outcome_json(o));
        }
        nlohmann::ordered_json body;
        body["result"] = ok ? "ok" : "error";
        body["loaded"] = report.loaded;
        body["failed"] = report.failed;
        body["removed"] = report.removed;
        body["files"] = std::move(files);
        // 422 lets `curl --fail` in a deploy script notice a rejected file; the other files
        // were reloaded all the same, and the rejected ones keep their previous version.
        reply(json_response(ok ? 200 : 422, body));
    });
}

}  // namespace steerdns::server
