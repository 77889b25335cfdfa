// --user: after the sockets are bound (and the query log opened) as root, the daemon becomes
// an ordinary user for good, before it reads a zone, starts a probe or answers a query.
#pragma once

#include <string>

namespace steerdns::server {

// Switches the process to `user` (supplementary groups, group, then user: real, effective and
// saved IDs) and checks that root cannot be regained. As a non-root user (for instance with
// only CAP_NET_BIND_SERVICE), naming that same user does nothing. Throws std::runtime_error
// with a message that names the user and what failed: an unknown user, another user than the
// current one without root, a failing call.
void drop_privileges(const std::string& user);

}  // namespace steerdns::server
