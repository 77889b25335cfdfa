// A zone compiled with probes, so member states come from a real HealthTable the test sets.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "steerdns/answer/snapshot.h"
#include "steerdns/health/registry.h"
#include "steerdns/zone/compile.h"
#include "steerdns/zone/zone_spec.h"

namespace steerdns::test {

// Fails the test on any diagnostic, warnings included unless `warnings_ok`.
struct ProbedZone {
    health::ProbeRegistry registry{64};
    zone::ZonePtr zone;
    std::unique_ptr<Snapshot> snap;

    explicit ProbedZone(const std::string& json, bool warnings_ok = false) {
        const zone::LoadResult loaded = zone::parse_zone_json(json, "z.json");
        REQUIRE_MESSAGE(loaded.ok(), json);
        zone::CompileResult r = zone::compile_zone(loaded.spec, &registry);
        for (const zone::Diagnostic& d : r.diags) MESSAGE(d.to_string());
        if (warnings_ok)
            REQUIRE(r.zone);
        else
            REQUIRE(r.diags.empty());
        zone = r.zone;
        snap = std::make_unique<Snapshot>(std::vector<zone::ZonePtr>{zone}, 1, registry.table(), 1);
    }
    const lb::Pool& pool(const std::string& name) const {
        for (const lb::Pool& p : zone->pools)
            if (p.name == name) return p;
        FAIL("no pool " << name);
        throw 0;
    }
    void set(const std::string& pool_name, size_t member, health::State s) {
        registry.states().set(pool(pool_name).members[member].probe_slot, s);
    }
};

}  // namespace steerdns::test
