// `steerdns status --control A --control B ...`: several servers of one NS set seen as one.
// Each server probes by itself, so two of them can disagree about a member (a firewall or a
// partition only one site has) or serve different versions of a zone file (a sync that did not
// reach one): one table shows each member's state on each server and marks what differs.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace steerdns::cli {

// One server's answer to GET /status, or why there is none.
struct ServerView {
    std::string control;                // ADDR:PORT, as given
    std::optional<nlohmann::json> doc;  // nullopt: it did not answer
    std::string error;                  // with no doc: why
};

struct MergedStatus {
    std::string text;
    size_t members = 0;         // distinct (zone, pool, address) over the servers that answered
    size_t members_differ = 0;  // of those, the ones whose state is not the same on all
    size_t zones_differ = 0;    // zones whose serial or file hash is not the same on all
    size_t not_answering = 0;   // servers without a document
    // 0 all agree; 3 a member's state or a zone's version differs; 1 a server did not answer
    // (it wins over 3: what it would say is unknown).
    int exit_code() const;
};

// The table: ZONE POOL ADDRESS, one state column per server that answered, and NOTE ("differs"
// and the reasons of the servers that do not have it up); then each zone's serial and file
// hash where they differ, the servers that did not answer, and each server's rejected files.
MergedStatus merge_status(const std::vector<ServerView>& servers, bool color);

// A --control-file: one ADDR:PORT per line; blank lines and "#" comments are skipped.
// false with `error` ("FILE:LINE: what") for an unreadable file, a bad address or no address.
bool read_control_file(const std::string& path, std::vector<std::string>& controls,
                       std::string& error);

// GETs /status from every control endpoint at once (the same token file for all) and prints
// the merged table. Returns MergedStatus::exit_code(), or 2 for an unusable address or token.
int run_merged_status(const std::vector<std::string>& controls, const std::string& token_file,
                      std::ostream& out, std::ostream& err, bool color);

}  // namespace steerdns::cli
