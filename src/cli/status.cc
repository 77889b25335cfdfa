#include "steerdns/cli/status.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "steerdns/cli/control_get.h"
#include "steerdns/util/clock.h"
#include "steerdns/zone/drain_set.h"

namespace steerdns::cli {
namespace {

std::string str(const nlohmann::json& j, const char* key) {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return "";
    return it->is_string() ? it->get<std::string>() : it->dump();
}

// "42s", "3m12s", "5h03m", "2d04h".
std::string age(const std::string& since, const std::string& now) {
    const auto a = util::parse_rfc3339(since);
    const auto b = util::parse_rfc3339(now);
    if (!a || !b) return "";
    const int64_t s = std::max<int64_t>(0, (*b - *a) / 1000);
    char buf[32];
    if (s < 60) {
        std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
    } else if (s < 3600) {
        std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                      static_cast<long long>(s % 60));
    } else if (s < 86400) {
        std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                      static_cast<long long>(s % 3600 / 60));
    } else {
        std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(s / 86400),
                      static_cast<long long>(s % 86400 / 3600));
    }
    return buf;
}

}  // namespace

const char* state_color(const std::string& state) {
    if (state == "up") return "\033[32m";
    if (state == "down" || state == "suppressed") return "\033[1;31m";
    if (state == "pending") return "\033[1;33m";
    if (state == "standby") return "\033[36m";  // up, held out: neither green nor red
    if (state == "drained" || state == "draining") return "\033[33m";
    return "";
}

std::string format_status_table(const nlohmann::json& doc, bool color) {
    static const std::vector<std::string> kHead = {"ZONE",  "POOL",  "ADDRESS", "STATE",
                                                   "SINCE", "CHECK", "LATENCY", "REASON"};
    std::vector<std::vector<std::string>> rows;
    const std::string now = str(doc, "now");
    size_t up = 0, down = 0, drained = 0, standby = 0, pending = 0;
    for (const auto& z : doc.value("zones", nlohmann::json::array())) {
        for (const auto& p : z.value("pools", nlohmann::json::array())) {
            for (const auto& m : p.value("members", nlohmann::json::array())) {
                std::string state = str(m, "state");
                up += state == "up";
                down += state == "down" || state == "suppressed";
                pending += state == "pending";  // not tested yet: neither up nor down
                standby += state == "standby";  // up, held out by failback: its own count
                drained += state == "drained" || state == "draining";  // out of answers
                std::string by = str(m, "drained_by");
                if (state == "draining") {
                    // Until then a resolver may still hold an answer with it.
                    const std::string left = age(now, str(m, "safe_to_remove_at"));
                    if (!left.empty()) by += ", " + left + " left";
                }
                if (!by.empty()) state += " (" + by + ")";
                if (state == "standby") {
                    // A failback delay: how long it still waits; manual: until released.
                    const std::string until = str(m, "failback_until");
                    const std::string left = until.empty() ? "" : age(now, until);
                    state += until.empty()  ? " (awaiting failback, manual)"
                             : left.empty() ? " (awaiting failback)"
                                            : " (awaiting failback, " + left + " left)";
                }
                std::string check = str(m, "check");
                if (check.empty()) {
                    check = "-";
                } else if (m.contains("checks") && m["checks"].is_array()) {
                    // A composite: each part's state, "web:up api:down (all)".
                    check.clear();
                    for (const auto& c : m["checks"])
                        check.append(str(c, "name"))
                            .append(":")
                            .append(str(c, "state"))
                            .append(" ");
                    check.append("(").append(str(m, "require")).append(")");
                } else if (!str(m, "last_result").empty()) {
                    check += " " + str(m, "last_result");
                }
                std::string latency;
                if (m.contains("latency_seconds") && m["latency_seconds"].is_number()) {
                    char buf[32];
                    std::snprintf(buf, sizeof buf, "%.1fms",
                                  m["latency_seconds"].get<double>() * 1000);
                    latency = buf;
                }
                // A suppressed member's reason is why it is held down, not its last probe.
                const std::string reason =
                    !str(m, "suppressed_reason").empty() ? str(m, "suppressed_reason")
                    : !str(m, "failback_reason").empty() ? str(m, "failback_reason")
                                                         : str(m, "reason");
                rows.push_back({str(z, "zone"), str(p, "name"), str(m, "address"), state,
                                age(str(m, "since"), now), check, latency, reason});
            }
        }
    }
    std::vector<size_t> width(kHead.size());
    for (size_t i = 0; i < kHead.size(); ++i) width[i] = kHead[i].size();
    for (const auto& r : rows)
        for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
    std::string out;
    auto line = [&](const std::vector<std::string>& r, bool head) {
        for (size_t i = 0; i < r.size(); ++i) {
            const bool last = i + 1 == r.size();
            const bool colored = color && !head && i == 3;
            if (colored) out += state_color(r[i].substr(0, r[i].find(' ')));
            out += r[i];
            if (colored) out += "\033[0m";
            if (!last) out += std::string(width[i] - r[i].size() + 2, ' ');
        }
        while (!out.empty() && out.back() == ' ') out.pop_back();
        out += '\n';
    };
    if (color) out += "\033[1m";
    line(kHead, true);
    if (color) {
        out.insert(out.size() - 1, "\033[0m");
    }
    for (const auto& r : rows) line(r, false);
    out += std::to_string(rows.size()) + (rows.size() == 1 ? " member: " : " members: ") +
           std::to_string(up) + " up, " + std::to_string(down) + " down, " +
           (pending > 0 ? std::to_string(pending) + " pending, " : std::string()) +
           (standby > 0 ? std::to_string(standby) + " awaiting failback, " : std::string()) +
           std::to_string(drained) + " drained\n";
    for (const auto& z : doc.value("zones", nlohmann::json::array())) {
        for (const auto& e : z.value("errors", nlohmann::json::array()))
            out += "zone " + str(z, "zone") +
                   ": file rejected, previous version serving: " + e.get<std::string>() + "\n";
    }
    for (const auto& f : doc.value("rejected_files", nlohmann::json::array()))
        out += "not served: " + str(f, "file") + "\n";
    return out;
}

