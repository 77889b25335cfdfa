// The zones directory: which *.json files it holds and which of them changed since the last
// look, so a reload recompiles only what an operator touched and keeps the last good
// version of a file that no longer validates.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "steerdns/zone/compile.h"

namespace steerdns::server {

// `*.json` files in `dir`, sorted; or `path` itself when it is a file.
std::vector<std::string> zone_files(const std::string& path, std::string& error);

struct ReloadReport {
    unsigned loaded = 0;     // files compiled successfully
    unsigned failed = 0;     // files rejected (their previous version, if any, kept)
    unsigned removed = 0;    // files gone, zones dropped
    bool changed = false;    // anything to publish
    bool unsettled = false;  // a file was modified too recently to be read; look again soon
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

  private:
    struct Entry {
        int64_t mtime_ns = 0;
        int64_t size = -1;
        uint64_t inode = 0;
        zone::ZonePtr zone;  // last good version; null if the file never validated
    };
    std::string dir_;
    health::ProbeRegistry* probes_;
    std::map<std::string, Entry> files_;
};

}  // namespace steerdns::server
