#include "steerdns/server/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace steerdns::server {

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
