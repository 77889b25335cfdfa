// `steerdns failback ZONE POOL ADDRESS`: POST /failback on a running steerdns, letting a
// member awaiting failback (state standby, a pool's "failback": "manual") back into answers.
#pragma once

#include <ostream>
#include <string>

namespace steerdns::cli {

// 0 released; 1 the daemon cannot be reached or refuses (unknown member, not awaiting
// failback: its message is printed); 2 `control` or the token file is unusable.
int run_failback(const std::string& control, const std::string& token_file, const std::string& zone,
                 const std::string& pool, const std::string& address, std::ostream& out,
                 std::ostream& err);

}  // namespace steerdns::cli
