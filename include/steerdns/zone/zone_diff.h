// What an edit changes in a zone (`steerdns check --diff OLD NEW`): names and RRsets added or
// removed, pools whose settings, members or checks changed, and for geo which networks now map
// to another region and which regions' preference lists changed. Computed from the compiled
// zones (what the server would serve), with the check definitions taken from the specs (a zone
// compiled without a probe registry keeps no checks). Everything comes out sorted, so the same
// two versions always give the same text.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "steerdns/lb/geo_map.h"
#include "steerdns/zone/zone.h"
#include "steerdns/zone/zone_spec.h"

namespace steerdns::zone {

enum class Change : uint8_t { added, removed, changed };
const char* change_name(Change c);

// One setting before and after; nullopt where it is absent on that side.
struct FieldChange {
    std::string field;  // "policy", "weight", "check web interval", "country DE", ...
    std::optional<std::string> before;
    std::optional<std::string> after;
};

// An RRset (owner and type) that appeared, went or whose records or TTL changed: the records
// only on one side, as presentation lines ("www.example.test. 300 IN A 192.0.2.1").
struct RRsetChange {
    std::string owner;
    std::string type;
    Change change = Change::changed;
    std::vector<std::string> removed;
    std::vector<std::string> added;
};

struct MemberChange {
    std::string address;  // canonical text (inet_ntop)
    Change change = Change::changed;
    // changed: what differs; added: the new member's settings (before is nullopt).
    std::vector<FieldChange> fields;
};

// A geo pool's preference list for one client region; nullopt on a side where the pool is not
// geo or no rule or default puts clients in that region.
struct RegionListChange {
    std::string region;
    std::optional<std::vector<std::string>> before;
    std::optional<std::vector<std::string>> after;
};

struct PoolChange {
    std::string name;  // as written in the zone file ("www", "@")
    Change change = Change::changed;
    std::vector<FieldChange> fields;  // policy, ttl, answers, fallback, check; added: a summary
    std::vector<MemberChange> members;
    // Definitions of the checks this pool or its members name that changed ("check web
    // interval": "5 s" -> "10 s").
    std::vector<FieldChange> checks;
    std::vector<RegionListChange> regions;
};

// Addresses whose region changed, as a minimal CIDR block.
struct NetChange {
    lb::Cidr net;
    std::string before;
    std::string after;
};

// Labels of addresses that no net rule covers (NetChange::before/after).
inline constexpr const char* kNoGeo = "-";                // the zone has no geo section
inline constexpr const char* kByDatabase = "(database)";  // country and continent rules decide

struct ZoneDiff {
    std::string apex;
    std::vector<std::string> names_added;
    std::vector<std::string> names_removed;
    std::vector<RRsetChange> rrsets;
    std::vector<PoolChange> pools;
    // default region, database, country and continent rules (the rules themselves: which
    // addresses a database puts in a country is not diffed).
    std::vector<FieldChange> geo;
    std::vector<NetChange> nets;  // v4 then v6, ascending

    bool changed() const {
        return !names_added.empty() || !names_removed.empty() || !rrsets.empty() ||
               !pools.empty() || !geo.empty() || !nets.empty();
    }
};

// A compiled zone and the spec it was compiled from.
struct ZoneVersion {
    const ZoneSpec* spec = nullptr;
    const Zone* zone = nullptr;
};

// Both versions must be of the same apex.
ZoneDiff diff_zones(const ZoneVersion& before, const ZoneVersion& after);

// One side of a net-rule diff: the rules, region names by NetRule::region, and the label of an
// address no rule covers (the default region, kByDatabase or kNoGeo).
struct GeoNets {
    std::vector<lb::NetRule> rules;  // valid: no duplicate nets
    std::vector<std::string> region_names;
    std::string uncovered;
};

// Every address (IPv4 and IPv6) whose label differs between the two sides, as the fewest CIDR
// blocks, ascending: the flattened maps are compared range by range, never address by address.
std::vector<NetChange> diff_geo_nets(const GeoNets& before, const GeoNets& after);

}  // namespace steerdns::zone
