// Where the client is, as the client-dependent policies (hash, geo) see it: the EDNS Client
// Subnet address (RFC 7871) when the query carries one, else the transport source address.
#pragma once

#include <cstdint>

#include "steerdns/lb/policy.h"

namespace steerdns::lb {

// Hashing granularity without ECS: what public resolvers send as ECS source prefixes, so a
// client keeps its member whether or not its resolver adds ECS.
inline constexpr uint8_t kHashPrefixV4 = 24;
inline constexpr uint8_t kHashPrefixV6 = 56;

struct ClientNet {
    uint8_t family = 4;        // 4 or 6
    uint8_t prefix = 32;       // leading bits of `address` that are known
    uint8_t address[16] = {};  // network order; bits beyond `prefix` are zero
    bool from_ecs = false;     // the query's ECS option, not the source address
};

// The client's address: ECS address and source prefix when present, else the source address
// at full length. An IPv4-mapped IPv6 source (::ffff:a.b.c.d, from a dual-stack socket) is
// the IPv4 client it stands for, so geo rules and hashing treat it like one.
ClientNet client_address(const Client& client);

// The subnet rendezvous hashing keys on: the ECS source prefix, else /24 (IPv4) or /56 (IPv6)
// of the source address. Its prefix is the ECS scope of a hash answer.
ClientNet hashing_subnet(const Client& client);

// Clears every bit of `net.address` beyond `prefix` and sets net.prefix (capped at the
// family's length).
void truncate(ClientNet& net, uint8_t prefix);

}  // namespace steerdns::lb
