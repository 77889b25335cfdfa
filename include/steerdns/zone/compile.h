// ZoneSpec -> Zone: resolves names against the origin, parses record lines with ldns,
// checks DNS-level consistency (names inside the zone, CNAME alone, delegations, pools not
// clashing with records) and renders every record to wire images once.
#pragma once

#include <string>

#include "steerdns/health/registry.h"
#include "steerdns/zone/diagnostic.h"
#include "steerdns/zone/zone.h"
#include "steerdns/zone/zone_spec.h"

namespace steerdns::zone {

struct CompileResult {
    ZonePtr zone;  // null when diags has an error; warnings come with a zone
    Diagnostics diags;
};

// With a registry, every probed member gets its probe slot (the zone holds them until it is
// freed); without one (`steerdns check`, tests) the checks are validated and every member
// is always up.
CompileResult compile_zone(const ZoneSpec& spec, health::ProbeRegistry* probes = nullptr);

// load_zone_file + compile_zone: everything `steerdns check` and a reload do for one file.
CompileResult load_zone(const std::string& path, health::ProbeRegistry* probes = nullptr);

}  // namespace steerdns::zone
