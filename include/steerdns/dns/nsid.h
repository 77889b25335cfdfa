// The name server identifier: the bytes --nsid configures, answered in the EDNS NSID option
// (RFC 5001) and as the TXT of CH id.server. / hostname.bind. (RFC 4892). Fixed-size so the
// query path reads it without allocating; resolved once at start.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace steerdns::dns {

struct Nsid {
    // One TXT character-string holds 255 octets: the CH TXT answer carries the whole NSID.
    static constexpr size_t kMaxLen = 255;
    uint8_t data[kMaxLen] = {};
    uint8_t len = 0;
    bool set = false;  // --nsid given (an empty NSID cannot be configured)

    std::span<const uint8_t> bytes() const { return {data, len}; }
};

// `spec` as --nsid takes it: "hostname" (this host's name, gethostname()), "0x" followed by
// hex digits (raw bytes, as NSD's nsid setting), or any other text, used as its bytes.
bool parse_nsid(std::string_view spec, Nsid& out, std::string& error);

// The NSID for people (/status, /metrics): its bytes when all are printable ASCII, else "0x"
// and hex digits as --nsid takes them; "" when unset.
std::string nsid_text(const Nsid& nsid);

}  // namespace steerdns::dns
