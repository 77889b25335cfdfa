#include "steerdns/cli/client_spread.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

namespace steerdns::cli {

namespace {

std::string_view trim(std::string_view s) {
    const size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) return {};
    const size_t e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

// Sets bit `bit` (0 = the most significant of the address) of `address`.
void set_bit(uint8_t (&address)[16], unsigned bit) {
    address[bit / 8] |= static_cast<uint8_t>(0x80u >> (bit % 8));
}

}  // namespace

bool parse_client_source(std::string_view text, ClientSource& out, std::string& error) {
    text = trim(text);
    std::string spec(text);
    if (spec.find('/') == std::string::npos)
        spec += spec.find(':') == std::string::npos ? "/32" : "/128";
    ClientSource s;
    if (!lb::parse_cidr(spec, s.net, error)) {
        error = std::string(text) + ": " + error;
        return false;
    }
    out = s;
    return true;
}

bool parse_clients_file(std::string_view text, std::vector<ClientSource>& out, std::string& error) {
    std::vector<ClientSource> sources;
    size_t line_no = 0;
    while (!text.empty()) {
        const size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        ++line_no;
        if (const size_t hash = line.find('#'); hash != std::string_view::npos)
            line = line.substr(0, hash);
        line = trim(line);
        if (line.empty()) continue;
        const size_t space = line.find_first_of(" \t");
        ClientSource s;
        if (!parse_client_source(line.substr(0, space), s, error)) {
            error = "line " + std::to_string(line_no) + ": " + error;
            return false;
        }
        if (space != std::string_view::npos) {
            const std::string_view w = trim(line.substr(space));
            double weight = 0;
            const auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), weight);
            if (ec != std::errc{} || end != w.data() + w.size() || !(weight > 0) ||
                !std::isfinite(weight)) {
                error = "line " + std::to_string(line_no) + ": weight \"" + std::string(w) +
                        "\" is not a number above 0";
                return false;
            }
            s.weight = weight;
        }
        sources.push_back(s);
    }
    if (sources.empty()) {
        error = "no client address or network in it";
        return false;
    }
    out = std::move(sources);
    return true;
}

ClientSpread::ClientSpread(std::vector<ClientSource> sources)
    : sources_(std::move(sources)), drawn_(sources_.size(), 0) {
    for (size_t i = 0; i < sources_.size(); ++i) turns_.emplace(0.5 / sources_[i].weight, i);
}

void ClientSpread::next(uint8_t& family, uint8_t (&address)[16], size_t& source) {
    source = turns_.top().second;
    turns_.pop();
    const uint64_t k = drawn_[source]++;
    turns_.emplace((static_cast<double>(k + 1) + 0.5) / sources_[source].weight, source);
    const lb::Cidr& net = sources_[source].net;

    family = net.family;
    std::memcpy(address, net.address, sizeof address);
    const unsigned bits = net.family == 6 ? 128 : 32;
    const unsigned host = bits - net.prefix;  // host bits, 0 for one address
    // Bit j of k becomes host bit j counted from the top of the host part (a reversal), so
    // consecutive queries land far apart and the first 2^j cover the prefix evenly.
    for (unsigned j = 0; j < std::min(host, 64u); ++j)
        if ((k >> j) & 1) set_bit(address, net.prefix + j);
}

}  // namespace steerdns::cli
