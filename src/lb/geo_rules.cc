#include "steerdns/lb/geo_rules.h"

#include <algorithm>

namespace steerdns::lb {

const char* geo_source_name(GeoSource s) {
    switch (s) {
        case GeoSource::none:
            return "none";
        case GeoSource::net:
            return "net";
        case GeoSource::country:
            return "country";
        case GeoSource::continent:
            return "continent";
        case GeoSource::fallback_default:
            return "default";
    }
    return "none";
}

bool GeoRules::code_index(const char* code, size_t length, size_t& index) {
    if (length != 2) return false;
    size_t letters[2];
    for (size_t i = 0; i < 2; ++i) {
        const char c = code[i];
        if (c >= 'A' && c <= 'Z')
            letters[i] = static_cast<size_t>(c - 'A');
        else if (c >= 'a' && c <= 'z')
            letters[i] = static_cast<size_t>(c - 'a');
        else
            return false;
    }
    index = letters[0] * 26 + letters[1];
    return true;
}

bool GeoRules::add_country(std::string_view code, uint16_t region) {
    size_t i = 0;
    if (!code_index(code.data(), code.size(), i)) return false;
    country_region_[i] = region;
    ++location_rules_;
    return true;
}

bool GeoRules::add_continent(std::string_view code, uint16_t region) {
    size_t i = 0;
    if (!code_index(code.data(), code.size(), i)) return false;
    continent_region_[i] = region;
    ++location_rules_;
    return true;
}

GeoMatch GeoRules::decide(const ClientNet& client, const NetMatch& net,
                          const GeoLocation* located) const {
    if (net.region != kNoRegion)
        return {net.region, std::min(net.scope, client.prefix), GeoSource::net};
    if (located != nullptr) {
        const uint8_t scope = std::min(std::max(located->prefix, net.scope), client.prefix);
        size_t i = 0;
        if (code_index(located->country, 2, i) && country_region_[i] != kNoRegion)
            return {country_region_[i], scope, GeoSource::country};
        if (code_index(located->continent, 2, i) && continent_region_[i] != kNoRegion)
            return {continent_region_[i], scope, GeoSource::continent};
    }
    // The default answer holds for exactly what the client told us: its source prefix.
    return {default_region, client.prefix,
            default_region == kNoRegion ? GeoSource::none : GeoSource::fallback_default};
}

}  // namespace steerdns::lb
