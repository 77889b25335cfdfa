#include "steerdns/server/shared_limits.h"

#include "steerdns/util/sockaddr.h"

#include <arpa/inet.h>

#include <cstring>
#include <random>

namespace steerdns::server {
namespace {

// Keyed hashes in both tables: a per-process secret, so collisions cannot be planned.
uint64_t secret() {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd();
}

RrlConfig rrl_config(const ServeOptions& o) {
    RrlConfig c;
    c.responses_per_second = o.rrl_responses_per_second;
    c.slip = o.rrl_slip;
    c.ipv4_prefix = o.rrl_ipv4_prefix;
    c.ipv6_prefix = o.rrl_ipv6_prefix;
    c.table_size = o.rrl_table_size;
    return c;
}

bool same_address(const sockaddr_storage& a, const sockaddr_storage& b) {
    if (a.ss_family != b.ss_family) return false;
    if (a.ss_family == AF_INET) {
        return std::memcmp(&reinterpret_cast<const sockaddr_in&>(a).sin_addr,
                           &reinterpret_cast<const sockaddr_in&>(b).sin_addr, 4) == 0;
    }
    return std::memcmp(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr,
                       &reinterpret_cast<const sockaddr_in6&>(b).sin6_addr, 16) == 0;
}

}  // namespace

SharedLimits::SharedLimits(const ServeOptions& opts)
    : rrl(rrl_config(opts), secret()),
      tcp(opts.tcp_max_clients, opts.tcp_max_clients_per_address, secret()) {}

bool is_reflector_port(uint16_t port) {
    switch (port) {
        case 7:      // echo
        case 13:     // daytime
        case 17:     // qotd
        case 19:     // chargen
        case 37:     // time
        case 111:    // portmap / rpcbind
        case 123:    // ntp
        case 137:    // netbios-ns
        case 161:    // snmp
        case 389:    // cldap
        case 1900:   // ssdp
        case 11211:  // memcached
            return true;
        default:
            return false;
    }
}

bool is_reflection_source(const sockaddr_storage& peer, const sockaddr_storage* local,
                          std::span<const ListenAddr> ours) {
    const uint16_t port = util::port_of(peer);
    if (is_reflector_port(port)) return true;
    for (const ListenAddr& at : ours) {
        if (at.port() != port || at.family() != peer.ss_family) continue;
        if (at.is_wildcard() ? (local != nullptr && same_address(peer, *local))
                             : same_address(peer, at.addr))
            return true;
    }
    return false;
}

}  // namespace steerdns::server
