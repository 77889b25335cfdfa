// A zone file as plain data: what the operator wrote, checked for JSON shape, types and
// ranges, with the position of every value kept for later messages. No DNS logic here:
// compile.h turns a ZoneSpec into wire images and reports DNS-level problems (names outside
// the zone, CNAME beside other data, ...) at these positions.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "steerdns/health/check.h"
#include "steerdns/lb/pool.h"
#include "steerdns/zone/diagnostic.h"

namespace steerdns::zone {

struct SoaSpec {
    Located mname;  // relative to the zone unless it ends in "."
    Located rname;
    uint32_t serial = 0;
    uint32_t refresh = 3600;
    uint32_t retry = 600;
    uint32_t expire = 1209600;
    uint32_t minimum = 60;
    SourcePos pos;  // of the "soa" object
};

// "check": one check's name, or a list of names with "require" (a composite check: up when
// that many of its parts are up).
struct CheckRef {
    std::vector<Located> names;  // one for the string form
    bool list = false;           // written as a list
    uint32_t require = 0;        // parts that must be up; 0 = all of them
    std::optional<SourcePos> require_pos;
    SourcePos pos;  // of the "check" value

    bool composite() const { return names.size() > 1; }
    // How many parts must be up, "all" resolved.
    uint32_t required() const {
        return require == 0 ? static_cast<uint32_t>(names.size()) : require;
    }
    // "web", or "web+api" for a composite: how logs and diffs name it.
    std::string text() const;
};

// What most members leave out. A MemberSpec holds these only when it has one of them: the
// spec of a zone of 100 000 plain members is then ~30 MB smaller while it is parsed and
// compiled (issue 17: the parse was the peak of a reload).
struct MemberExtras {
    std::optional<Located> region;
    std::optional<CheckRef> check;
    std::optional<Located> probe_address;
    // Replaces the damping of the member's check (the probe is then the member's own).
    std::optional<health::DampingDef> damping;
    SourcePos damping_pos;  // of the "damping" key, when given

    bool empty() const { return !region && !check && !probe_address && !damping; }
};

// Where a member's own values were written, without the json.path of a SourcePos: 100 000
// members' positions were 14 MB of the reload's peak. member_pos() and address_pos() make
// the SourcePos of a message.
struct LineCol {
    uint32_t line = 0;
    uint32_t col = 0;
};

struct MemberAddress {
    std::string text;  // IPv4 or IPv6 literal, syntax checked by the loader
    LineCol pos;
};

// ~100 bytes for a member that only has an address and a weight.
struct MemberSpec {
    MemberAddress address;
    bool enabled = true;
    bool drained = false;         // disabled by POST /drain rather than by the file
    bool in_maintenance = false;  // disabled because one of `maintenance` is on now
    uint32_t index = 0;           // in the file's "members" list
    std::vector<lb::MaintenanceWindow> maintenance;
    uint32_t weight = 1;
    int32_t priority = 0;
    LineCol pos;  // of the member object

    MemberSpec() = default;
    MemberSpec(MemberSpec&&) noexcept = default;
    MemberSpec& operator=(MemberSpec&&) noexcept = default;
    MemberSpec(const MemberSpec& o);
    MemberSpec& operator=(const MemberSpec& o);

    const std::optional<Located>& region() const { return extras().region; }
    const std::optional<CheckRef>& check() const { return extras().check; }
    const std::optional<Located>& probe_address() const { return extras().probe_address; }
    const std::optional<health::DampingDef>& damping() const { return extras().damping; }
    const SourcePos& damping_pos() const { return extras().damping_pos; }

    const MemberExtras& extras() const;
    // Keeps `extras` only if it holds something.
    void set_extras(MemberExtras extras);

