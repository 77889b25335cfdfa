// `steerdns check --diff OLD NEW`: what an edit changes. OLD and NEW are zone files or
// directories (or pipes, as `<(git show HEAD:zones/x.json)` gives); zones are paired by apex.
#pragma once

#include <ostream>
#include <string>

namespace steerdns::cli {

// Prints the changes zone by zone (text, or one JSON object with `json`). Returns the exit
// code: 0 when the diff was computed, changed or not; 1 when either side has a problem, each
// printed to `err` located as `steerdns check` prints them.
int run_diff(const std::string& before, const std::string& after, bool json, std::ostream& out,
             std::ostream& err);

}  // namespace steerdns::cli
