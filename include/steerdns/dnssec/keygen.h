// `steerdns keys create`: new keys written in BIND's format, so BIND's and ldns's tools (and
// a later move to another signer) read them as they are.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace steerdns::dnssec {

struct KeygenRequest {
    std::string zone;      // any case, with or without the final dot
    std::string dir;       // created when missing (0700: it holds private keys)
    int algorithm = 13;    // 13, 15 or 8
    bool ksk_zsk = false;  // false: one CSK (flags 257) signs everything
    int64_t now = 0;       // Created/Publish/Activate stamps
};

// Writes K<zone>.+AAA+TTTTT.key (0644) and .private (0600) per key; `written` gets the .key
// paths. Never overwrites a file.
bool create_keys(const KeygenRequest& request, std::vector<std::string>& written,
                 std::string& error);

}  // namespace steerdns::dnssec
