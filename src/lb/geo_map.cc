#include "steerdns/lb/geo_map.h"

#include <arpa/inet.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <limits>

#include "steerdns/util/sockaddr.h"

namespace steerdns::lb {

namespace {

using U128 = unsigned __int128;

uint32_t key_v4(const uint8_t* a) {
    return (uint32_t{a[0]} << 24) | (uint32_t{a[1]} << 16) | (uint32_t{a[2]} << 8) | a[3];
}

U128 key_v6(const uint8_t* a) {
    U128 k = 0;
    for (int i = 0; i < 16; ++i) k = (k << 8) | a[i];
    return k;
}

// Leading bits two addresses share.
int common_prefix(uint32_t a, uint32_t b) {
    return std::countl_zero(a ^ b);
}
int common_prefix(U128 a, U128 b) {
    const U128 x = a ^ b;
    const auto high = static_cast<uint64_t>(x >> 64);
    return high != 0 ? std::countl_zero(high) : 64 + std::countl_zero(static_cast<uint64_t>(x));
}

template <class Key>
Key host_mask(uint8_t prefix) {
    constexpr int bits = std::numeric_limits<Key>::digits;
    return prefix >= bits ? Key{0} : static_cast<Key>(~Key{0}) >> prefix;
}

// "\"text\"" + rest, built by appending: g++ 12 at -O2 reports a bogus -Wrestrict on chains
// of operator+ that start with a string literal (GCC bug 105329).
std::string quoted(std::string_view text, std::string_view rest) {
    std::string out;
    out.reserve(text.size() + rest.size() + 2);
    out += '"';
    out += text;
    out += '"';
    out += rest;
    return out;
}

}  // namespace

bool parse_cidr(std::string_view text, Cidr& out, std::string& error) {
    const size_t slash = text.find('/');
    if (slash == std::string_view::npos) {
        error = quoted(text, " is not a network: the prefix length is missing");
        return false;
    }
    const std::string address(text.substr(0, slash));
    const std::string_view length = text.substr(slash + 1);
    Cidr net;
    if (inet_pton(AF_INET, address.c_str(), net.address) == 1) {
        net.family = 4;
    } else if (inet_pton(AF_INET6, address.c_str(), net.address) == 1) {
        net.family = 6;
    } else {
        error = quoted(text, ": " + quoted(address, " is not an IPv4 or IPv6 address"));
        return false;
    }
    const unsigned max_prefix = net.family == 6 ? 128 : 32;
    unsigned prefix = 0;
    const auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), prefix);
    if (length.empty() || ec != std::errc{} || end != length.data() + length.size() ||
        prefix > max_prefix) {
        error = quoted(text, ": prefix length must be 0-" + std::to_string(max_prefix));
        return false;
    }
    net.prefix = static_cast<uint8_t>(prefix);

    Cidr masked = net;
    for (unsigned bit = prefix; bit < max_prefix; ++bit)
        masked.address[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
    if (!(masked == net)) {
        error = quoted(text, " has host bits set (did you mean " + to_string(masked) + "?)");
        return false;
    }
    out = net;
    return true;
}

std::string to_string(const Cidr& net) {
    return util::address_text(net.family, net.address) + "/" + std::to_string(net.prefix);
}

template <class Key>
std::vector<GeoMap::Range<Key>> GeoMap::flatten(std::vector<Range<Key>> nets) {
    // Enclosing nets before the nets inside them: CIDR blocks either nest or are disjoint, so
    // a stack of the nets still open gives, at each point, the most specific one.
    std::sort(nets.begin(), nets.end(), [](const Range<Key>& a, const Range<Key>& b) {
        return a.first != b.first ? a.first < b.first : a.prefix < b.prefix;
    });
    std::vector<Range<Key>> out;
    std::vector<Range<Key>> open;
    Key cursor = 0;          // first address not yet assigned to a range
    bool exhausted = false;  // cursor went past the last address of the family
    auto emit_until = [&](Key last, const Range<Key>& net) {
        if (!exhausted && cursor <= last) out.push_back({cursor, last, net.region, net.prefix});
        if (last == static_cast<Key>(~Key{0}))
            exhausted = true;
        else
            cursor = last + 1;
    };
    for (const Range<Key>& net : nets) {
        while (!open.empty() && open.back().last < net.first) {
            emit_until(open.back().last, open.back());
            open.pop_back();
        }
        // The enclosing net keeps the addresses before this one.
        if (!open.empty() && cursor < net.first) emit_until(net.first - 1, open.back());
        cursor = net.first;
        open.push_back(net);
    }
    while (!open.empty()) {
        emit_until(open.back().last, open.back());
        open.pop_back();
    }
    return out;
}

