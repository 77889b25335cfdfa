#include "steerdns/control/auth.h"

#include <netinet/in.h>
#include <strings.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "steerdns/lb/net_list.h"
#include "steerdns/util/file.h"

namespace steerdns::control {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

HttpResponse unauthorized(std::string_view why) {
    HttpResponse r = json_error(401, why);
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"steerdns\"");
    r.close = true;
    return r;
}

HttpResponse forbidden(std::string_view why) {
    HttpResponse r = json_error(403, why);
    r.close = true;
    return r;
}

}  // namespace

bool read_token_file(const std::string& path, std::string& token, std::string& error) {
    std::string all;
    if (!util::read_file(path, all, error)) {
        error = path + ": cannot read: " + error;
        return false;
    }
    const std::string_view t = trim(all);
    if (t.empty()) {
        error = path + ": the token file is empty";
        return false;
    }
    for (char c : t) {
        if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) {
            error = path + ": the token must be one word of printable ASCII";
            return false;
        }
    }
    token = std::string(t);
    return true;
}

bool constant_time_equal(std::string_view given, std::string_view secret) {
    // Every byte of the secret is compared whatever the given string is.
    unsigned char diff = given.size() == secret.size() ? 0 : 1;
    for (size_t i = 0; i < secret.size(); ++i) {
        const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
        diff |= static_cast<unsigned char>(g ^ static_cast<unsigned char>(secret[i]));
    }
    return diff == 0;
}

std::vector<lb::Cidr> AuthConfig::default_read_from() {
    return lb::loopback_nets();
}

bool parse_read_from(std::string_view text, std::vector<lb::Cidr>& out, std::string& error) {
    if (lb::parse_net_list(text, out, error)) return true;
    // The generic advice, said for this option.
    if (error.starts_with("no prefix given"))
        error = "no prefix given (write off to need a token for every read)";
    return false;
}

bool reads_open_to(const std::vector<lb::Cidr>& nets, const sockaddr_storage& peer) {
    uint8_t address[16];
    int family;
    if (peer.ss_family == AF_INET) {
        family = 4;
        std::memcpy(address, &reinterpret_cast<const sockaddr_in&>(peer).sin_addr, 4);
    } else if (peer.ss_family == AF_INET6) {
        const in6_addr& a = reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr;
        family = IN6_IS_ADDR_V4MAPPED(&a) ? 4 : 6;
        std::memcpy(address, family == 4 ? a.s6_addr + 12 : a.s6_addr, family == 4 ? 4 : 16);
    } else {
        return false;
    }
    return lb::net_list_contains(nets, static_cast<uint8_t>(family), address);
}

std::optional<HttpResponse> check_access(const AuthConfig& auth, Method method, bool read_open,
                                         std::string_view authorization) {
    const bool read = method == Method::get || method == Method::head;
    if (read && read_open) return std::nullopt;
    if (!auth.token) {
        if (!read) {
            return forbidden(
                "writes are disabled: start steerdns with --control-token-file PATH and send "
                "\"Authorization: Bearer TOKEN\"");
        }
        return forbidden(
            "read endpoints are open to the networks of --control-read-from only (default: "
            "loopback): add this client's network there, or start steerdns with "
            "--control-token-file PATH and read with \"Authorization: Bearer TOKEN\"");
    }
    const std::string_view value = trim(authorization);
    if (value.empty()) return unauthorized("missing \"Authorization: Bearer TOKEN\" header");
    constexpr std::string_view kScheme = "bearer";
    if (value.size() <= kScheme.size() ||
        strncasecmp(value.data(), kScheme.data(), kScheme.size()) != 0 ||
        !is_space(value[kScheme.size()])) {
        return unauthorized("the Authorization header must be \"Bearer TOKEN\"");
    }
    const std::string_view given = trim(value.substr(kScheme.size()));
    if (!constant_time_equal(given, *auth.token)) return unauthorized("wrong token");
    return std::nullopt;
}

}  // namespace steerdns::control
