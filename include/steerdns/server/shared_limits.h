// The abuse limits every worker consults, owned by the Server and shared read-write through
// atomics: the response rate limiter and the TCP connection caps; and the stateless checks
// that drop datagrams from sources a reply would loop or reflect to.
#pragma once

#include <span>

#include "steerdns/server/connection_limiter.h"
#include "steerdns/server/options.h"
#include "steerdns/server/rrl.h"
#include "steerdns/server/socket.h"

namespace steerdns::server {

struct SharedLimits {
    explicit SharedLimits(const ServeOptions& opts);

    RateLimiter rrl;
    ConnectionLimiter tcp;
};

// True for a datagram that must not be answered because its source is a trap: one of our
// own listening address:port pairs (a reply would come back to us), or a well-known UDP
// service that answers anything sent to it (echo, chargen...), where a reply starts a
// ping-pong or reflects at that service (is_reflector_port() lists them).
// `local` is the address the datagram was sent to when the socket is a wildcard one (from
// PKTINFO), else null.
bool is_reflection_source(const sockaddr_storage& peer, const sockaddr_storage* local,
                          std::span<const ListenAddr> ours);

// Source ports whose datagrams are never answered. 7 echo, 13 daytime, 17 qotd, 19 chargen,
// 37 time answer any datagram at all: a reply to a query spoofed from one of them starts a
// loop between that service and us. 111 portmap, 123 NTP, 137 NetBIOS, 161 SNMP, 389 CLDAP,
// 1900 SSDP and 11211 memcached are the usual reflection amplifiers: their daemons never ask
// DNS questions from their service port, so such a "query" is spoofed. (53 is not here:
// resolvers may legitimately query from port 53.)
bool is_reflector_port(uint16_t port);

}  // namespace steerdns::server