  private:
    std::unique_ptr<MemberExtras> extras_;  // null: all absent
};

// One entry of a geo pool's "regions": the client region (the key) and the member regions to
// answer from, in order.
struct RegionListSpec {
    Located client;
    std::vector<Located> regions;
};

// "failover_budget": the most seconds the operator accepts between a member dying and
// resolvers having forgotten it (failover.h computes the worst case and compares).
struct BudgetSpec {
    uint32_t ms = 0;
    SourcePos pos;  // of the value
};

struct PoolSpec {
    Located name;  // the key under "pools", relative like any owner name
    Located policy{"round-robin", {}};
    std::optional<uint32_t> ttl;  // defaults to the zone ttl
    // TTL while degraded (lb::Pool::ttl_degraded); defaults to the pool's ttl, i.e. off.
    std::optional<uint32_t> ttl_degraded;
    SourcePos ttl_degraded_pos;  // of the value, when given
    // "failback": "immediate" (absent), {"delay": S} or "manual" (health/failback.h); compile
    // gives it to each probed member's probe.
    std::optional<health::FailbackDef> failback;
    SourcePos failback_pos;           // of the value, when given
    std::optional<uint32_t> answers;  // defaults to all members of the queried family
    std::optional<CheckRef> check;
    std::optional<Located> fallback;
    std::optional<BudgetSpec> failover_budget;  // overrides the zone's
    std::vector<RegionListSpec> regions;        // in file order
    std::optional<SourcePos> regions_pos;       // of the "regions" key, when given
    std::vector<MemberSpec> members;
    SourcePos pos;  // of the pool object
};

// Where a member of `pool` (or its address) was written, with its json.path
// (`pools.www.members[2]`, `pools.www.members[2].address`).
SourcePos member_pos(const PoolSpec& pool, const MemberSpec& member);
SourcePos address_pos(const PoolSpec& pool, const MemberSpec& member);

// One rule of the "geo" section: exactly one of net, country and continent (the loader checks
// their syntax), and the region it puts clients in.
struct GeoRuleSpec {
    std::optional<Located> net;        // "198.51.100.0/24"
    std::optional<Located> country;    // ISO 3166-1 alpha-2, capitals
    std::optional<Located> continent;  // AF AN AS EU NA OC SA
    Located region;
    SourcePos pos;  // of the rule object
};

// The top-level "geo" section: where clients are, for geo pools.
struct GeoSpec {
    std::optional<Located> database;  // a MaxMind .mmdb, relative to the zone file's directory
    std::vector<GeoRuleSpec> rules;
    Located default_region;
    SourcePos pos;  // of the "geo" object
};

// One entry of the top-level "checks" object: a named probe definition, validated and with
// its defaults filled in by the loader. Pools and members refer to it by name.
struct CheckSpec {
    Located name;  // the key under "checks"
    health::CheckDef def;
    SourcePos pos;  // of the check object
};

// "dnssec": sign the zone (README "DNSSEC"). The keys are read and checked by compile.
struct DnssecSpec {
    Located keys;  // a directory of BIND-format keys, relative to the zone file
    uint32_t signature_validity = 1209600;  // seconds an RRSIG is valid from now (14 days)
    SourcePos pos;                          // of the "dnssec" object
};

struct ZoneSpec {
    std::string file;  // as given to the loader, used in every Diagnostic
    Located origin;    // "zone": absolute, trailing "." added if missing
    uint32_t ttl = 3600;
    SoaSpec soa;
    std::vector<Located> ns;
    std::vector<Located> records;   // presentation-format lines, parsed by compile with ldns
    std::vector<CheckSpec> checks;  // in file order
    std::optional<GeoSpec> geo;
    std::optional<BudgetSpec> failover_budget;  // for every pool with a check
    std::vector<PoolSpec> pools;                // in file order
    // "notify": the program run on each member state change (argv, placeholders as written;
    // control/notify.h substitutes them). Empty: none.
    std::vector<std::string> notify;
    std::optional<DnssecSpec> dnssec;  // absent: the zone is unsigned, as before
    // SHA-256 of the file's text (file_hash.h), carried into the compiled Zone.
    std::string text_sha256;
};

// The placeholders of "notify" arguments, in documentation order.
inline constexpr std::string_view kNotifyPlaceholders[] = {"{zone}", "{pool}", "{address}",
                                                           "{state}", "{reason}"};

// Parses and shape-checks one zone file's text. On success `diags` has no errors. Every problem
// is reported (not only the first); a JSON syntax error stops parsing.
struct LoadResult {
    ZoneSpec spec;
    Diagnostics diags;
    bool ok() const { return !has_errors(diags); }
};

LoadResult parse_zone_json(std::string_view text, const std::string& file);

// Reads `path` and calls parse_zone_json; an unreadable file is one Diagnostic.
// With `text`, the file's bytes are handed back too (a drain recompiles from them later).
LoadResult load_zone_file(const std::string& path, std::string* text = nullptr);

}  // namespace steerdns::zone
