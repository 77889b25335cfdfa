#include "steerdns/cli/status_merge.h"

#include <algorithm>
#include <map>
#include <sstream>
#include <thread>
#include <tuple>

#include "steerdns/cli/control_get.h"
#include "steerdns/cli/status.h"
#include "steerdns/util/file.h"
#include "steerdns/util/sockaddr.h"

namespace steerdns::cli {
namespace {

std::string str(const nlohmann::json& j, const char* key) {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return "";
    return it->is_string() ? it->get<std::string>() : it->dump();
}

const nlohmann::json& array_of(const nlohmann::json& j, const char* key) {
    static const nlohmann::json empty = nlohmann::json::array();
    const auto it = j.find(key);
    return it != j.end() && it->is_array() ? *it : empty;
}

using MemberKey = std::tuple<std::string, std::string, std::string>;  // zone, pool, address

// A zone's version as a server serves it: serial and file hash ("" before servers had one).
std::string zone_version(const nlohmann::json& z) {
    std::string v = "serial " + str(z, "serial");
    const std::string hash = str(z, "file_sha256");
    if (!hash.empty()) v.append(" sha256 ").append(hash.substr(0, 16));
    return v;
}

struct Table {
    std::vector<std::vector<std::string>> rows;
    // Cells of these columns are states: coloured by their first word.
    size_t first_state = 0, last_state = 0;

