#include "steerdns/cli/failback.h"

#include <nlohmann/json.hpp>

#include "steerdns/cli/control_get.h"

namespace steerdns::cli {

int run_failback(const std::string& control, const std::string& token_file, const std::string& zone,
                 const std::string& pool, const std::string& address, std::ostream& out,
                 std::ostream& err) {
    const std::string request =
        nlohmann::json{{"zone", zone}, {"pool", pool}, {"address", address}}.dump();
    nlohmann::json reply;
    const int rc =
        control_request("failback", control, token_file, "/failback", &request, reply, err);
    if (rc != 0) return rc;
    out << "released " << address << " in pool " << pool << " of zone " << zone
        << ": back in answers\n";
    return 0;
}

}  // namespace steerdns::cli
