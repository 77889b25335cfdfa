#include "steerdns/control/zone_align.h"

#include <string_view>
#include <unordered_map>

#include "steerdns/zone/drain_set.h"

namespace steerdns::control {

std::string member_address_key(const lb::Member& m) {
    std::string a = zone::canonical_address(m.address_text);
    return a.empty() ? m.address_text : a;
}

std::vector<int32_t> pool_map(const zone::Zone& from, const zone::Zone& to, bool fold_case) {
    std::vector<int32_t> out(from.pools.size(), -1);
    if (&from == &to) {
        for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<int32_t>(i);
        return out;
    }
    const auto key = [fold_case](const lb::Pool& p) {
        return fold_case ? zone::canonical_pool(p.name) : p.name;
    };
    std::unordered_map<std::string, int32_t> at;
    at.reserve(to.pools.size());
    for (size_t i = 0; i < to.pools.size(); ++i)
        at.emplace(key(to.pools[i]), static_cast<int32_t>(i));
    for (size_t i = 0; i < out.size(); ++i)
        if (const auto it = at.find(key(from.pools[i])); it != at.end()) out[i] = it->second;
    return out;
}

std::vector<int32_t> member_map(const lb::Pool& from, const lb::Pool& to) {
    bool same = from.members.size() == to.members.size();
    for (size_t i = 0; same && i < from.members.size(); ++i)
        same = from.members[i].address_text == to.members[i].address_text;
    if (same) return {};
    std::unordered_map<std::string, int32_t> at;
    at.reserve(to.members.size());
    for (size_t i = 0; i < to.members.size(); ++i)
        at.emplace(member_address_key(to.members[i]), static_cast<int32_t>(i));
    std::vector<int32_t> out(from.members.size(), -1);
    for (size_t i = 0; i < from.members.size(); ++i)
        if (const auto it = at.find(member_address_key(from.members[i])); it != at.end())
            out[i] = it->second;
    return out;
}

int32_t zone_index(const std::vector<zone::ZonePtr>& zones, const zone::Zone& z,
                   const std::string& apex) {
    for (size_t i = 0; i < zones.size(); ++i)
        if (zones[i].get() == &z) return static_cast<int32_t>(i);
    for (size_t i = 0; i < zones.size(); ++i)
        if (zones[i]->apex_text() == apex) return static_cast<int32_t>(i);
    return -1;
}

}  // namespace steerdns::control
