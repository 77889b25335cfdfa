// Who sent a query, as a worker learns it from the socket: per datagram over UDP, once per
// connection over TCP.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>

#include "steerdns/lb/policy.h"

namespace steerdns::server {

struct Peer {
    lb::Client client;  // the address, as the query path wants it
    uint16_t port = 0;  // for the query log
};

// Fills `peer` from a socket address. False for port 0, which no real client sends from and
// which reflection attacks use. Inline: it runs for every datagram.
inline bool peer_from(const sockaddr_storage& address, Peer& peer) {
    if (address.ss_family == AF_INET) {
        const auto& a = reinterpret_cast<const sockaddr_in&>(address);
        peer.client.family = 4;
        std::memcpy(peer.client.address, &a.sin_addr, 4);
        peer.port = ntohs(a.sin_port);
    } else {
        const auto& a = reinterpret_cast<const sockaddr_in6&>(address);
        peer.client.family = 6;
        std::memcpy(peer.client.address, &a.sin6_addr, 16);
        peer.port = ntohs(a.sin6_port);
    }
    return peer.port != 0;
}

}  // namespace steerdns::server
