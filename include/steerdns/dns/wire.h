// DNS wire-format constants and unaligned big-endian access. Protocol code only: nothing in
// dns/ knows about sockets, threads or zones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace steerdns::dns {

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxNameLen = 255;  // wire octets, RFC 1035 2.3.4
inline constexpr size_t kMaxLabelLen = 63;
inline constexpr size_t kMaxLabels = 128;
inline constexpr size_t kMinUdpPayload = 512;
inline constexpr size_t kMaxTcpMessage = 65535;

// Header byte 2 and 3 flag bits.
inline constexpr uint8_t kFlagQR = 0x80;
inline constexpr uint8_t kOpcodeMask = 0x78;
inline constexpr uint8_t kFlagAA = 0x04;
inline constexpr uint8_t kFlagTC = 0x02;
inline constexpr uint8_t kFlagRD = 0x01;
inline constexpr uint8_t kFlagRA = 0x80;
inline constexpr uint8_t kFlagAD = 0x20;
inline constexpr uint8_t kFlagCD = 0x10;
inline constexpr uint8_t kRcodeMask = 0x0f;

namespace type {
inline constexpr uint16_t A = 1;
inline constexpr uint16_t NS = 2;
inline constexpr uint16_t CNAME = 5;
inline constexpr uint16_t SOA = 6;
inline constexpr uint16_t HINFO = 13;
inline constexpr uint16_t MX = 15;
inline constexpr uint16_t TXT = 16;
inline constexpr uint16_t AAAA = 28;
inline constexpr uint16_t OPT = 41;
inline constexpr uint16_t DS = 43;
inline constexpr uint16_t RRSIG = 46;
inline constexpr uint16_t TKEY = 249;
inline constexpr uint16_t TSIG = 250;
inline constexpr uint16_t IXFR = 251;
inline constexpr uint16_t AXFR = 252;
inline constexpr uint16_t MAILB = 253;
inline constexpr uint16_t MAILA = 254;
inline constexpr uint16_t ANY = 255;
}  // namespace type

namespace klass {
inline constexpr uint16_t IN = 1;
inline constexpr uint16_t CH = 3;
}  // namespace klass

enum class Rcode : uint16_t {
    noerror = 0,
    formerr = 1,
    servfail = 2,
    nxdomain = 3,
    notimp = 4,
    refused = 5,
    notauth = 9,
    badvers = 16,  // extended: needs an OPT record to carry the upper bits
};

// "NOERROR", "NXDOMAIN", ... for the codes above; null for any other (callers print the number).
const char* rcode_name(uint16_t rcode);

inline constexpr uint16_t kOptionNsid = 3;  // RFC 5001
inline constexpr uint16_t kOptionEcs = 8;   // RFC 7871

inline uint16_t load_u16(const uint8_t* p) {
    return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
inline uint32_t load_u32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
inline void store_u16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
inline void store_u32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

inline constexpr uint8_t to_lower(uint8_t c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c | 0x20) : c;
}

}  // namespace steerdns::dns