int run_status_command(const std::string& control, const std::string& token_file, std::ostream& out,
                       std::ostream& err, bool color) {
    nlohmann::json doc;
    const int rc = control_get("status", control, token_file, "/status", doc, err);
    if (rc != 0) return rc;
    out << format_status_table(doc, color);
    return 0;
}

int run_wait_drained(const std::string& control, const std::string& token_file,
                     const std::string& zone, const std::string& pool, const std::string& address,
                     double timeout_seconds, std::ostream& out, std::ostream& err) {
    const std::string want_zone = zone::canonical_zone(zone);
    const std::string want_pool = zone::canonical_pool(pool);
    const std::string want_address = zone::canonical_address(address);
    if (want_address.empty()) {
        err << "steerdns status: --wait-drained: \"" << address
            << "\" is not an IPv4 or IPv6 address\n";
        return 2;
    }
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));
    std::string last;
    for (;;) {
        nlohmann::json doc;
        const int rc = control_get("status", control, token_file,
                                   "/status?zone=" + want_zone + "&pool=" + want_pool, doc, err);
        if (rc != 0) return rc;
        std::optional<nlohmann::json> member;  // a copy: value() hands out temporaries
        for (const auto& z : doc.value("zones", nlohmann::json::array()))
            for (const auto& p : z.value("pools", nlohmann::json::array()))
                for (const auto& m : p.value("members", nlohmann::json::array()))
                    if (str(m, "address") == want_address) member = m;
        if (!member) {
            err << "steerdns status: member " << want_address << " not found in pool " << want_pool
                << " of zone " << want_zone << "\n";
            return 1;
        }
        const std::string state = str(*member, "state");
        std::string line = want_address + ": " + state;
        if (state == "draining") {
            const std::string left = age(str(doc, "now"), str(*member, "safe_to_remove_at"));
            if (!left.empty()) line += ", safe to remove in " + left;
        }
        if (line != last) out << line << "\n" << std::flush;
        last = line;
        if (state == "drained") return 0;
        if (std::chrono::steady_clock::now() >= deadline) {
            err << "steerdns status: " << want_address << " still " << state << " after "
                << timeout_seconds << " s\n";
            return 1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
}

}  // namespace steerdns::cli
