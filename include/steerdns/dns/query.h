// Parsing of an incoming query: header, the one question, and the OPT record with its
// Client Subnet option. Hand-written and allocation-free because it runs for every packet;
// every read is bounds-checked first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "steerdns/dns/wire.h"

namespace steerdns::dns {

// EDNS Client Subnet (RFC 7871) as sent by the client, already validated.
struct ClientSubnet {
    bool present = false;
    uint16_t family = 0;  // 1 = IPv4, 2 = IPv6
    uint8_t source_prefix = 0;
    uint8_t scope_prefix = 0;
    uint8_t address[16] = {};  // bits beyond source_prefix are zero
};

struct Edns {
    bool present = false;
    uint16_t udp_size = 0;  // as sent; the responder clamps it
    uint8_t version = 0;
    bool do_bit = false;
    bool nsid = false;  // the client asked for our name server identifier (RFC 5001)
    ClientSubnet ecs;
};

struct Query {
    uint16_t id = 0;
    uint8_t flags1 = 0;  // header byte 2 (QR, opcode, AA, TC, RD)
    uint8_t flags2 = 0;  // header byte 3 (RA, Z, AD, CD, rcode)
    bool has_question = false;
    uint8_t qname[kMaxNameLen];  // lowercased wire form
    uint8_t qname_len = 0;
    uint16_t qtype = 0;
    uint16_t qclass = 0;
    uint16_t question_end = 0;  // offset just past the question in the packet
    Edns edns;

    uint8_t opcode() const { return (flags1 & kOpcodeMask) >> 3; }
    std::span<const uint8_t> name() const { return {qname, qname_len}; }
};

enum class ParseResult : uint8_t {
    ok,
    drop,     // not worth an answer: too short for a header, or a response (QR=1)
    formerr,  // header readable, rest malformed
    notimp,   // opcode other than QUERY
    badvers,  // EDNS version above 0
};

// Parses the data of one ECS option (RFC 7871 6: FAMILY, SOURCE and SCOPE PREFIX-LENGTH,
// ADDRESS). False when it is malformed (RFC 7871 7.2.1 makes that FORMERR): unknown family,
// a prefix longer than the family allows, address octets not matching the source prefix, or
// bits set past it. On success `ecs` holds it with `present` set.
bool parse_client_subnet(std::span<const uint8_t> option, ClientSubnet& ecs);

// Parses `packet` into `q`. On formerr/notimp/badvers, q.id, flags and (when it could be read)
// the question are filled in so the caller can build the error response.
ParseResult parse_query(std::span<const uint8_t> packet, Query& q);

}  // namespace steerdns::dns
