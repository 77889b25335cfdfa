#include "steerdns/zone/file_hash.h"

#include <ldns/ldns.h>

namespace steerdns::zone {

std::string text_sha256(std::string_view text) {
    unsigned char digest[LDNS_SHA256_DIGEST_LENGTH];
    ldns_sha256(reinterpret_cast<const unsigned char*>(text.data()),
                static_cast<unsigned int>(text.size()), digest);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * sizeof digest);
    for (unsigned char b : digest) {
        out += kHex[b >> 4];
        out += kHex[b & 0xf];
    }
    return out;
}

}  // namespace steerdns::zone
