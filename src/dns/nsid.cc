#include "steerdns/dns/nsid.h"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "steerdns/util/hex.h"

namespace steerdns::dns {
namespace {

bool set_bytes(std::string_view bytes, Nsid& out, std::string& error) {
    if (bytes.empty()) {
        error = "empty";
        return false;
    }
    if (bytes.size() > Nsid::kMaxLen) {
        error = "longer than " + std::to_string(Nsid::kMaxLen) + " bytes";
        return false;
    }
    std::memcpy(out.data, bytes.data(), bytes.size());
    out.len = static_cast<uint8_t>(bytes.size());
    out.set = true;
    return true;
}

}  // namespace

bool parse_nsid(std::string_view spec, Nsid& out, std::string& error) {
    out = Nsid{};
    if (spec == "hostname") {
        char host[HOST_NAME_MAX + 1] = {};
        if (gethostname(host, sizeof host - 1) != 0) {
            error = std::string("gethostname: ") + std::strerror(errno);
            return false;
        }
        return set_bytes(host, out, error);
    }
    if (spec.size() >= 2 && spec[0] == '0' && (spec[1] == 'x' || spec[1] == 'X')) {
        const std::string_view hex = spec.substr(2);
        if (hex.size() % 2 != 0) {
            error = "odd number of hex digits after 0x";
            return false;
        }
        std::string bytes;
        for (size_t i = 0; i < hex.size(); i += 2) {
            const int hi = util::hex_digit(hex[i]);
            const int lo = util::hex_digit(hex[i + 1]);
            if (hi < 0 || lo < 0) {
                error = "not a hex digit after 0x";
                return false;
            }
            bytes.push_back(static_cast<char>(hi * 16 + lo));
        }
        return set_bytes(bytes, out, error);
    }
    return set_bytes(spec, out, error);
}

std::string nsid_text(const Nsid& nsid) {
    if (!nsid.set) return "";
    bool printable = true;
    for (uint8_t b : nsid.bytes()) printable = printable && b >= 0x20 && b < 0x7f;
    if (printable) return std::string(reinterpret_cast<const char*>(nsid.data), nsid.len);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "0x";
    for (uint8_t b : nsid.bytes()) {
        out += kHex[b >> 4];
        out += kHex[b & 0xf];
    }
    return out;
}

}  // namespace steerdns::dns
