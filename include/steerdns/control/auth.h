// Who may use the control endpoint. Reads (GET/HEAD) are open to the networks of
// --control-read-from (loopback by default); writes (anything else), and reads from elsewhere,
// need `Authorization: Bearer TOKEN` with the token of --control-token-file. Without a token
// file, writes are refused altogether.
#pragma once

#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "steerdns/control/http_request.h"
#include "steerdns/lb/geo_map.h"

namespace steerdns::control {

struct AuthConfig {
    std::optional<std::string> token;  // none: no --control-token-file, writes refused
    // --control-read-from: peers whose reads need no token. Empty ("off"): none.
    std::vector<lb::Cidr> read_from = default_read_from();

    static std::vector<lb::Cidr> default_read_from();  // 127.0.0.0/8, ::1/128
};

// "127.0.0.0/8,::1/128,172.16.0.0/12", or "off" for none. False with `error` naming the bad
// prefix.
bool parse_read_from(std::string_view text, std::vector<lb::Cidr>& out, std::string& error);

// Whether `peer` is in one of the networks; an IPv4-mapped IPv6 peer (a dual-stack socket)
// is matched as the IPv4 address it is.
bool reads_open_to(const std::vector<lb::Cidr>& nets, const sockaddr_storage& peer);

// The token file's content with surrounding white space trimmed. False with `error` when it
// cannot be read or holds nothing else.
bool read_token_file(const std::string& path, std::string& token, std::string& error);

// Equal strings, in a time that depends only on the length of `secret`: a wrong guess
// learns nothing from how long the answer took.
bool constant_time_equal(std::string_view given, std::string_view secret);

// nullopt: allowed. Otherwise the refusal: 401 (no or wrong token, with WWW-Authenticate)
// or 403 (no token configured for what was asked), closing the connection.
// `read_open`: the peer is in --control-read-from.
std::optional<HttpResponse> check_access(const AuthConfig& auth, Method method, bool read_open,
                                         std::string_view authorization);

}  // namespace steerdns::control
