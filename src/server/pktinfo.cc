#include "steerdns/server/pktinfo.h"

#include <cstring>

namespace steerdns::server {

bool read_pktinfo(const msghdr& received, PacketInfo& out) {
    auto& rx = const_cast<msghdr&>(received);  // the CMSG macros take no const
    for (cmsghdr* c = CMSG_FIRSTHDR(&rx); c != nullptr; c = CMSG_NXTHDR(&rx, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            out.family = AF_INET;
            std::memcpy(&out.v4, CMSG_DATA(c), sizeof out.v4);
            return true;
        }
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            out.family = AF_INET6;
            std::memcpy(&out.v6, CMSG_DATA(c), sizeof out.v6);
            return true;
        }
    }
    return false;
}

void destination_of(const PacketInfo& info, sockaddr_storage& out) {
    std::memset(&out, 0, sizeof out);
    if (info.family == AF_INET) {
        auto& a = reinterpret_cast<sockaddr_in&>(out);
        a.sin_family = AF_INET;
        a.sin_addr = info.v4.ipi_addr;
    } else if (info.family == AF_INET6) {
        auto& a = reinterpret_cast<sockaddr_in6&>(out);
        a.sin6_family = AF_INET6;
        a.sin6_addr = info.v6.ipi6_addr;
    }
}

size_t write_reply_pktinfo(const PacketInfo& info, uint8_t* out, size_t room) {
    auto* h = reinterpret_cast<cmsghdr*>(out);
    if (info.family == AF_INET && room >= CMSG_SPACE(sizeof(in_pktinfo))) {
        // The source address goes in ipi_spec_dst; no interface: the routing table picks it.
        in_pktinfo reply{};
        reply.ipi_spec_dst = info.v4.ipi_addr;
        h->cmsg_level = IPPROTO_IP;
        h->cmsg_type = IP_PKTINFO;
        h->cmsg_len = CMSG_LEN(sizeof reply);
        std::memcpy(CMSG_DATA(h), &reply, sizeof reply);
        return CMSG_SPACE(sizeof reply);
    }
    if (info.family == AF_INET6 && room >= CMSG_SPACE(sizeof(in6_pktinfo))) {
        // Same address, same interface: what the kernel gave us is what it wants back.
        h->cmsg_level = IPPROTO_IPV6;
        h->cmsg_type = IPV6_PKTINFO;
        h->cmsg_len = CMSG_LEN(sizeof info.v6);
        std::memcpy(CMSG_DATA(h), &info.v6, sizeof info.v6);
        return CMSG_SPACE(sizeof info.v6);
    }
    return 0;
}

}  // namespace steerdns::server
