#include "steerdns/lb/client_net.h"

#include <algorithm>
#include <cstring>

namespace steerdns::lb {

namespace {

constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};

}  // namespace

void truncate(ClientNet& net, uint8_t prefix) {
    const uint8_t bits = net.family == 6 ? 128 : 32;
    prefix = std::min(prefix, bits);
    net.prefix = prefix;
    const size_t full_bytes = prefix / 8;
    if (full_bytes >= 16) return;
    if (prefix % 8 != 0) {
        net.address[full_bytes] &= static_cast<uint8_t>(0xFF00 >> (prefix % 8));
        std::memset(net.address + full_bytes + 1, 0, 16 - full_bytes - 1);
    } else {
        std::memset(net.address + full_bytes, 0, 16 - full_bytes);
    }
}

ClientNet client_address(const Client& client) {
    ClientNet net;
    if (client.ecs != nullptr && client.ecs->present) {
        net.family = client.ecs->family == 2 ? 6 : 4;
        net.from_ecs = true;
        std::memcpy(net.address, client.ecs->address, sizeof net.address);
        // The parser already zeroes bits beyond the source prefix; truncating again costs
        // nothing and keeps the hash key canonical whoever built the Client.
        truncate(net, client.ecs->source_prefix);
        return net;
    }
    if (client.family == 6 && std::memcmp(client.address, kV4MappedPrefix, 12) == 0) {
        net.family = 4;
        std::memcpy(net.address, client.address + 12, 4);
        net.prefix = 32;
        return net;
    }
    net.family = client.family == 6 ? 6 : 4;
    std::memcpy(net.address, client.address, net.family == 6 ? 16 : 4);
    net.prefix = net.family == 6 ? 128 : 32;
    return net;
}

ClientNet hashing_subnet(const Client& client) {
    ClientNet net = client_address(client);
    if (!net.from_ecs) truncate(net, net.family == 6 ? kHashPrefixV6 : kHashPrefixV4);
    return net;
}

}  // namespace steerdns::lb
