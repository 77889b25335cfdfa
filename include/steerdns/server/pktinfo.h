// PKTINFO on a wildcard UDP socket (server/socket.cc asks for it): the kernel tells us which
// of our addresses a datagram was sent to, and the reply must leave from that one address, or
// the client drops it. One walk over a datagram's control messages gives both.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

namespace steerdns::server {

struct PacketInfo {
    int family = 0;  // AF_INET or AF_INET6 for the one of v4, v6 that is set
    in_pktinfo v4{};
    in6_pktinfo v6{};
};

// Reads the first IP_PKTINFO or IPV6_PKTINFO control message of a received datagram; false
// when it has none.
bool read_pktinfo(const msghdr& received, PacketInfo& out);

// The address the datagram was sent to (port 0), for is_reflection_source().
void destination_of(const PacketInfo& info, sockaddr_storage& out);

// Writes into `out` the control message that makes the reply leave from that address (and,
// for IPv6, the interface it came in on); returns its length, 0 when `room` is too small.
size_t write_reply_pktinfo(const PacketInfo& info, uint8_t* out, size_t room);

}  // namespace steerdns::server
