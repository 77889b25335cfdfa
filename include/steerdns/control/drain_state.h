// Members an operator drained through the control API (POST /drain), and the small state file
// that keeps them across reloads and restarts: `<zones>/.steerdns-state.json` (hidden, so the
// zone scanner skips it), written atomically (temporary file, fsync, rename, fsync of the
// directory). A drained member is compiled as if its zone file said "enabled": false, so it
// leaves every answer, fallback answers included, and keeps being probed.
//
// The same file keeps the probes' health ("health": one entry per probe slot, by its key), so
// that a restart answers with what the last run knew rather than with unprobed members.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "steerdns/health/saved_probe.h"
#include "steerdns/zone/drain_set.h"

namespace steerdns::control {

using zone::DrainKey;
using zone::DrainSet;

// The state file beside the zones: `zones` is the --zones directory, or a zone file.
std::string state_file_path(const std::string& zones);

// {"version": 1, "drained": [{"zone": ..., "pool": ..., "address": ..., "since": RFC 3339}]}
std::string drain_state_json(const DrainSet& set);
// False with `error` ("LINE:COL: message" or what is wrong) when the text is not such a file.
bool parse_drain_state(std::string_view text, DrainSet& out, std::string& error);

// A missing file is an empty set; an unreadable or invalid one is an error naming the file.
bool load_drain_state(const std::string& path, DrainSet& out, std::string& error);
// Writes `path` atomically: readers (and a crash) see the old file or the new one, never half.
bool save_drain_state(const std::string& path, const DrainSet& set, std::string& error);

// The whole file: drains and health.
struct StateFile {
    DrainSet drains;
    std::vector<health::SavedProbe> health;
};

// drain_state_json() plus "health": [{"key", "state", "count", "since", "last", "last_ok",
// "reason"}], times in RFC 3339.
std::string state_json(const StateFile& state);
// A file without "health" (an older version's) has none; an entry whose state this build
// does not know, or whose fields are missing, is skipped: health is a hint, drains are not.
bool parse_state(std::string_view text, StateFile& out, std::string& error);
bool load_state(const std::string& path, StateFile& out, std::string& error);
bool save_state(const std::string& path, const StateFile& state, std::string& error);

// The entries whose last result is younger than `max_age_ms` at `now_unix_ms` (and none from
// the future, which a clock set back would make look fresh forever).
std::vector<health::SavedProbe> fresh_health(const std::vector<health::SavedProbe>& saved,
                                             int64_t now_unix_ms, int64_t max_age_ms);

}  // namespace steerdns::control
