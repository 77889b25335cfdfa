// Which region a client belongs to: net rules first (longest prefix), then the country, then
// the continent a MaxMind database gives for the address, else the default region; and the
// ECS scope that answer is valid for.
#pragma once

#include <array>
#include <concepts>
#include <cstdint>
#include <string_view>

#include "steerdns/lb/candidates.h"
#include "steerdns/lb/client_net.h"
#include "steerdns/lb/geo_map.h"

namespace steerdns::lb {

// What a geolocation database says about an address (see GeoIp).
struct GeoLocation {
    char country[2] = {};    // ISO 3166-1 alpha-2 ("US"); zeros when the entry has none
    char continent[2] = {};  // "AF" "AN" "AS" "EU" "NA" "OC" "SA"; zeros when none
    uint8_t prefix = 0;      // length of the database network holding the address, in the
                             // address's own family (0-32 for IPv4)
};

// Which rule placed the client, for the decision trace (`_why`) and the query log.
enum class GeoSource : uint8_t { none, net, country, continent, fallback_default };

const char* geo_source_name(GeoSource s);

struct GeoMatch {
    uint16_t region = kNoRegion;
    uint8_t scope = 0;  // ECS SCOPE PREFIX-LENGTH of the answer
    GeoSource source = GeoSource::none;
};

class GeoRules {
  public:
    GeoMap nets;
    uint16_t default_region = kNoRegion;

    // Two ASCII letters, either case; false for anything else. A later call for the same code
    // wins (the loader reports duplicates).
    bool add_country(std::string_view code, uint16_t region);
    bool add_continent(std::string_view code, uint16_t region);

    bool has_location_rules() const { return location_rules_ > 0; }

    // The decision once the net rules have been asked (`net`) and, when they missed and a
    // database exists, the database (`located`, null when there is no database or no entry):
    // - net rule:           its region, scope = net.scope
    // - country/continent:  scope = the database network's prefix (at least net.scope, so it
    //                       never covers a net rule)
    // - default:            scope = the client's source prefix
    // and never a scope longer than the client's source prefix.
    GeoMatch decide(const ClientNet& client, const NetMatch& net, const GeoLocation* located) const;

  private:
    // Two letters A-Z index a 26 x 26 table: one load per lookup, no hashing, 1.3 KB each.
    static constexpr size_t kCodes = 26 * 26;
    std::array<uint16_t, kCodes> country_region_ = filled();
    std::array<uint16_t, kCodes> continent_region_ = filled();
    size_t location_rules_ = 0;

    static constexpr std::array<uint16_t, kCodes> filled() {
        std::array<uint16_t, kCodes> a{};
        a.fill(kNoRegion);
        return a;
    }
    static bool code_index(const char* code, size_t length, size_t& index);
};

// A database as resolve_region() needs it; GeoIp is one, tests use fakes.
template <class T>
concept GeoDatabase = requires(const T& db, uint8_t family, const uint8_t* address,
                               GeoLocation& out) {
    { db.lookup(family, address, out) } -> std::same_as<bool>;
};

// The client's region and scope. `db` may be null (no database: net rules and default only);
// it is only asked when no net rule matched. A template rather than a GeoIp parameter so the
// rules stay testable, and linkable, without libmaxminddb.
template <GeoDatabase Database>
GeoMatch resolve_region(const GeoRules& rules, const ClientNet& client, const Database* db) {
    const NetMatch net = rules.nets.lookup(client.family, client.address);
    if (net.region != kNoRegion || db == nullptr || !rules.has_location_rules())
        return rules.decide(client, net, nullptr);
    GeoLocation located;
    const bool found = db->lookup(client.family, client.address, located);
    return rules.decide(client, net, found ? &located : nullptr);
}

}  // namespace steerdns::lb
