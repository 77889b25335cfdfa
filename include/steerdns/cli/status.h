// `steerdns status`: fetches GET /status from a running daemon and prints the member table.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

namespace steerdns::cli {

// The ANSI colour of a member state in a table ("" for none).
const char* state_color(const std::string& state);

// The table for a /status document; ANSI colours for the state column when `color`.
std::string format_status_table(const nlohmann::json& status, bool color);

// Fetches http://<control>/status (with the token of `token_file`, when given) and prints the
// table on `out`; errors on `err`. Returns the exit code: 0, or 1 when the daemon cannot be
// reached or answers with an error.
int run_status_command(const std::string& control, const std::string& token_file, std::ostream& out,
                       std::ostream& err, bool color);

// `status --wait-drained ZONE POOL ADDRESS`: polls GET /status until that member is drained
// (out of answers, and the pool's TTL past since, so no resolver holds it: exit 0), printing
// how long is left; exit 1 at the timeout, when the daemon cannot be reached or the member is
// not there. A member still in answers is waited for too (the drain may be on its way).
int run_wait_drained(const std::string& control, const std::string& token_file,
                     const std::string& zone, const std::string& pool, const std::string& address,
                     double timeout_seconds, std::ostream& out, std::ostream& err);

}  // namespace steerdns::cli
