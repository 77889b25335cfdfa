// Members an operator drained through the control API (POST /drain), and the small state file
// that keeps them across reloads and restarts: `<zones>/.steerdns-state.json` (hidden, so the
// zone scanner skips it), written atomically (temporary file, fsync, rename, fsync of the
// directory). A drained member is compiled as if its zone file said "enabled": false, so it
// leaves every answer, fallback answers included, and keeps being probed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

}  // namespace steerdns::control
