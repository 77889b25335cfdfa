#include "steerdns/lb/net_list.h"

#include <cstring>

namespace steerdns::lb {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

bool parse_net_list(std::string_view text, std::vector<Cidr>& out, std::string& error) {
    out.clear();
    if (trim(text) == "off") return true;
    while (!text.empty()) {
        const size_t comma = text.find(',');
        const std::string_view part = trim(text.substr(0, comma));
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
        Cidr net;
        std::string problem;
        if (!parse_cidr(part, net, problem)) {
            error.assign(1, '"').append(part).append("\": ").append(problem);
            return false;
        }
        out.push_back(net);
    }
    if (out.empty()) {
        error = "no prefix given (write off for none)";
        return false;
    }
    return true;
}

bool net_list_contains(std::span<const Cidr> nets, uint8_t family, const uint8_t* address) {
    for (const Cidr& net : nets) {
        if (net.family != family) continue;
        const unsigned full = net.prefix / 8;
        const unsigned rest = net.prefix % 8;
        if (std::memcmp(address, net.address, full) != 0) continue;
        if (rest != 0) {
            const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
            if ((address[full] & mask) != net.address[full]) continue;
        }
        return true;
    }
    return false;
}

std::vector<Cidr> loopback_nets() {
    std::vector<Cidr> nets(2);
    nets[0].family = 4;
    nets[0].prefix = 8;
    nets[0].address[0] = 127;
    nets[1].family = 6;
    nets[1].prefix = 128;
    nets[1].address[15] = 1;
    return nets;
}

}  // namespace steerdns::lb
