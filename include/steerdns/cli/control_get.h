// A request to a running steerdns's control endpoint, for the commands that read it (`status`,
// `why`) and the ones that act through it (`failback`).
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

namespace steerdns::cli {

// GETs http://<control><target> (with the token of `token_file`, when given) and parses the
// JSON object it answers into `doc`. Errors go to `err`, prefixed "steerdns <command>: ".
// Returns the exit code: 0; 1 when the daemon cannot be reached or answers with an error; 2
// when `control` or the token file is unusable.
// The same with `post_json` (when not null) sent as the body of a POST.
int control_request(const std::string& command, const std::string& control,
                    const std::string& token_file, const std::string& target,
                    const std::string* post_json, nlohmann::json& doc, std::ostream& err);

int control_get(const std::string& command, const std::string& control,
                const std::string& token_file, const std::string& target, nlohmann::json& doc,
                std::ostream& err);

}  // namespace steerdns::cli
