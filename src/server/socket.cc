#include "steerdns/server/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace steerdns::server {

void Fd::reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

bool ListenAddr::is_wildcard() const {
    if (addr.ss_family == AF_INET)
        return reinterpret_cast<const sockaddr_in&>(addr).sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr);
}

uint16_t ListenAddr::port() const {
    return ntohs(addr.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in&>(addr).sin_port
                                           : reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
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

void ensure_port_free(const ListenAddr& at, int socktype) {
    // SO_REUSEPORT lets a second steerdns bind the same port and silently take half of the
    // traffic. A plain bind first tells whether anyone already holds the address.
    if (at.port() == 0) return;
    Fd probe(::socket(at.family(), socktype | SOCK_CLOEXEC, 0));
    if (!probe) return;
    const int on = 1;
    if (socktype == SOCK_STREAM) setsockopt(probe.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (at.family() == AF_INET6) setsockopt(probe.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    if (::bind(probe.get(), reinterpret_cast<const sockaddr*>(&at.addr), at.len) < 0 &&
        errno == EADDRINUSE) {
        throw std::runtime_error(std::string(socktype == SOCK_DGRAM ? "udp " : "tcp ") + at.text +
                                 ": address already in use (is another DNS server running?)");
    }
}

Fd bind_socket(const ListenAddr& at, int socktype) {
    const char* kind = socktype == SOCK_DGRAM ? "udp" : "tcp";
    auto fail = [&](const char* what) {
        throw std::runtime_error(std::string(kind) + " " + at.text + ": " + what + ": " +
                                 std::strerror(errno));
    };
    Fd fd(::socket(at.family(), socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) fail("socket");
    const int on = 1;
    if (setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0) fail("SO_REUSEPORT");
    if (socktype == SOCK_STREAM &&
        setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0)
        fail("SO_REUSEADDR");
    if (at.family() == AF_INET6 &&
        setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) < 0)
        fail("IPV6_V6ONLY");
    if (socktype == SOCK_DGRAM && at.is_wildcard()) {
        // A wildcard bind must answer from the address the query came to; the kernel tells us
        // which one through PKTINFO and we hand it back on send.
        if (at.family() == AF_INET) {
            if (setsockopt(fd.get(), IPPROTO_IP, IP_PKTINFO, &on, sizeof on) < 0)
                fail("IP_PKTINFO");
        } else if (setsockopt(fd.get(), IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) < 0) {
            fail("IPV6_RECVPKTINFO");
        }
    }
    if (socktype == SOCK_DGRAM) {
        // Bursts arrive faster than one wakeup drains them; a larger queue turns drops into
        // latency. The kernel caps this at net.core.rmem_max without complaint.
        const int size = 4 << 20;
        setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    }
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&at.addr), at.len) < 0) fail("bind");
    return fd;
}

}  // namespace steerdns::server