GeoMap::Built GeoMap::build(std::span<const NetRule> rules) {
    Built built;
    // Duplicate check: sort rule indexes by net, compare neighbours.
    std::vector<size_t> order(rules.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    auto net_less = [&](size_t a, size_t b) {
        const Cidr& x = rules[a].net;
        const Cidr& y = rules[b].net;
        if (x.family != y.family) return x.family < y.family;
        if (x.prefix != y.prefix) return x.prefix < y.prefix;
        const int c = std::memcmp(x.address, y.address, sizeof x.address);
        return c != 0 ? c < 0 : a < b;
    };
    std::sort(order.begin(), order.end(), net_less);
    for (size_t i = 1; i < order.size(); ++i) {
        const size_t earlier = order[i - 1];
        const size_t later = order[i];
        if (rules[earlier].net == rules[later].net)
            built.errors.push_back({later, earlier,
                                    "net " + to_string(rules[later].net) +
                                        " is already given by rule " + std::to_string(earlier)});
    }
    if (!built.errors.empty()) {
        std::sort(built.errors.begin(), built.errors.end(),
                  [](const NetRuleError& a, const NetRuleError& b) { return a.rule < b.rule; });
        return built;
    }

    std::vector<Range<uint32_t>> v4;
    std::vector<Range<U128>> v6;
    for (const NetRule& rule : rules) {
        if (rule.net.family == 6) {
            const U128 first = key_v6(rule.net.address) & ~host_mask<U128>(rule.net.prefix);
            v6.push_back(
                {first, first | host_mask<U128>(rule.net.prefix), rule.region, rule.net.prefix});
        } else {
            const uint32_t first = key_v4(rule.net.address) & ~host_mask<uint32_t>(rule.net.prefix);
            v4.push_back({first, first | host_mask<uint32_t>(rule.net.prefix), rule.region,
                          rule.net.prefix});
        }
    }
    built.map.v4_ = flatten(std::move(v4));
    built.map.v6_ = flatten(std::move(v6));
    return built;
}

template <class Key>
NetMatch GeoMap::find(const std::vector<Range<Key>>& ranges, Key address) {
    constexpr Key kLast = static_cast<Key>(~Key{0});
    const auto after = std::upper_bound(ranges.begin(), ranges.end(), address,
                                        [](Key a, const Range<Key>& r) { return a < r.first; });
    const Range<Key>* below = after != ranges.begin() ? &*(after - 1) : nullptr;
    const Range<Key>* above = after != ranges.end() ? &*after : nullptr;
    NetMatch m;
    // The block of `address` at prefix p stays clear of address b once p exceeds the bits
    // they share: that is how long the scope must be to keep a neighbour out.
    auto keep_out = [&](Key b) { return static_cast<uint8_t>(common_prefix(address, b) + 1); };
    if (below != nullptr && address <= below->last) {
        m.region = below->region;
        m.scope = below->prefix;
        if (below->first != 0) m.scope = std::max(m.scope, keep_out(below->first - 1));
        if (below->last != kLast) m.scope = std::max(m.scope, keep_out(below->last + 1));
        return m;
    }
    if (below != nullptr) m.scope = std::max(m.scope, keep_out(below->last));
    if (above != nullptr) m.scope = std::max(m.scope, keep_out(above->first));
    return m;
}

NetMatch GeoMap::lookup(uint8_t family, const uint8_t* address) const {
    return family == 6 ? find(v6_, key_v6(address)) : find(v4_, key_v4(address));
}

}  // namespace steerdns::lb
