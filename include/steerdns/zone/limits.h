// How big one zone may be. A zone file is read whole, parsed to a DOM and compiled, each step
// costing a multiple of its size: these caps keep one mistaken (or hostile) file from
// exhausting memory. Over a cap the file is rejected with a located error and the previous
// good version of the zone keeps serving. The defaults leave room for 100 000 pools and a
// million members in one zone, ten times what the README promises.
#pragma once

#include <cstddef>
#include <cstdint>

#include "steerdns/zone/diagnostic.h"
#include "steerdns/zone/zone_spec.h"

namespace steerdns::zone {

struct ZoneLimits {
    uint64_t max_file_bytes = 64ull << 20;  // --max-zone-file-size
    size_t max_records = 1000000;           // --max-zone-records: lines in "records"
    size_t max_pools = 100000;              // --max-zone-pools
    size_t max_members = 1000000;           // --max-zone-members: all pools together
};

// The limits every load uses, set once at start (before any zone is read).
const ZoneLimits& zone_limits();
void set_zone_limits(const ZoneLimits& limits);

// One problem per cap exceeded, located at the first item beyond it:
// FILE:LINE:COL: records[1000000]: 1000001 records, more than the limit of 1000000 ...
Diagnostics check_zone_limits(const ZoneSpec& spec, const ZoneLimits& limits);

}  // namespace steerdns::zone
