#include "steerdns/cli/diff.h"

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "steerdns/lb/geo_map.h"
#include "steerdns/server/zone_dir.h"
#include "steerdns/zone/compile.h"
#include "steerdns/zone/zone_diff.h"

namespace steerdns::cli {

namespace {

// One zone of one side: the spec stays beside the compiled zone (the diff reads its checks).
struct Version {
    std::string file;
    zone::ZoneSpec spec;
    zone::ZonePtr zone;
};

using Side = std::map<std::string, Version>;  // by apex, so zones come out sorted

// The directory a zone read from a pipe takes its relative "database" from: the other side's
// (its directory, or the directory of its file). A zone file looks for the database beside
// itself, but beside /dev/fd/63 there is none; `<(git show HEAD:zones/x.json) zones/x.json`
// means the database of zones/.
std::filesystem::path pipe_base(const std::string& other) {
    std::error_code ec;
    if (std::filesystem::is_directory(other, ec)) return other;
    return std::filesystem::path(other).parent_path();
}

bool is_regular_file(const std::string& path) {
    std::error_code ec;
    return std::filesystem::is_regular_file(path, ec);
}

// Loads every zone of `path` into `side`; returns the number of problems printed to `err`.
// A pipe (`<(git show ...)`, /dev/stdin) is read exactly once, whatever its name.
int load_side(const std::string& path, const std::string& other, Side& side, std::ostream& err) {
    std::string error;
    const std::vector<std::string> files = server::zone_files(path, error);
    if (!error.empty()) {
        err << error << "\n";
        return 1;
    }
    if (files.empty()) {
        err << path << ": no *.json zone files\n";
        return 1;
    }
    int problems = 0;
    for (const std::string& f : files) {
        zone::LoadResult loaded = zone::load_zone_file(f);
        zone::CompileResult compiled;
        if (loaded.ok()) {
            // The database is opened from where the pipe's zone means it; the diff compares
            // the text as written.
            std::string* db = loaded.spec.geo && loaded.spec.geo->database && !is_regular_file(f)
                                  ? &loaded.spec.geo->database->text
                                  : nullptr;
            const std::string written = db != nullptr ? *db : std::string();
            std::error_code ec;
            if (db != nullptr && std::filesystem::path(written).is_relative())
                *db = std::filesystem::absolute(pipe_base(other) / written, ec).string();
            compiled = zone::compile_zone(loaded.spec);
            if (db != nullptr) *db = written;
        }
        // Errors only: warnings do not stop a diff, and `steerdns check` prints them.
        for (const zone::Diagnostic& d : loaded.ok() ? compiled.diags : loaded.diags)
            if (d.is_error()) err << d.to_string() << "\n";
        if (!loaded.ok() || !compiled.zone) {
            problems += static_cast<int>(std::max<size_t>(
                1, zone::error_count(loaded.ok() ? compiled.diags : loaded.diags)));
            continue;
        }
        const std::string apex = compiled.zone->apex_text();
        if (const auto it = side.find(apex); it != side.end()) {
            err << f << ": zone " << apex << " is also defined in " << it->second.file << "\n";
            ++problems;
            continue;
        }
        side.emplace(apex, Version{f, std::move(loaded.spec), std::move(compiled.zone)});
    }
    return problems;
}

std::string text_or_dash(const std::optional<std::string>& s) {
    return s ? *s : std::string(zone::kNoGeo);
}

std::string list_text(const std::optional<std::vector<std::string>>& list) {
    if (!list) return zone::kNoGeo;
    std::string out;
    for (const std::string& r : *list) out += (out.empty() ? "" : ", ") + r;
    return out;
}

// "weight 1 -> 3, region us -> eu"
std::string fields_text(const std::vector<zone::FieldChange>& fields) {
    std::string out;
    for (const zone::FieldChange& f : fields) {
        if (!out.empty()) out += ", ";
        out += f.field + " " + text_or_dash(f.before) + " -> " + text_or_dash(f.after);
    }
    return out;
}

// "weight 1, priority 0": the settings of something added.
std::string settings_text(const std::vector<zone::FieldChange>& fields) {
    std::string out;
    for (const zone::FieldChange& f : fields) {
        if (!out.empty()) out += ", ";
        out += f.field + " " + text_or_dash(f.after);
    }
    return out;
}

void print_text(const zone::ZoneDiff& d, std::ostream& out) {
    out << "zone " << d.apex << ": " << (d.changed() ? "changed" : "unchanged") << "\n";
    for (const std::string& n : d.names_added) out << "  name added: " << n << "\n";
    for (const std::string& n : d.names_removed) out << "  name removed: " << n << "\n";
    for (const zone::RRsetChange& r : d.rrsets) {
        out << "  rrset " << zone::change_name(r.change) << ": " << r.owner << " " << r.type
            << "\n";
        for (const std::string& l : r.removed) out << "    - " << l << "\n";
        for (const std::string& l : r.added) out << "    + " << l << "\n";
    }
    for (const zone::PoolChange& p : d.pools) {
        out << "  pool " << p.name << ": " << zone::change_name(p.change);
        if (p.change == zone::Change::added) out << " (" << settings_text(p.fields) << ")";
        out << "\n";
        if (p.change != zone::Change::changed) continue;
        for (const zone::FieldChange& f : p.fields)
            out << "    " << f.field << ": " << text_or_dash(f.before) << " -> "
                << text_or_dash(f.after) << "\n";
        for (const zone::MemberChange& m : p.members) {
            out << "    member " << m.address << ": ";
            if (m.change == zone::Change::changed) {
                out << fields_text(m.fields) << "\n";
                continue;
            }
            out << zone::change_name(m.change);
            if (m.change == zone::Change::added) out << " (" << settings_text(m.fields) << ")";
            out << "\n";
        }
        for (const zone::FieldChange& f : p.checks)
            out << "    " << f.field << ": " << text_or_dash(f.before) << " -> "
                << text_or_dash(f.after) << "\n";
        for (const zone::RegionListChange& r : p.regions)
            out << "    region " << r.region << ": " << list_text(r.before) << " -> "
                << list_text(r.after) << "\n";
    }
    for (const zone::FieldChange& f : d.geo)
        out << "  geo " << f.field << ": " << text_or_dash(f.before) << " -> "
            << text_or_dash(f.after) << "\n";
    for (const zone::NetChange& n : d.nets)
        out << "  net " << lb::to_string(n.net) << ": " << n.before << " -> " << n.after << "\n";
}

nlohmann::json opt_json(const std::optional<std::string>& s) {
    return s ? nlohmann::json(*s) : nlohmann::json(nullptr);
}

nlohmann::json fields_json(const std::vector<zone::FieldChange>& fields) {
    nlohmann::json a = nlohmann::json::array();
    for (const zone::FieldChange& f : fields)
        a.push_back({{"field", f.field}, {"old", opt_json(f.before)}, {"new", opt_json(f.after)}});
    return a;
}

nlohmann::json diff_json(const zone::ZoneDiff& d) {
    nlohmann::json z;
    z["names_added"] = d.names_added;
    z["names_removed"] = d.names_removed;
    nlohmann::json rrsets = nlohmann::json::array();
    for (const zone::RRsetChange& r : d.rrsets)
        rrsets.push_back({{"name", r.owner},
                          {"type", r.type},
                          {"change", zone::change_name(r.change)},
                          {"removed", r.removed},
                          {"added", r.added}});
    z["rrsets"] = std::move(rrsets);
    nlohmann::json pools = nlohmann::json::array();
    for (const zone::PoolChange& p : d.pools) {
        nlohmann::json members = nlohmann::json::array();
        for (const zone::MemberChange& m : p.members)
            members.push_back({{"address", m.address},
                               {"change", zone::change_name(m.change)},
                               {"fields", fields_json(m.fields)}});
        nlohmann::json regions = nlohmann::json::array();
        for (const zone::RegionListChange& r : p.regions) {
            auto list = [](const std::optional<std::vector<std::string>>& l) {
                return l ? nlohmann::json(*l) : nlohmann::json(nullptr);
            };
            regions.push_back(
                {{"region", r.region}, {"old", list(r.before)}, {"new", list(r.after)}});
        }
        pools.push_back({{"name", p.name},
                         {"change", zone::change_name(p.change)},
                         {"fields", fields_json(p.fields)},
                         {"members", std::move(members)},
                         {"checks", fields_json(p.checks)},
                         {"regions", std::move(regions)}});
    }
    z["pools"] = std::move(pools);
    z["geo"] = fields_json(d.geo);
    nlohmann::json nets = nlohmann::json::array();
    for (const zone::NetChange& n : d.nets)
        nets.push_back({{"net", lb::to_string(n.net)}, {"old", n.before}, {"new", n.after}});
    z["nets"] = std::move(nets);
    return z;
}

}  // namespace

int run_diff(const std::string& before, const std::string& after, bool json, std::ostream& out,
             std::ostream& err) {
    Side old_side;
    Side new_side;
    // Both sides are read, so every problem of both is reported in one run.
    const int problems =
        load_side(before, after, old_side, err) + load_side(after, before, new_side, err);
    if (problems > 0) {
        err << problems << (problems == 1 ? " problem" : " problems") << "\n";
        return 1;
    }
    std::map<std::string, std::pair<const Version*, const Version*>> zones;
    for (const auto& [apex, v] : old_side) zones[apex].first = &v;
    for (const auto& [apex, v] : new_side) zones[apex].second = &v;

    nlohmann::json doc = {{"zones", nlohmann::json::array()}};
    size_t changed = 0;
    size_t added = 0;
    size_t removed = 0;
    size_t unchanged = 0;
    for (const auto& [apex, pair] : zones) {
        const auto [a, b] = pair;
        nlohmann::json z = {{"zone", apex},
                            {"old_file", a ? nlohmann::json(a->file) : nlohmann::json(nullptr)},
                            {"new_file", b ? nlohmann::json(b->file) : nlohmann::json(nullptr)}};
        if (a == nullptr || b == nullptr) {
            ++(a == nullptr ? added : removed);
            z["change"] = a == nullptr ? "added" : "removed";
            if (!json) {
                out << "zone " << apex << ": " << (a == nullptr ? "added" : "removed");
                const zone::Zone& only = *(a == nullptr ? b : a)->zone;
                out << " (" << only.pools.size()
                    << (only.pools.size() == 1 ? " pool, " : " pools, ") << only.nodes.size()
                    << (only.nodes.size() == 1 ? " name)\n" : " names)\n");
            }
            doc["zones"].push_back(std::move(z));
            continue;
        }
        const zone::ZoneDiff d =
            zone::diff_zones({&a->spec, a->zone.get()}, {&b->spec, b->zone.get()});
        ++(d.changed() ? changed : unchanged);
        z["change"] = d.changed() ? "changed" : "unchanged";
        z.update(diff_json(d));
        if (!json) print_text(d, out);
        doc["zones"].push_back(std::move(z));
    }
    doc["changed"] = changed + added + removed > 0;
    if (json) {
        out << doc.dump(2) << "\n";
    } else {
        out << changed << (changed == 1 ? " zone" : " zones") << " changed, " << added << " added, "
            << removed << " removed, " << unchanged << " unchanged\n";
    }
    return 0;
}

}  // namespace steerdns::cli
