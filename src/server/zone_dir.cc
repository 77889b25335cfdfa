#include "steerdns/server/zone_dir.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>

#include "steerdns/server/log.h"

namespace steerdns::server {

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

}  // namespace

ReloadReport ZoneDir::refresh(Settle settle, bool force) {
    ReloadReport report;
    std::string error;
    const std::vector<std::string> paths = zone_files(dir_, error);
    if (!error.empty()) {
        log_error("cannot read zones directory, keeping the zones we have", {{"error", error}});
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
                log_info("zone removed",
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
        if (!force && e.size == st.st_size && e.mtime_ns == mtime && e.inode == st.st_ino) continue;
        if (settle == Settle::yes && settling(mtime)) {
            report.unsettled = true;
            continue;
        }
        e.size = st.st_size;
        e.mtime_ns = mtime;
        e.inode = st.st_ino;

        const auto t0 = std::chrono::steady_clock::now();
        zone::CompileResult r = zone::load_zone(path, probes_);
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count();
        if (r.zone) {
            // One file per apex: a second file claiming a loaded apex is refused.
            const std::string apex = r.zone->apex_text();
            std::string clash;
            for (const auto& [other, oe] : files_)
                if (other != path && oe.zone && oe.zone->apex_text() == apex) clash = other;
            if (!clash.empty()) {
                log_error("zone rejected", {{"file", path},
                                            {"zone", apex},
                                            {"error", "zone is already served from " + clash}});
                ++report.failed;
                continue;
            }
            char took[32];
            std::snprintf(took, sizeof took, "%.1f", ms);
            log_info(e.zone ? "zone reloaded" : "zone loaded",
                     {{"zone", apex},
                      {"file", path},
                      {"serial", std::to_string(r.zone->serial)},
                      {"pools", std::to_string(r.zone->pools.size())},
                      {"members", std::to_string(r.zone->member_count())},
                      {"ms", took}});
            e.zone = std::move(r.zone);
            ++report.loaded;
            report.changed = true;
        } else {
            for (const zone::Diagnostic& d : r.diags)
                log_error("zone file error", {{"error", d.to_string()}});
            log_error(e.zone ? "zone rejected, previous version keeps serving"
                             : "zone rejected, not served",
                      {{"file", path}, {"problems", std::to_string(r.diags.size())}});
            ++report.failed;
        }
    }
    return report;
}

std::vector<zone::ZonePtr> ZoneDir::zones() const {
    std::vector<zone::ZonePtr> out;
    for (const auto& [path, e] : files_)
        if (e.zone) out.push_back(e.zone);
    return out;
}

}  // namespace steerdns::server
