// `steerdns check PATH...`: loads every zone file as the server would and reports each one's
// problems, located, or a one-line summary and one line per pool with its worst-case
// failover (zone/failover.h). A broken "failover_budget" fails check, not the server.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace steerdns::cli {

// Returns the exit code: 0 when every file is valid, 1 otherwise.
int run_check(const std::vector<std::string>& paths, std::ostream& out, std::ostream& err);

}  // namespace steerdns::cli
