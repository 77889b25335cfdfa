#include "steerdns/zone/limits.h"

#include <optional>
#include <string>

namespace steerdns::zone {
namespace {

ZoneLimits g_limits;

Diagnostic over(const ZoneSpec& spec, const SourcePos& at, size_t count, const char* what,
                size_t limit, const char* flag) {
    Diagnostic d;
    d.file = spec.file;
    d.pos = at;
    d.message = std::to_string(count);
    d.message += ' ';
    d.message += what;
    d.message += ", more than the limit of ";
    d.message += std::to_string(limit);
    d.message += " (";
    d.message += flag;
    d.message += ')';
    return d;
}

}  // namespace

const ZoneLimits& zone_limits() {
    return g_limits;
}

void set_zone_limits(const ZoneLimits& limits) {
    g_limits = limits;
}

Diagnostics check_zone_limits(const ZoneSpec& spec, const ZoneLimits& limits) {
    Diagnostics out;
    if (spec.records.size() > limits.max_records) {
        out.push_back(over(spec, spec.records[limits.max_records].pos, spec.records.size(),
                           "records", limits.max_records, "--max-zone-records"));
    }
    if (spec.pools.size() > limits.max_pools) {
        out.push_back(over(spec, spec.pools[limits.max_pools].name.pos, spec.pools.size(), "pools",
                           limits.max_pools, "--max-zone-pools"));
    }
    size_t members = 0;
    std::optional<SourcePos> first_over;
    for (const PoolSpec& p : spec.pools) {
        for (const MemberSpec& m : p.members) {
            if (++members == limits.max_members + 1) first_over = member_pos(p, m);
        }
    }
    if (first_over) {
        out.push_back(over(spec, *first_over, members, "members in the zone", limits.max_members,
                           "--max-zone-members"));
    }
    return out;
}

}  // namespace steerdns::zone
