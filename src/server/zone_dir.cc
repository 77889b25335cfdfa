#include "steerdns/server/zone_dir.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>

#include "steerdns/util/clock.h"
#include "steerdns/util/log.h"
#include "steerdns/zone/json_reader.h"

namespace steerdns::server {
namespace {

// Whether two texts of one zone file say different things: indenting again or reordering
// keys changes the text, not the zone.
bool content_differs(const std::string& before, const std::string& after) {
    if (before == after) return false;
    zone::Json a;
    zone::Json b;
    std::string error;
    if (!zone::parse_json(before, a, error) || !zone::parse_json(after, b, error)) return true;
    return a != b;
}

}  // namespace

std::vector<std::string> zone_files(const std::string& path, std::string& error) {
    std::vector<std::string> out;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        error = path + ": " + std::strerror(errno);
        return out;
    }
    if (!S_ISDIR(st.st_mode)) {
        out.push_back(path);
        return out;
    }
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) {
        error = path + ": " + std::strerror(errno);
        return out;
    }
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        // Editors' swap and backup files never end in .json; hidden files are skipped too.
        if (name.size() > 5 && name[0] != '.' && name.compare(name.size() - 5, 5, ".json") == 0)
            out.push_back(path + (path.back() == '/' ? "" : "/") + name);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

namespace {

int64_t mtime_ns(const struct stat& st) {
    return int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
}

// Modified less than kSettleMs ago: perhaps still being written. A timestamp in the future
// (clock skew) counts as settled, or the file would never be read.
bool settling(int64_t mtime) {
    const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const int64_t age = now - mtime;
    return age >= 0 && age < ZoneDir::kSettleMs * 1000000;
}

// A directory's modification time (0 when it cannot be read): entries added or removed.
int64_t dir_mtime_ns(const std::string& dir) {
    struct stat st {};
    return ::stat(dir.c_str(), &st) == 0 ? mtime_ns(st) : 0;
}

}  // namespace

ReloadReport ZoneDir::refresh(Settle settle, bool force) {
    ReloadReport report;
    std::string error;
    const std::vector<std::string> paths = zone_files(dir_, error);
    if (!error.empty()) {
        util::log_error("cannot read zones directory, keeping the zones we have",
                        {{"error", error}});
        return report;
    }
    std::set<std::string> present(paths.begin(), paths.end());
    // A file missing while the directory is still changing may be mid-replacement (git
    // checkout unlinks, then writes): drop zones only once the directory has settled.
    struct stat dst {};
    const bool dir_settling =
        settle == Settle::yes && ::stat(dir_.c_str(), &dst) == 0 && settling(mtime_ns(dst));
    for (auto it = files_.begin(); it != files_.end();) {
        if (present.count(it->first) != 0) {
            ++it;
        } else if (dir_settling) {
            report.unsettled = true;
            ++it;
        } else {
            if (it->second.zone)
                util::log_info("zone removed",
                               {{"zone", it->second.zone->apex_text()}, {"file", it->first}});
            it = files_.erase(it);
            ++report.removed;
            report.changed = true;
        }
    }
    for (const std::string& path : paths) {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) continue;  // vanished between readdir and stat
        Entry& e = files_[path];
        const int64_t mtime = mtime_ns(st);
        // A signed zone is signed again before its signatures run out, and when a key's
        // timing point passes (zone.h resign_at), from the same file.
        const bool resign =
            e.zone && e.zone->resign_at != 0 && util::unix_ms_now() / 1000 >= e.zone->resign_at;
        // A key file added to (or removed from) its keys directory: read the keys again
        // (README "DNSSEC"), once the directory has been still for a moment.
        int64_t keys_mtime = 0;
        const bool keys_changed = e.zone && !e.zone->keys_dir.empty() &&
                                  (keys_mtime = dir_mtime_ns(e.zone->keys_dir)) != 0 &&
                                  keys_mtime != e.zone->keys_dir_mtime_ns &&
                                  keys_mtime != e.keys_mtime_ns;
        const bool file_changed = force || resign || keys_changed || e.size != st.st_size ||
                                  e.mtime_ns != mtime || e.inode != st.st_ino;
        if (file_changed && settle == Settle::yes &&
            (settling(mtime) || (keys_changed && settling(keys_mtime)))) {
            report.unsettled = true;
        } else if (file_changed) {
            if (keys_changed) e.keys_mtime_ns = keys_mtime;
            e.size = st.st_size;
            e.mtime_ns = mtime;
            e.inode = st.st_ino;
            if (load(path, e, report)) continue;
        }
        // Unchanged, unsettled or rejected: the version serving may still need the drained
        // members changed.
        recompile_for_drains(path, e, report);
    }
    take_over_orphans(report);
    return report;
}

