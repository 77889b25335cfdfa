#include "steerdns/cli/check.h"

#include <map>

#include "steerdns/server/zone_dir.h"
#include "steerdns/zone/compile.h"
#include "steerdns/zone/failover.h"

namespace steerdns::cli {

int run_check(const std::vector<std::string>& paths, std::ostream& out, std::ostream& err) {
    int problems = 0;
    size_t warnings = 0;
    std::map<std::string, std::string> apex_file;
    for (const std::string& p : paths) {
        std::string error;
        const std::vector<std::string> files = server::zone_files(p, error);
        if (!error.empty()) {
            err << error << "\n";
            ++problems;
            continue;
        }
        if (files.empty()) {
            err << p << ": no *.json zone files\n";
            ++problems;
        }
        for (const std::string& f : files) {
            // load_zone() in two steps: the spec is kept for the per-pool failover lines.
            zone::LoadResult loaded = zone::load_zone_file(f);
            zone::CompileResult r;
            if (loaded.ok()) {
                r = zone::compile_zone(loaded.spec);
            } else {
                r.diags = std::move(loaded.diags);
            }
            for (const zone::Diagnostic& d : r.diags) err << d.to_string() << "\n";
            // Warnings do not fail; errors and broken failover budgets do.
            const size_t failing = zone::check_problem_count(r.diags);
            problems += static_cast<int>(failing);
            warnings += r.diags.size() - failing;
            if (!r.zone) continue;
            const std::string apex = r.zone->apex_text();
            auto [it, fresh] = apex_file.emplace(apex, f);
            if (!fresh) {
                err << f << ": zone " << apex << " is also defined in " << it->second << "\n";
                ++problems;
                continue;
            }
            out << f << ": ok: zone " << apex << " serial " << r.zone->serial << ", "
                << r.zone->pools.size() << (r.zone->pools.size() == 1 ? " pool, " : " pools, ")
                << r.zone->member_count()
                << (r.zone->member_count() == 1 ? " member, " : " members, ")
                << r.zone->nodes.size() << " names\n";
            for (const zone::PoolSpec& pool : loaded.spec.pools)
                out << "  " << zone::failover_summary(pool, zone::failover_times(loaded.spec, pool))
                    << "\n";
        }
    }
    if (problems > 0) err << problems << (problems == 1 ? " problem" : " problems");
    if (problems > 0 && warnings > 0) err << ", ";
    if (warnings > 0) err << warnings << (warnings == 1 ? " warning" : " warnings");
    if (problems > 0 || warnings > 0) err << "\n";
    return problems == 0 ? 0 : 1;
}

}  // namespace steerdns::cli
