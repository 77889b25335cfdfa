// GET /: one self-contained HTML page (no external assets) showing the member table of
// /status, coloured by state, fetching /status again every 2 seconds.
#pragma once

#include <string_view>

namespace steerdns::control {

std::string_view status_page_html();

}  // namespace steerdns::control
