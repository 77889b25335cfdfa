// --peer-status: the other servers of an NS set on this server's status page. The browser
// reads each peer's GET /status itself (read-only, under the peer's own access rules) and the
// page shows them beside this server's view: a row per server, and the members whose state
// is not the same everywhere. The server never puts a token into the page: for peers whose
// reads need one, the operator types it into the page, which sends it in a header.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace steerdns::control {

// A peer's base URL, e.g. http://192.0.2.53:8053: http or https, a host, nothing after the
// port but an optional "/". False with `error` saying what is wrong with it.
bool parse_peer_url(std::string_view text, std::string& out, std::string& error);

// `page` (the status page) with the peers' section and its script added before </body>;
// the page itself when there are no peers.
std::string with_peer_status(std::string_view page, const std::vector<std::string>& peers);

}  // namespace steerdns::control
