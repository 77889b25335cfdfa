// geo: the pool answers from the first region in the client region's preference list that has
// an eligible member, rotating inside it (or drawing by weight when the pool gives weights).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "steerdns/lb/candidates.h"
#include "steerdns/lb/geo_rules.h"
#include "steerdns/lb/geoip.h"
#include "steerdns/lb/region_preferences.h"
#include "steerdns/lb/rng.h"

namespace steerdns::lb {

// The zone's geo section as the query path needs it: the rules, and the database they consult
// for country and continent rules. Built at load, shared by every geo pool of the zone.
struct GeoConfig {
    GeoRules rules;
    std::shared_ptr<const GeoIp> database;  // null: net rules and the default only
    std::vector<std::string> region_names;  // by region id, for the decision trace and logs
};

// `where`: resolve_region()'s answer; its scope becomes out.ecs_scope. `rotation`: the
// pool's shared rotation counter value, used when every weight is 1. Members in no region, in
// a region absent from the list, or of weight 0 when the pool is weighted, never answer.
// A client region out of range (the rules give no default) answers from every eligible member.
// Nothing eligible in any listed region: out.count = 0 (the caller decides whether to fail
// open). Every member up: O(answers) from the region slices built at load; else one pass over
// the eligible members to find the region, and one to take from it.
void select_geo(const Candidates& candidates, const RegionPreferences& preferences, GeoMatch where,
                uint32_t answers, uint64_t rotation, Rng& rng, Selection& out);

}  // namespace steerdns::lb
