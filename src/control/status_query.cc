#include "steerdns/control/status_query.h"

#include <charconv>
#include <set>

#include "steerdns/util/hex.h"
#include "steerdns/zone/drain_set.h"

namespace steerdns::control {
namespace {

constexpr const char* kAccepted =
    " (GET /status accepts zone=APEX, pool=NAME, state=up|down|suppressed|draining|drained, "
    "since=REVISION)";

}  // namespace

bool percent_decode(std::string_view in, std::string& out, std::string& error) {
    out.clear();
    for (size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '+') {
            out += ' ';
        } else if (in[i] != '%') {
            out += in[i];
        } else {
            const int hi = i + 2 < in.size() ? util::hex_digit(in[i + 1]) : -1;
            const int lo = hi >= 0 ? util::hex_digit(in[i + 2]) : -1;
            if (lo < 0) {
                error = "bad percent-encoding in the query string";
                return false;
            }
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        }
    }
    return true;
}

bool parse_status_query(std::string_view query, StatusQuery& out, std::string& error) {
    out = StatusQuery{};
    std::set<std::string> seen;
    while (!query.empty()) {
        const size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) continue;  // "a=1&&b=2", a trailing "&"
        const size_t eq = pair.find('=');
        std::string name;
        std::string value;
        if (!percent_decode(pair.substr(0, eq), name, error)) return false;
        if (eq != std::string_view::npos && !percent_decode(pair.substr(eq + 1), value, error))
            return false;
        if (name != "zone" && name != "pool" && name != "state" && name != "since") {
            error = "unknown parameter \"" + name + "\"" + kAccepted;
            return false;
        }
        if (!seen.insert(name).second) {
            error = "parameter \"" + name + "\" given twice";
            return false;
        }
        if (value.empty()) {
            error = "parameter \"" + name + "\" needs a value" + kAccepted;
            return false;
        }
        if (name == "zone") {
            out.zone = zone::canonical_zone(value);
        } else if (name == "pool") {
            out.pool = zone::canonical_pool(value);
        } else if (name == "state") {
            if (value != "up" && value != "down" && value != "suppressed" && value != "drained" &&
                value != "draining" && value != "pending" && value != "standby") {
                error = "state=" + value +
                        ": expected up, down, suppressed, pending, standby, draining or drained";
                return false;
            }
            out.state = value;
        } else {
            uint64_t n = 0;
            const char* end = value.data() + value.size();
            const auto [ptr, ec] = std::from_chars(value.data(), end, n);
            if (ec != std::errc() || ptr != end) {
                error = "since=" + value + ": expected a revision number from a previous /status";
                return false;
            }
            out.since = n;
        }
    }
    return true;
}

}  // namespace steerdns::control
