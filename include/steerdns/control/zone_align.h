// Where a pool or member of one zone version is in another: the control thread's side tables
// (response totals, when each member's state began) are kept by position in the zones serving
// and moved by these maps at each publish, instead of being keyed by name strings.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "steerdns/zone/zone.h"

namespace steerdns::control {

// The key a member is known by across versions: its canonical address (the text as written
// when it has none, which compile does not let through).
std::string member_address_key(const lb::Member& m);

// Per pool of `from`, its index in `to` (-1: none), by name; `fold_case`: as
// zone::canonical_pool compares them. Identity for the same zone object.
std::vector<int32_t> pool_map(const zone::Zone& from, const zone::Zone& to, bool fold_case);

// Per member of `from`, its index in `to` (-1: none), by member_address_key. Empty when the
// two list the same addresses in the same order (the usual reload).
std::vector<int32_t> member_map(const lb::Pool& from, const lb::Pool& to);

// The index in `zones` of the zone `z` (the same object first, then by `apex`, its
// apex_text()), or -1.
int32_t zone_index(const std::vector<zone::ZonePtr>& zones, const zone::Zone& z,
                   const std::string& apex);

}  // namespace steerdns::control
