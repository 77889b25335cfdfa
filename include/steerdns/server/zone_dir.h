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
    unsigned loaded = 0;   // files compiled successfully
    unsigned failed = 0;   // files rejected (their previous version, if any, kept)
    unsigned removed = 0;  // files gone, zones dropped
    bool changed = false;  // anything to publish
};

class ZoneDir {
  public:
    explicit ZoneDir(std::string dir) : dir_(std::move(dir)) {}

    // Re-reads the directory; compiles new and changed files. Logs every problem.
    ReloadReport refresh();

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
    std::map<std::string, Entry> files_;
};

}  // namespace steerdns::server
