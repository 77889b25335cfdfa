// GET /status: every zone, pool and member with its state and why, as one JSON document;
// the status page and `steerdns status` read it, and /metrics renders the same model.
// status_view.h selects from it (?zone=, ?pool=, ?state=) and sends only changes (?since=).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "steerdns/answer/snapshot.h"
#include "steerdns/control/answer_history.h"
#include "steerdns/control/drain_state.h"
#include "steerdns/control/member_since.h"
#include "steerdns/health/monitor.h"
#include "steerdns/health/registry.h"

namespace steerdns::control {

struct MemberStatus {
    std::string address;
    // What answers do with it: "up" (answered, also before its first probe result), "down"
    // (its probe failed), "suppressed" (out of answers: flapping, "damping"), "pending" (added
    // by a reload, not probed yet), "standby" (up, awaiting failback), "draining" (out
    // of answers: POST /drain or "enabled": false, but resolvers may still hold an answer
    // with it) then "drained" (safe to remove).
    std::string state;
    std::optional<int64_t> since_unix_ms;  // when `state` began, as far as we know
    std::string check;                     // check type ("http", ...); "" = none: always up
    std::string probe_address;             // "" = the address itself
    std::string health;                    // the probe's view: up, down, unknown, unchecked
    std::optional<bool> last_ok;           // the last probe's result
    std::string last_reason;
    std::optional<int64_t> last_probe_unix_ms;
    std::optional<double> latency_seconds;  // how long the last probe took
    uint32_t weight = 1;
    int32_t priority = 0;
    std::string region;
    bool drained = false;    // out of answers: draining or drained
    std::string drained_by;  // "api", "zone file" or ""
    // Out of answers since then, plus the pool's TTL: no resolver holds an answer with it
    // after this (every answer that carried it had at most that TTL).
    std::optional<int64_t> safe_to_remove_unix_ms;
    // State "suppressed": flap damping holds it down (out of answers) until about then.
    std::string suppressed_reason;  // "flapping: 4 changes in 15s"
    std::optional<int64_t> suppressed_until_unix_ms;
    // State "standby" (up, awaiting failback: out of answers while another member is up):
    // why, and when a failback delay ends (none for "manual": until POST /failback).
    std::string failback_reason;  // "awaiting failback (manual)"
    std::optional<int64_t> failback_until_unix_ms;
    // Answers it was in over the last minute (AnswerHistory); nullopt before its first sample.
    std::optional<uint64_t> answers_last_minute;
    // A composite check ("check": "composite"): each part's own state and last reason.
    struct CheckPartStatus {
        std::string name;
        std::string state;
        std::string reason;
    };
    std::vector<CheckPartStatus> checks;
    std::string require;  // "all", "any" or the number; "" unless composite
};

struct PoolStatus {
    std::string name;
    std::string policy;
    uint32_t ttl = 0;
    std::optional<uint32_t> ttl_degraded;  // when the zone sets one other than the ttl
    std::string fallback;                  // "all", "none" or "pool"
    std::string fallback_pool;             // with "pool": its name
    // What its answers are, from the health the answer path reads (pool_state()).
    std::string state;
    uint32_t up = 0, down = 0, drained = 0;       // members by state (drained: and draining)
    uint32_t draining = 0;                        // of `drained`, those still draining
    std::optional<uint64_t> answers_last_minute;  // its members' answers summed
    std::vector<MemberStatus> members;
};

// "ok": every enabled member is up. "degraded": some are down, the others answer.
// "failing open": an address family has members but none up, and fallback "all" answers
// them all the same, down ones included. "empty": the pool answers none of its members (none
// enabled, or a family with none up and fallback "none" (NODATA) or "pool" (that pool
// answers)). With both families, the worse one names the pool.
std::string pool_state(const lb::Pool& pool, const health::HealthTable* health);

struct ZoneStatus {
    std::string zone;
    std::string file;
    uint32_t serial = 0;
    std::string file_sha256;  // SHA-256 of the file text serving: differs between versions
    std::optional<int64_t> loaded_unix_ms;
    // Problems of the file's current text when it is rejected (the version shown serves on).
    std::vector<std::string> errors;
    std::vector<PoolStatus> pools;
};

// A file none of whose text is served: it never loaded, or another file serves its zone.
struct RejectedFile {
    std::string file;
    std::string zone;  // the apex, when the file got far enough to name it
    std::vector<std::string> errors;
};

struct StatusModel {
    std::string version;
    std::string nsid;  // --nsid as text (dns::nsid_text); "" when unset
    int64_t now_unix_ms = 0;
    int64_t started_unix_ms = 0;
    std::vector<ZoneStatus> zones;
    std::vector<RejectedFile> rejected;
};

// What the control thread knows about a zone apart from the snapshot.
struct ZoneRecord {
    int64_t loaded_unix_ms = 0;
    std::vector<std::string> errors;
};

struct StatusInputs {
    const Snapshot* snapshot = nullptr;
    // The monitor's per-probe status and the registry's active probes, by slot.
    const std::unordered_map<uint32_t, health::ProbeStatus>* probes = nullptr;
    const std::unordered_map<uint32_t, health::ProbeSpec>* targets = nullptr;
    const DrainSet* drains = nullptr;
    const std::map<std::string, ZoneRecord>* zones = nullptr;  // by apex
    // When each member's file state began; a member missing from it counts from its zone's
    // load.
    const MemberSinceTable* member_since = nullptr;
    const AnswerHistory* answers = nullptr;  // null: no answer counts
    std::vector<RejectedFile> rejected;
    std::string version;
    std::string nsid;
    int64_t now_unix_ms = 0;
    int64_t started_unix_ms = 0;
};

StatusModel build_status(const StatusInputs& in);
nlohmann::ordered_json status_json(const StatusModel& model);
// The parts of status_json(), for status_view.h's partial documents.
nlohmann::ordered_json member_json(const MemberStatus& m);
void pool_fields(const PoolStatus& p, nlohmann::ordered_json& out);  // all but "members"
void zone_fields(const ZoneStatus& z, nlohmann::ordered_json& out);  // all but "pools"
nlohmann::ordered_json rejected_json(const StatusModel& model);

}  // namespace steerdns::control
