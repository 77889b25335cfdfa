// The zones directory: which *.json files it holds and which of them changed since the last
// look, so a reload recompiles only what an operator touched and keeps the last good
// version of a file that no longer validates.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "steerdns/control/drain_state.h"
#include "steerdns/zone/compile.h"

namespace steerdns::server {

// `*.json` files in `dir`, sorted; or `path` itself when it is a file.
std::vector<std::string> zone_files(const std::string& path, std::string& error);

// What became of one file in a refresh, for the control API's answer to POST /reload.
struct FileOutcome {
    enum class Kind : uint8_t {
        file,   // the file was read and compiled
        drain,  // its last good version was compiled again: the drained members changed
    };
    std::string file;
    std::string zone;  // the apex, when known
    Kind kind = Kind::file;
    bool ok = true;
    std::vector<std::string> errors;  // FILE:LINE:COL: json.path: message
};

struct ReloadReport {
    unsigned loaded = 0;             // files compiled successfully
    unsigned failed = 0;             // files rejected (their previous version, if any, kept)
    unsigned removed = 0;            // files gone, zones dropped
    bool changed = false;            // anything to publish
    bool unsettled = false;          // a file was modified too recently to be read; look again soon
    std::vector<FileOutcome> files;  // every file compiled, in path order
};

class ZoneDir {
  public:
    // `probes`: where compiled zones take their probe slots (null: no health checks run).
    explicit ZoneDir(std::string dir, health::ProbeRegistry* probes = nullptr)
        : dir_(std::move(dir)), probes_(probes) {}

    // With Settle::yes, a file modified less than `settle_ms` ago is left for the next look:
    // it may be half-written.
    enum class Settle { no, yes };
    static constexpr int64_t kSettleMs = 200;

    // Re-reads the directory; compiles new and changed files. Logs every problem.
    // With `force`, every file is recompiled whether or not it looks changed (SIGHUP).
    ReloadReport refresh(Settle settle = Settle::no, bool force = false);

    // The current good zones, one per apex.
    std::vector<zone::ZonePtr> zones() const;
    // The first start or end of a maintenance window after `now` among the zones served
    // (ms since the epoch); 0 when there is none.
    int64_t next_maintenance_change(int64_t now) const;

    // Members drained through the control API: compiled as "enabled": false. The next
    // refresh() compiles again, from its last good text, every zone whose drained members
    // changed, even when its file is unchanged or currently broken. Not thread-safe: set it
    // only while no refresh() runs.
    void set_drains(std::shared_ptr<const zone::DrainSet> drains) { drains_ = std::move(drains); }

  private:
    struct Entry {
        int64_t mtime_ns = 0;
        int64_t size = -1;
        uint64_t inode = 0;
        // The keys directory's time a load was last tried for: one that failed (a key file
        // half copied, a bad key) is not tried again until the directory changes again.
        int64_t keys_mtime_ns = 0;
        zone::ZonePtr zone;  // last good version; null if the file never validated
        // The file text `zone` was compiled from (parsed again only when its drained members
        // change: a kept ZoneSpec would cost ten times the text's size), and the members
        // drained in it.
        std::shared_ptr<const std::string> text;
        std::vector<zone::DrainKey> drained;
        std::optional<std::vector<zone::DrainKey>> drain_failed;  // one that did not compile
        // The apex this file defines while another file serves it: read again as soon as no
        // file serves that apex, so the zone stays on the air while a valid file for it exists.
        std::string duplicate_of;
    };
    // Reads again, in name order, the duplicates of apexes no file serves any more.
    void take_over_orphans(ReloadReport& report);
    // Reads and compiles a changed file; true when its new version replaced the old one.
    bool load(const std::string& path, Entry& e, ReloadReport& report);
    std::vector<zone::DrainKey> drained_in(const zone::ZoneSpec& spec) const;
    std::vector<zone::DrainKey> drained_in(const zone::Zone& zone) const;
    zone::CompileResult compile(zone::ZoneSpec spec, const std::vector<zone::DrainKey>& drained);
    void recompile_for_drains(const std::string& path, Entry& e, ReloadReport& report);
    std::shared_ptr<const zone::DrainSet> drains_;
    std::string dir_;
    health::ProbeRegistry* probes_;
    std::map<std::string, Entry> files_;
};

}  // namespace steerdns::server
