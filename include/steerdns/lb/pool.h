// A balanced name: members (backend addresses) and the policy that picks among them.
// Member records are pre-rendered so an answer copies bytes; only the choice is per query.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "steerdns/dns/rr_type.h"
#include "steerdns/dns/wire.h"
#include "steerdns/lb/member_table.h"
#include "steerdns/lb/region_preferences.h"

namespace steerdns::lb {

struct GeoConfig;  // policy_geo.h

enum class Policy : uint8_t { round_robin, weighted, failover, hash, geo, all };

const char* policy_name(Policy p);
bool parse_policy(std::string_view text, Policy& out);

// Largest `answers` a pool may ask for; also the size of Selection's explicit list.
inline constexpr size_t kMaxAnswers = 64;

// A member's pre-rendered record: TYPE CLASS TTL RDLENGTH, then the 4 or 16 address bytes.
inline constexpr uint8_t kImageSizeA = dns::kRrFixedSize + 4;
inline constexpr uint8_t kImageSizeAAAA = dns::kRrFixedSize + 16;

// A maintenance window, [start, end) in ms since the epoch: the member is drained inside it.
struct MaintenanceWindow {
    int64_t start_unix_ms = 0;
    int64_t end_unix_ms = 0;
    bool contains(int64_t t) const { return start_unix_ms <= t && t < end_unix_ms; }
    bool operator==(const MaintenanceWindow&) const = default;
};

// One part of a composite check: the check's name and its probe slot.
struct CheckPart {
    std::string name;
    uint32_t slot = UINT32_MAX;
};

struct Member {
    uint8_t family = 4;        // 4 or 6
    uint8_t address[16] = {};  // network order; 4 bytes used for IPv4
    std::string address_text;
    bool enabled = true;
    bool drained = false;         // disabled through the control API (POST /drain), not the file
    bool in_maintenance = false;  // disabled because a maintenance window is on
    // The zone file's maintenance windows: the server recompiles the zone when one begins or
    // ends.
    std::vector<MaintenanceWindow> maintenance;
    uint32_t weight = 1;
    int32_t priority = 0;
    uint32_t probe_slot = UINT32_MAX;  // health::kNoProbe: no check, always up
    std::string region;                // as written ("" = none), for status
    // A composite check ("check": [...]): probe_slot is then the derived slot the monitor
    // recomputes from these parts, for status and traces; the query path reads only probe_slot.
    std::vector<CheckPart> check_parts;
    uint32_t check_require = 0;  // parts that must be up (1..check_parts.size())
};

// What a pool answers when none of its members of the queried family is up.
enum class Fallback : uint8_t {
    all,   // every enabled member, as if all were up (fail open, as Route 53 does)
    none,  // NODATA with a short negative TTL
    pool,  // another pool of the zone answers, its own health and fallback applying
};

// Rotation state shared by every worker: the contract wants "each member first exactly once
// over N consecutive queries" whichever worker answers, which a per-worker counter cannot
// give. One relaxed fetch_add on its own cache line per query is the price (measured in
// bench/README.md).
struct alignas(64) RotationCounter {
    std::atomic<uint64_t> next{0};
};

// One address family's view of a pool.
struct FamilySet {
    uint16_t rrtype = 0;            // A or AAAA
    uint8_t image_size = 0;         // kImageSizeA or kImageSizeAAAA
    std::vector<uint32_t> members;  // indices into Pool::members
    std::vector<uint8_t> images;    // image_size bytes per entry of `members`
    // The same records with the pool's ttl_degraded, for answers while the pool is degraded
    // (answer_ttl); empty when ttl_degraded is the ttl. Two rendered sets keep the answer a
    // plain copy: no TTL patched per record.
    std::vector<uint8_t> degraded_images;
    // Probe slot per entry of `members`, contiguous so the health walk touches one array.
    std::vector<uint32_t> slots;
    bool probed = false;              // some member has a probe; false = every member always up
    std::vector<uint32_t> positions;  // 0, 1, ..., size() - 1: "every member" as a span
    MemberTable table;                // what the steering policies read, per position

    size_t size() const { return members.size(); }
    // The record images an answer copies: `degraded` as Choice::degraded says.
    const uint8_t* image_base(bool degraded) const {
        return degraded && !degraded_images.empty() ? degraded_images.data() : images.data();
    }
};

struct Pool {
    std::string name;  // relative, as written, for logs and status
    Policy policy = Policy::round_robin;
    uint32_t ttl = 0;
    // TTL of answers while a member of the queried family is down, and of fallback answers
    // (lb::answer_ttl); equal to `ttl` when the zone file sets none.
    uint32_t ttl_degraded = 0;
    uint16_t answers = 0;  // 0 = all members of the queried family
    Fallback fallback = Fallback::all;
    int32_t fallback_pool = -1;  // with Fallback::pool: index into the zone's pools
    std::vector<Member> members;
    FamilySet v4;
    FamilySet v6;
    // geo only: the pool's "regions" over the zone's region ids, and the zone's rules (shared
    // by the zone's geo pools; null for other policies).
    RegionPreferences regions;
    std::shared_ptr<const GeoConfig> geo;
    // Heap-allocated so Pool stays movable while the counters stay put.
    std::unique_ptr<RotationCounter[]> rotation = std::make_unique<RotationCounter[]>(2);

    const FamilySet& family(uint16_t rrtype) const { return rrtype == dns::type::AAAA ? v6 : v4; }
    RotationCounter& counter(uint16_t rrtype) const {
        return rotation[rrtype == dns::type::AAAA ? 1 : 0];
    }
};

}  // namespace steerdns::lb
