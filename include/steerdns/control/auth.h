// Who may use the control endpoint. Reads (GET/HEAD) are open to loopback clients; writes
// (anything else), and reads from other hosts, need `Authorization: Bearer TOKEN` with the
// token of --control-token-file. Without a token file, writes are refused altogether.
#pragma once

#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>

#include "steerdns/control/http_request.h"

namespace steerdns::control {

struct AuthConfig {
    std::optional<std::string> token;  // none: no --control-token-file, writes refused
};

// The token file's content with surrounding white space trimmed. False with `error` when it
// cannot be read or holds nothing else.
bool read_token_file(const std::string& path, std::string& token, std::string& error);

// Equal strings, in a time that depends only on the length of `secret`: a wrong guess
// learns nothing from how long the answer took.
bool constant_time_equal(std::string_view given, std::string_view secret);

bool is_loopback(const sockaddr_storage& peer);

// nullopt: allowed. Otherwise the refusal: 401 (no or wrong token, with WWW-Authenticate)
// or 403 (no token configured for what was asked), closing the connection.
std::optional<HttpResponse> check_access(const AuthConfig& auth, Method method, bool loopback,
                                         std::string_view authorization);

}  // namespace steerdns::control