    std::string render(bool color) const {
        std::vector<size_t> width;
        for (const auto& r : rows) {
            width.resize(std::max(width.size(), r.size()));
            for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
        }
        std::string out;
        for (size_t n = 0; n < rows.size(); ++n) {
            const auto& r = rows[n];
            if (color && n == 0) out += "\033[1m";
            for (size_t i = 0; i < r.size(); ++i) {
                const bool colored = color && n > 0 && i >= first_state && i < last_state;
                const char* c = colored ? state_color(r[i].substr(0, r[i].find(' '))) : "";
                const bool mark = color && n > 0 && i + 1 == r.size() && !r[i].empty();
                if (mark) c = "\033[1;31m";
                out += c;
                out += r[i];
                if (*c != '\0') out += "\033[0m";
                if (i + 1 < r.size()) out += std::string(width[i] - r[i].size() + 2, ' ');
            }
            while (!out.empty() && out.back() == ' ') out.pop_back();
            if (color && n == 0) out += "\033[0m";
            out += '\n';
        }
        return out;
    }
};

}  // namespace

int MergedStatus::exit_code() const {
    if (not_answering > 0) return 1;
    return members_differ > 0 || zones_differ > 0 ? 3 : 0;
}

MergedStatus merge_status(const std::vector<ServerView>& servers, bool color) {
    MergedStatus merged;
    std::vector<const ServerView*> answered;
    for (const ServerView& s : servers) {
        if (s.doc) {
            answered.push_back(&s);
        } else {
            ++merged.not_answering;
        }
    }
    // Every member any server has, in the order the first server to have it lists it; per
    // server its state and reason.
    std::vector<MemberKey> order;
    std::map<MemberKey, std::vector<std::optional<nlohmann::json>>> members;
    // Every zone any server serves: its version on each server ("" = not served there).
    std::vector<std::string> zone_order;
    std::map<std::string, std::vector<std::string>> zones;
    for (size_t i = 0; i < answered.size(); ++i) {
        for (const auto& z : array_of(*answered[i]->doc, "zones")) {
            const std::string apex = str(z, "zone");
            auto [zit, new_zone] = zones.try_emplace(apex, answered.size());
            if (new_zone) zone_order.push_back(apex);
            zit->second[i] = zone_version(z);
            for (const auto& p : array_of(z, "pools")) {
                for (const auto& m : array_of(p, "members")) {
                    MemberKey key{apex, str(p, "name"), str(m, "address")};
                    auto [it, added] = members.try_emplace(key, answered.size());
                    if (added) order.push_back(key);
                    it->second[i] = m;
                }
            }
        }
    }

    Table table;
    std::vector<std::string> head = {"ZONE", "POOL", "ADDRESS"};
    for (const ServerView* s : answered) head.push_back(s->control);
    head.push_back("NOTE");
    table.rows.push_back(std::move(head));
    table.first_state = 3;
    table.last_state = 3 + answered.size();
    for (const MemberKey& key : order) {
        const auto& views = members[key];
        std::vector<std::string> row = {std::get<0>(key), std::get<1>(key), std::get<2>(key)};
        std::vector<std::string> states;
        for (const auto& m : views)
            states.push_back(m ? str(*m, "state") : "-");  // not in its file
        const bool differs =
            std::adjacent_find(states.begin(), states.end(), std::not_equal_to<>()) != states.end();
        row.insert(row.end(), states.begin(), states.end());
        std::string note;
        if (differs) {
            ++merged.members_differ;
            // Why the servers that do not have it up say so: the probe runs on each.
            note = "differs";
            for (size_t i = 0; i < views.size(); ++i) {
                if (states[i] == "up") continue;
                std::string why = views[i] ? str(*views[i], "suppressed_reason") : "";
                if (why.empty() && views[i]) why = str(*views[i], "reason");
                if (why.empty() && views[i]) why = str(*views[i], "drained_by");
                if (!views[i]) why = "not in its zone file";
                note.append("; ").append(answered[i]->control).append(": ").append(why);
            }
        }
        row.push_back(std::move(note));
        table.rows.push_back(std::move(row));
    }
    merged.members = order.size();
    merged.text = table.render(color);

    const size_t n = answered.size();
    merged.text += std::to_string(order.size()) +
                   (order.size() == 1 ? " member on " : " members on ") + std::to_string(n) +
                   (n == 1 ? " server: " : " servers: ") +
                   std::to_string(order.size() - merged.members_differ) + " agree, " +
                   std::to_string(merged.members_differ) +
                   (merged.members_differ == 1 ? " differs\n" : " differ\n");
    for (const std::string& apex : zone_order) {
        const auto& versions = zones[apex];
        const bool same = std::adjacent_find(versions.begin(), versions.end(),
                                             std::not_equal_to<>()) == versions.end();
        if (same) {
            merged.text += "zone " + apex + ": " + versions[0] + " on every server\n";
            continue;
        }
        ++merged.zones_differ;
        std::string line = "zone " + apex + " differs:";
        for (size_t i = 0; i < n; ++i) {
            line.append(i == 0 ? " " : ", ").append(answered[i]->control).append(" ");
            line.append(versions[i].empty() ? "not served" : versions[i]);
        }
        merged.text += line + "\n";
    }
    for (const ServerView* s : answered) {
        for (const auto& z : array_of(*s->doc, "zones"))
            for (const auto& e : array_of(z, "errors"))
                merged.text += s->control + ": zone " + str(z, "zone") +
                               ": file rejected, previous version serving: " +
                               (e.is_string() ? e.get<std::string>() : e.dump()) + "\n";
        for (const auto& f : array_of(*s->doc, "rejected_files"))
            merged.text += s->control + ": not served: " + str(f, "file") + "\n";
    }
    for (const ServerView& s : servers)
        if (!s.doc) merged.text += "not answering: " + s.control + ": " + s.error + "\n";
    return merged;
}

bool read_control_file(const std::string& path, std::vector<std::string>& controls,
                       std::string& error) {
    std::string text;
    if (!util::read_file(path, text, error, 1u << 20)) {
        error = path + ": " + error;
        return false;
    }
    std::istringstream in(text);
    std::string line;
    size_t number = 0;
    const size_t before = controls.size();
    while (std::getline(in, line)) {
        ++number;
        if (const size_t hash = line.find('#'); hash != std::string::npos) line.erase(hash);
        const size_t b = line.find_first_not_of(" \t\r");
        if (b == std::string::npos) continue;
        const size_t e = line.find_last_not_of(" \t\r");
        const std::string addr = line.substr(b, e - b + 1);
        util::ListenAddr at;
        std::string why;
        if (!util::parse_listen(addr, at, why)) {
            error = path + ":" + std::to_string(number) + ": " + addr + ": " + why;
            return false;
        }
        controls.push_back(addr);
    }
    if (controls.size() == before) {
        error = path + ": no ADDR:PORT in it";
        return false;
    }
    return true;
}

int run_merged_status(const std::vector<std::string>& controls, const std::string& token_file,
                      std::ostream& out, std::ostream& err, bool color) {
    std::vector<ServerView> views(controls.size());
    std::vector<int> rcs(controls.size(), 0);
    std::vector<std::ostringstream> errs(controls.size());
    {
        // At once: a server that does not answer costs its connect timeout, not one each.
        std::vector<std::thread> threads;
        for (size_t i = 0; i < controls.size(); ++i) {
            threads.emplace_back([&, i] {
                views[i].control = controls[i];
                nlohmann::json doc;
                rcs[i] = control_get("status", controls[i], token_file, "/status", doc, errs[i]);
                if (rcs[i] == 0) views[i].doc = std::move(doc);
            });
        }
        for (std::thread& t : threads) t.join();
    }
    for (size_t i = 0; i < controls.size(); ++i) {
        if (rcs[i] == 2) {  // a bad address or token file: the command line is wrong
            err << errs[i].str();
            return 2;
        }
        if (rcs[i] != 0) {
            err << errs[i].str();
            std::string e = errs[i].str();
            const std::string prefix = "steerdns status: ";
            if (e.rfind(prefix, 0) == 0) e.erase(0, prefix.size());
            while (!e.empty() && e.back() == '\n') e.pop_back();
            views[i].error = e;
        }
    }
    const MergedStatus merged = merge_status(views, color);
    out << merged.text;
    return merged.exit_code();
}

}  // namespace steerdns::cli
