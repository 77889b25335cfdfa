#include "steerdns/dns/query.h"

#include <cstring>

namespace steerdns::dns {
namespace {

// Reads the question name into q.qname, lowercased. Compression is refused: a query's
// question is the first name in the message, so a pointer there can only be an attack.
bool read_qname(std::span<const uint8_t> p, size_t& pos, Query& q) {
    size_t len = 0;
    while (true) {
        if (pos >= p.size()) return false;
        const uint8_t label = p[pos];
        if (label == 0) {
            q.qname[len++] = 0;
            ++pos;
            break;
        }
        if (label > kMaxLabelLen) return false;  // pointer or reserved label type
        if (pos + 1 + label > p.size() || len + 1 + label + 1 > kMaxNameLen) return false;
        q.qname[len++] = label;
        for (size_t i = 1; i <= label; ++i) q.qname[len++] = to_lower(p[pos + i]);
        pos += 1 + label;
    }
    q.qname_len = static_cast<uint8_t>(len);
    return true;
}

// Skips an owner name in the additional section, where compression is legal.
bool skip_name(std::span<const uint8_t> p, size_t& pos) {
    while (true) {
        if (pos >= p.size()) return false;
        const uint8_t label = p[pos];
        if (label == 0) {
            ++pos;
            return true;
        }
        if ((label & 0xC0) == 0xC0) {
            if (pos + 2 > p.size()) return false;
            pos += 2;
            return true;
        }
        if (label > kMaxLabelLen) return false;
        pos += 1 + label;
    }
}

ParseResult parse_opt(std::span<const uint8_t> p, size_t rdata, size_t rdlen, uint16_t klass,
                      uint32_t ttl, Query& q) {
    q.edns.present = true;
    q.edns.udp_size = klass;
    q.edns.version = static_cast<uint8_t>(ttl >> 16);
    q.edns.do_bit = (ttl & 0x8000) != 0;
    size_t pos = rdata;
    const size_t end = rdata + rdlen;
    while (pos < end) {
        if (pos + 4 > end) return ParseResult::formerr;
        const uint16_t code = load_u16(&p[pos]);
        const uint16_t len = load_u16(&p[pos + 2]);
        pos += 4;
        if (pos + len > end) return ParseResult::formerr;
        if (code == kOptionEcs) {
            if (q.edns.ecs.present) return ParseResult::formerr;  // RFC 7871 7.2.1: only one
            if (!parse_client_subnet({&p[pos], len}, q.edns.ecs)) return ParseResult::formerr;
        } else if (code == kOptionNsid) {
            // RFC 5001 2.3: the request is empty; data in it is ignored, as NSD and Knot do.
            q.edns.nsid = true;
        }
        pos += len;  // unknown options are ignored (RFC 6891 6.1.2)
    }
    // Version is checked after the options so a malformed OPT is FORMERR whatever its version.
    return q.edns.version > 0 ? ParseResult::badvers : ParseResult::ok;
}

}  // namespace

bool parse_client_subnet(std::span<const uint8_t> option, ClientSubnet& ecs) {
    const uint8_t* data = option.data();
    const size_t len = option.size();
    // RFC 7871 7.2.1: a wrongly formatted option (unknown family, prefix longer than the
    // family allows, too few or too many address octets, bits set past the prefix) is FORMERR.
    if (len < 4) return false;
    const uint16_t family = load_u16(data);
    const uint8_t source = data[2];
    const uint8_t scope = data[3];
    const size_t max_bits = family == 1 ? 32 : family == 2 ? 128 : 0;
    if (max_bits == 0 || source > max_bits || scope > max_bits) return false;
    const size_t octets = (source + 7u) / 8u;
    if (len - 4 != octets) return false;
    if (source % 8 != 0) {
        const uint8_t mask = static_cast<uint8_t>(0xFF >> (source % 8));
        if (data[4 + octets - 1] & mask) return false;
    }
    ecs.present = true;
    ecs.family = family;
    ecs.source_prefix = source;
    ecs.scope_prefix = scope;
    std::memset(ecs.address, 0, sizeof ecs.address);
    std::memcpy(ecs.address, data + 4, octets);
    return true;
}

ParseResult parse_query(std::span<const uint8_t> p, Query& q) {
    q.has_question = false;
    q.edns = Edns{};
    q.qname_len = 0;
    if (p.size() < kHeaderSize) return ParseResult::drop;
    q.id = load_u16(&p[0]);
    q.flags1 = p[2];
    q.flags2 = p[3];
    if (q.flags1 & kFlagQR) return ParseResult::drop;  // never answer a response: loops
    if (q.opcode() != 0) return ParseResult::notimp;

    const uint16_t qdcount = load_u16(&p[4]);
    const uint16_t ancount = load_u16(&p[6]);
    const uint16_t nscount = load_u16(&p[8]);
    const uint16_t arcount = load_u16(&p[10]);
    if (qdcount != 1 || ancount != 0 || nscount != 0) return ParseResult::formerr;

    size_t pos = kHeaderSize;
    if (!read_qname(p, pos, q) || pos + 4 > p.size()) return ParseResult::formerr;
    q.qtype = load_u16(&p[pos]);
    q.qclass = load_u16(&p[pos + 2]);
    pos += 4;
    q.question_end = static_cast<uint16_t>(pos);
    q.has_question = true;

    ParseResult result = ParseResult::ok;
    for (uint16_t i = 0; i < arcount; ++i) {
        const size_t owner = pos;
        if (!skip_name(p, pos) || pos + 10 > p.size()) return ParseResult::formerr;
        const uint16_t rtype = load_u16(&p[pos]);
        const uint16_t klass = load_u16(&p[pos + 2]);
        const uint32_t ttl = load_u32(&p[pos + 4]);
        const uint16_t rdlen = load_u16(&p[pos + 8]);
        pos += 10;
        if (pos + rdlen > p.size()) return ParseResult::formerr;
        if (rtype == type::OPT) {
            // RFC 6891 6.1.1: one OPT, owned by the root.
            if (q.edns.present || p[owner] != 0 || pos - owner != 11) return ParseResult::formerr;
            result = parse_opt(p, pos, rdlen, klass, ttl, q);
            if (result == ParseResult::formerr) return result;
        }
        pos += rdlen;
    }
    // Trailing bytes after the last record mean the counts lie about the content.
    if (pos != p.size()) return ParseResult::formerr;
    return result;
}

}  // namespace steerdns::dns
