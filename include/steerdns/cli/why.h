// `steerdns why NAME`: the decision trace of a running steerdns (its GET /why), as a table.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

namespace steerdns::cli {

struct WhyRequest {
    std::string name;
    std::string type = "A";  // A or AAAA
    std::string client;      // source address; "" = the daemon's default (127.0.0.1)
    std::string ecs;         // ADDRESS/PREFIX sent as ECS; "" = none
    std::string control = "127.0.0.1:8053";
    std::string token_file;
};

// The GET /why target for `r`: "/why?name=...&type=...".
std::string why_target(const WhyRequest& r);

// The trace lines of a /why document as the command prints them: member lines as a table
// (answered members marked *), every other line as it is.
std::string format_why(const nlohmann::json& doc);

// Returns the exit code: 0, 1 when the daemon cannot be reached or refuses, 2 on bad options.
int run_why_command(const WhyRequest& r, std::ostream& out, std::ostream& err);

}  // namespace steerdns::cli
