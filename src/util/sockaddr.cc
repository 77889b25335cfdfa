#include "steerdns/util/sockaddr.h"

#include <arpa/inet.h>

#include <cstdlib>

namespace steerdns::util {

uint16_t port_of(const sockaddr_storage& ss) {
    return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6&>(ss).sin6_port
                                          : reinterpret_cast<const sockaddr_in&>(ss).sin_port);
}

void append_address_text(std::string& out, int family, const void* bytes) {
    char text[INET6_ADDRSTRLEN];
    if (inet_ntop(family == 6 ? AF_INET6 : AF_INET, bytes, text, sizeof text)) out += text;
}

std::string address_text(int family, const void* bytes) {
    std::string out;
    append_address_text(out, family, bytes);
    return out;
}

bool ListenAddr::is_wildcard() const {
    if (addr.ss_family == AF_INET)
        return reinterpret_cast<const sockaddr_in&>(addr).sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr);
}

void ListenAddr::set_port(uint16_t port) {
    if (addr.ss_family == AF_INET)
        reinterpret_cast<sockaddr_in&>(addr).sin_port = htons(port);
    else
        reinterpret_cast<sockaddr_in6&>(addr).sin6_port = htons(port);
}

bool parse_listen(const std::string& text, ListenAddr& out, std::string& error) {
    std::string host;
    std::string port;
    if (!text.empty() && text[0] == '[') {
        const size_t close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            error = "expected [IPv6]:PORT";
            return false;
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const size_t colon = text.rfind(':');
        if (colon == std::string::npos || text.find(':') != colon) {
            error = "expected ADDR:PORT (write IPv6 addresses as [::1]:5300)";
            return false;
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    char* end = nullptr;
    const long p = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || p < 0 || p > 65535) {
        error = "bad port \"" + port + "\"";
        return false;
    }
    out = ListenAddr{};
    out.text = text;
    auto& v4 = reinterpret_cast<sockaddr_in&>(out.addr);
    auto& v6 = reinterpret_cast<sockaddr_in6&>(out.addr);
    if (inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        out.len = sizeof(sockaddr_in);
    } else if (inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) == 1) {
        v6.sin6_family = AF_INET6;
        out.len = sizeof(sockaddr_in6);
    } else {
        error = "\"" + host + "\" is not an IPv4 or IPv6 address";
        return false;
    }
    out.set_port(static_cast<uint16_t>(p));
    return true;
}

}  // namespace steerdns::util
