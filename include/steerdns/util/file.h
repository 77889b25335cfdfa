// Reading a whole file, bounded: zone files, the state file and the token file.
#pragma once

#include <cstdint>
#include <string>

namespace steerdns::util {

// Reads `path` into `out`, at most `limit` + 1 bytes, so a file over the limit (or one that
// never ends, like /dev/zero) costs no more and the caller can tell it was too large. False
// with `error` set to the system's reason (not naming the file) when it cannot be read.
bool read_file(const std::string& path, std::string& out, std::string& error,
               uint64_t limit = UINT64_MAX - 1);

}  // namespace steerdns::util
