#include "steerdns/dns/name.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace steerdns::dns {

void index_labels(std::span<const uint8_t> name, LabelIndex& index) {
    index.count = 0;
    size_t pos = 0;
    while (pos < name.size() && name[pos] != 0 && index.count < kMaxLabels) {
        index.offset[index.count++] = static_cast<uint8_t>(pos);
        pos += 1 + name[pos];
    }
}

int canonical_compare(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    LabelIndex ia, ib;
    index_labels(a, ia);
    index_labels(b, ib);
    int i = ia.count - 1, j = ib.count - 1;
    for (; i >= 0 && j >= 0; --i, --j) {
        const uint8_t* la = a.data() + ia.offset[i];
        const uint8_t* lb = b.data() + ib.offset[j];
        const int c = std::memcmp(la + 1, lb + 1, std::min(la[0], lb[0]));
        if (c != 0) return c;
        if (la[0] != lb[0]) return la[0] < lb[0] ? -1 : 1;
    }
    if (i < 0 && j < 0) return 0;
    return i < 0 ? -1 : 1;
}

size_t label_count(std::span<const uint8_t> name) {
    size_t n = 0;
    for (size_t pos = 0; pos < name.size() && name[pos] != 0; pos += 1 + name[pos]) ++n;
    return n;
}

bool is_subdomain(std::span<const uint8_t> name, std::span<const uint8_t> parent) {
    if (parent.size() > name.size()) return false;
    // The parent must start on one of name's label boundaries, not just match its tail bytes.
    size_t pos = 0;
    const size_t start = name.size() - parent.size();
    while (pos < start && name[pos] != 0) pos += 1 + name[pos];
    return pos == start && std::memcmp(name.data() + start, parent.data(), parent.size()) == 0;
}

uint64_t hash_name(const uint8_t* name, size_t len) {
    // Eight bytes at a time with a multiply-xorshift mix: names are short, and this keeps the
    // per-query hash to a handful of instructions (FNV-1a would be one multiply per byte).
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (len * 0xFF51AFD7ED558CCDull);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        std::memcpy(&w, name + i, 8);
        h = (h ^ w) * 0xC2B2AE3D27D4EB4Full;
        h ^= h >> 29;
    }
    if (i < len) {
        uint64_t w = 0;
        std::memcpy(&w, name + i, len - i);
        h = (h ^ w) * 0xC2B2AE3D27D4EB4Full;
        h ^= h >> 29;
    }
    h *= 0x165667B19E3779F9ull;
    return h ^ (h >> 32);
}

void append_name_text(std::string& out, std::span<const uint8_t> name,
                      std::string_view decimal_escapes) {
    size_t pos = 0;
    bool any = false;
    while (pos < name.size() && name[pos] != 0) {
        const size_t len = name[pos];
        for (size_t i = 1; i <= len && pos + i < name.size(); ++i) {
            const uint8_t c = name[pos + i];
            if (c < 0x21 || c > 0x7e ||
                decimal_escapes.find(static_cast<char>(c)) != std::string_view::npos) {
                char buf[5];
                std::snprintf(buf, sizeof buf, "\\%03u", c);
                out += buf;
            } else if (c == '.' || c == '\\') {
                out += '\\';
                out += static_cast<char>(c);
            } else {
                out += static_cast<char>(c);
            }
        }
        out += '.';
        any = true;
        pos += 1 + len;
    }
    if (!any) out += '.';
}

std::string name_to_text(std::span<const uint8_t> name) {
    std::string out;
    append_name_text(out, name);
    return out;
}

}  // namespace steerdns::dns