bool ZoneDir::load(const std::string& path, Entry& e, ReloadReport& report) {
    FileOutcome outcome;
    outcome.file = path;
    if (e.zone) outcome.zone = e.zone->apex_text();
    const auto t0 = std::chrono::steady_clock::now();
    auto text = std::make_shared<std::string>();
    zone::LoadResult loaded = zone::load_zone_file(path, text.get());
    std::vector<zone::DrainKey> drained;
    zone::CompileResult r;
    if (loaded.ok()) {
        drained = drained_in(loaded.spec);
        r = compile(std::move(loaded.spec), drained);  // freed as soon as compiled
    } else {
        r.diags = std::move(loaded.diags);
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (r.zone) {
        // One file per apex: a second file claiming a loaded apex is refused. The file serving
        // keeps serving; at start, files load in name order, so the first in name order wins.
        // `steerdns check` applies the same rule.
        const std::string apex = r.zone->apex_text();
        outcome.zone = apex;
        std::string clash;
        for (const auto& [other, oe] : files_)
            if (other != path && oe.zone && oe.zone->apex_text() == apex) clash = other;
        if (!clash.empty()) {
            const std::string why = "zone is already served from " + clash;
            util::log_error("zone rejected", {{"file", path}, {"zone", apex}, {"error", why}});
            outcome.ok = false;
            outcome.errors.push_back(path + ": zone " + apex + ": " + why);
            e.duplicate_of = apex;
            report.files.push_back(std::move(outcome));
            ++report.failed;
            return false;
        }
        for (const zone::Diagnostic& d : r.diags)  // warnings only: the zone compiled
            util::log_warn("zone file warning", {{"warning", d.to_string()}});
        // Secondaries and monitoring compare serials: new content under the old serial is
        // never transferred or noticed.
        if (e.zone && e.text && r.zone->serial == e.zone->serial && content_differs(*e.text, *text))
            util::log_warn(
                "zone content changed but its serial did not",
                {{"zone", apex}, {"file", path}, {"serial", std::to_string(r.zone->serial)}});
        char took[32];
        std::snprintf(took, sizeof took, "%.1f", ms);
        util::log_info(e.zone ? "zone reloaded" : "zone loaded",
                       {{"zone", apex},
                        {"file", path},
                        {"serial", std::to_string(r.zone->serial)},
                        {"pools", std::to_string(r.zone->pools.size())},
                        {"members", std::to_string(r.zone->member_count())},
                        {"ms", took}});
        if (r.zone->dnssec)
            util::log_info("zone signed",
                           {{"zone", apex},
                            {"rrsig_bytes", std::to_string(r.zone->signatures.size())},
                            {"resign_at", util::rfc3339(r.zone->resign_at * 1000)}});
        e.zone = std::move(r.zone);
        e.text = std::move(text);
        e.drained = std::move(drained);
        e.drain_failed.reset();
        e.duplicate_of.clear();
        ++report.loaded;
        report.changed = true;
        report.files.push_back(std::move(outcome));
        return true;
    }
    e.duplicate_of.clear();
    for (const zone::Diagnostic& d : r.diags) {
        if (!d.is_error()) {
            util::log_warn("zone file warning", {{"warning", d.to_string()}});
            continue;
        }
        util::log_error("zone file error", {{"error", d.to_string()}});
        outcome.errors.push_back(d.to_string());
    }
    util::log_error(
        e.zone ? "zone rejected, previous version keeps serving" : "zone rejected, not served",
        {{"file", path}, {"problems", std::to_string(zone::error_count(r.diags))}});
    outcome.ok = false;
    report.files.push_back(std::move(outcome));
    ++report.failed;
    return false;
}

void ZoneDir::take_over_orphans(ReloadReport& report) {
    std::set<std::string> served;
    for (const auto& [path, e] : files_)
        if (e.zone) served.insert(e.zone->apex_text());
    for (auto& [path, e] : files_) {
        if (e.duplicate_of.empty() || served.count(e.duplicate_of) != 0) continue;
        // The file serving this apex went away or now defines another zone: this one takes
        // over in the same reload. Its stat fields stay as they are: it was read whole.
        util::log_info("zone taken over by another file",
                       {{"zone", e.duplicate_of}, {"file", path}});
        if (load(path, e, report) && e.zone) served.insert(e.zone->apex_text());
    }
}

namespace {

// A maintenance window on now: the member is out of answers as if drained.
bool in_maintenance(const std::vector<lb::MaintenanceWindow>& windows, int64_t now) {
    return std::any_of(windows.begin(), windows.end(),
                       [now](const lb::MaintenanceWindow& w) { return w.contains(now); });
}

}  // namespace

int64_t ZoneDir::next_maintenance_change(int64_t now) const {
    int64_t next = 0;
    for (const auto& [path, e] : files_) {
        if (!e.zone) continue;
        for (const lb::Pool& p : e.zone->pools)
            for (const lb::Member& m : p.members)
                for (const lb::MaintenanceWindow& w : m.maintenance)
                    for (const int64_t t : {w.start_unix_ms, w.end_unix_ms})
                        if (t > now && (next == 0 || t < next)) next = t;
    }
    return next;
}

// API drains and members in a maintenance window now: the members the serving version must
// have disabled (a change of this set is a recompile).
std::vector<zone::DrainKey> ZoneDir::drained_in(const zone::ZoneSpec& spec) const {
    std::vector<zone::DrainKey> out;
    const int64_t now = util::unix_ms_now();
    zone::DrainKey k;
    k.zone = zone::canonical_zone(spec.origin.text);
    for (const zone::PoolSpec& ps : spec.pools) {
        k.pool = zone::canonical_pool(ps.name.text);
        for (const zone::MemberSpec& ms : ps.members) {
            k.address = zone::canonical_address(ms.address.text);
            if ((drains_ && drains_->contains(k)) || in_maintenance(ms.maintenance, now))
                out.push_back(k);
        }
    }
    std::sort(out.begin(), out.end());  // the spec's and the zone's answers must compare equal
    return out;
}

std::vector<zone::DrainKey> ZoneDir::drained_in(const zone::Zone& zone) const {
    // From the compiled zone: every refresh asks, and the text is parsed only on a change.
    std::vector<zone::DrainKey> out;
    const int64_t now = util::unix_ms_now();
    zone::DrainKey k;
    k.zone = zone::canonical_zone(zone.apex_text());
    for (const lb::Pool& p : zone.pools) {
        k.pool = zone::canonical_pool(p.name);
        for (const lb::Member& m : p.members) {
            k.address = zone::canonical_address(m.address_text);
            if ((drains_ && drains_->contains(k)) || in_maintenance(m.maintenance, now))
                out.push_back(k);
        }
    }
    std::sort(out.begin(), out.end());  // the spec's and the zone's answers must compare equal
    return out;
}

zone::CompileResult ZoneDir::compile(zone::ZoneSpec spec,
                                     const std::vector<zone::DrainKey>& drained) {
    if (drained.empty()) return zone::compile_zone(spec, probes_);
    // A drained member is a member the file says "enabled": false about; one in a
    // maintenance window is too, and says why. Changed in place: a copy of a 100 000-member
    // spec is 50 MB more at the reload's peak.
    const int64_t now = util::unix_ms_now();
    for (zone::PoolSpec& ps : spec.pools) {
        const std::string pool = zone::canonical_pool(ps.name.text);
        for (zone::MemberSpec& ms : ps.members) {
            if (ms.enabled && in_maintenance(ms.maintenance, now)) {
                ms.enabled = false;
                ms.in_maintenance = true;
            }
            const std::string address = zone::canonical_address(ms.address.text);
            for (const zone::DrainKey& k : drained)
                if (k.pool == pool && k.address == address && ms.enabled) {
                    ms.enabled = false;
                    ms.drained = true;
                }
        }
    }
    return zone::compile_zone(spec, probes_);
}

void ZoneDir::recompile_for_drains(const std::string& path, Entry& e, ReloadReport& report) {
    if (!e.zone || !e.text) return;
    std::vector<zone::DrainKey> drained = drained_in(*e.zone);
    if (drained == e.drained || (e.drain_failed && drained == *e.drain_failed))
        return;  // failed: not every scan
    FileOutcome outcome;
    outcome.file = path;
    outcome.zone = e.zone->apex_text();
    outcome.kind = FileOutcome::Kind::drain;
    zone::LoadResult parsed = zone::parse_zone_json(*e.text, path);
    zone::CompileResult r;
    if (parsed.ok()) {
        r = compile(std::move(parsed.spec), drained);
    } else {
        r.diags = std::move(parsed.diags);  // cannot happen: this text compiled before
    }
    if (!r.zone) {
        // The drain itself makes the zone invalid (say, the only weighted member left weighs
        // 0): the version serving stays as it is.
        for (const zone::Diagnostic& d : r.diags)
            if (d.is_error()) outcome.errors.push_back(d.to_string());
        util::log_error("drained members not applied, zone unchanged",
                        {{"zone", outcome.zone},
                         {"file", path},
                         {"error", outcome.errors.empty() ? "" : outcome.errors.front()}});
        outcome.ok = false;
        ++report.failed;
        report.files.push_back(std::move(outcome));
        e.drain_failed = std::move(drained);
        return;
    }
    e.drain_failed.reset();
    util::log_info("zone recompiled: drained members changed",
                   {{"zone", outcome.zone},
                    {"file", path},
                    {"serial", std::to_string(r.zone->serial)},
                    {"drained", std::to_string(drained.size())}});
    e.zone = std::move(r.zone);
    e.drained = std::move(drained);
    report.changed = true;
    report.files.push_back(std::move(outcome));
}

std::vector<zone::ZonePtr> ZoneDir::zones() const {
    std::vector<zone::ZonePtr> out;
    for (const auto& [path, e] : files_)
        if (e.zone) out.push_back(e.zone);
    return out;
}

}  // namespace steerdns::server
