// `steerdns status`: fetches GET /status from a running daemon and prints the member table.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

namespace steerdns::cli {

// The table for a /status document; ANSI colours for the state column when `color`.
std::string format_status_table(const nlohmann::json& status, bool color);

// Fetches http://<control>/status (with the token of `token_file`, when given) and prints the
// table on `out`; errors on `err`. Returns the exit code: 0, or 1 when the daemon cannot be
// reached or answers with an error.
int run_status_command(const std::string& control, const std::string& token_file, std::ostream& out,
                       std::ostream& err, bool color);

}  // namespace steerdns::cli
