#include "steerdns/cli/why.h"

#include <algorithm>
#include <vector>

#include "steerdns/cli/control_get.h"

namespace steerdns::cli {
namespace {

// Names, addresses and prefixes need only these escaped in a query string.
std::string query_value(const std::string& v) {
    std::string out;
    for (const char c : v) {
        if (c == '&' || c == '+' || c == '%' || c == '#' || c == '=' || c == ' ') {
            static constexpr char kHex[] = "0123456789ABCDEF";
            const auto u = static_cast<unsigned char>(c);
            out += '%';
            out += kHex[u >> 4];
            out += kHex[u & 15];
        } else {
            out += c;
        }
    }
    return out;
}

constexpr std::string_view kMember = "member ";
constexpr std::string_view kAnswered = " [answered]";

}  // namespace

std::string why_target(const WhyRequest& r) {
    std::string t = "/why?name=" + query_value(r.name) + "&type=" + query_value(r.type);
    if (!r.client.empty()) t += "&client=" + query_value(r.client);
    if (!r.ecs.empty()) t += "&ecs=" + query_value(r.ecs);
    return t;
}

std::string format_why(const nlohmann::json& doc) {
    std::string out;
    // Runs of member lines become one table each (a fallback pool has its own).
    std::vector<std::vector<std::string>> rows;
    size_t width = std::string_view("ADDRESS").size();
    const auto flush = [&] {
        if (rows.empty()) return;
        out += "   " + std::string("ADDRESS") + std::string(width - 7 + 2, ' ') +
               "STATE AND DETAILS\n";
        for (const auto& r : rows)
            out += (r[0] == "*" ? " * " : "   ") + r[1] +
                   std::string(width - r[1].size() + 2, ' ') + r[2] + "\n";
        rows.clear();
        width = 7;
    };
    for (const auto& line : doc.value("lines", nlohmann::json::array())) {
        if (!line.is_string()) continue;
        std::string text = line.get<std::string>();
        if (!text.starts_with(kMember)) {
            flush();
            out += text + "\n";
            continue;
        }
        text.erase(0, kMember.size());
        const bool answered = text.ends_with(kAnswered);
        if (answered) text.resize(text.size() - kAnswered.size());
        const size_t space = text.find(' ');
        std::string address = text.substr(0, space);
        std::string rest = space == std::string::npos ? "" : text.substr(space + 1);
        width = std::max(width, address.size());
        rows.push_back({answered ? "*" : "", std::move(address), std::move(rest)});
    }
    flush();
    return out;
}

int run_why_command(const WhyRequest& r, std::ostream& out, std::ostream& err) {
    if (!r.client.empty() && !r.ecs.empty()) {
        err << "steerdns why: give --client or --ecs, not both (--ecs is sent from 127.0.0.1)\n";
        return 2;
    }
    nlohmann::json doc;
    const int rc = control_get("why", r.control, r.token_file, why_target(r), doc, err);
    if (rc != 0) return rc;
    out << format_why(doc);
    return 0;
}

}  // namespace steerdns::cli
