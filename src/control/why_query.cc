#include "steerdns/control/why_query.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <set>

#include "steerdns/answer/why.h"
#include "steerdns/control/status_query.h"

namespace steerdns::control {
namespace {

constexpr const char* kAccepted =
    " (GET /why accepts name=NAME, type=A|AAAA, client=ADDRESS, ecs=ADDRESS/PREFIX)";

bool parse_address(const std::string& text, uint8_t& family, uint8_t* address) {
    if (inet_pton(AF_INET, text.c_str(), address) == 1) {
        family = 4;
        return true;
    }
    if (inet_pton(AF_INET6, text.c_str(), address) == 1) {
        family = 6;
        return true;
    }
    return false;
}

// "198.51.100.7/24": the bits beyond the prefix are cleared, as a resolver sends them.
bool parse_ecs(const std::string& text, dns::ClientSubnet& out, std::string& error) {
    const size_t slash = text.find('/');
    uint8_t family = 0;
    uint8_t address[16] = {};
    unsigned prefix = 0;
    const char* end = text.data() + text.size();
    if (slash == std::string::npos || !parse_address(text.substr(0, slash), family, address) ||
        std::from_chars(text.data() + slash + 1, end, prefix).ptr != end ||
        prefix > (family == 4 ? 32u : 128u)) {
        error = "ecs=\"" + text + "\": not ADDRESS/PREFIX" + kAccepted;
        return false;
    }
    out = dns::ClientSubnet{};
    out.present = true;
    out.family = family == 4 ? 1 : 2;
    out.source_prefix = static_cast<uint8_t>(prefix);
    for (unsigned bit = 0; bit < (family == 4 ? 32u : 128u); ++bit) {
        if (bit < prefix && (address[bit / 8] & (0x80 >> (bit % 8))))
            out.address[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
    }
    return true;
}

}  // namespace

bool parse_why_query(std::string_view query, WhyQuery& out, std::string& error) {
    out = WhyQuery{};
    std::set<std::string> seen;
    while (!query.empty()) {
        const size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) continue;
        const size_t eq = pair.find('=');
        std::string key;
        std::string value;
        if (!percent_decode(pair.substr(0, eq), key, error)) return false;
        if (eq != std::string_view::npos && !percent_decode(pair.substr(eq + 1), value, error))
            return false;
        if (!seen.insert(key).second) {
            error = "parameter \"" + key + "\" given twice";
            return false;
        }
        if (key == "name") {
            std::string problem;
            if (!why::name_from_text(value, out.name, problem)) {
                error = "name=\"" + value + "\": " + problem;
                return false;
            }
            out.name_text = value;
        } else if (key == "type") {
            if (value == "A" || value == "a") {
                out.qtype = 1;
            } else if (value == "AAAA" || value == "aaaa") {
                out.qtype = 28;
            } else {
                error = "type=\"" + value + "\": A or AAAA" + kAccepted;
                return false;
            }
        } else if (key == "client") {
            if (!parse_address(value, out.family, out.address)) {
                error = "client=\"" + value + "\": not an IPv4 or IPv6 address" + kAccepted;
                return false;
            }
        } else if (key == "ecs") {
            if (!parse_ecs(value, out.ecs, error)) return false;
        } else {
            error = "unknown parameter \"" + key + "\"" + kAccepted;
            return false;
        }
    }
    if (out.name.empty()) {
        error = std::string("missing name=NAME") + kAccepted;
        return false;
    }
    return true;
}

}  // namespace steerdns::control
