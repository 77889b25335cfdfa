// Which parts of /status changed when, so a poller (the status page) asks only for what
// changed after the revision it holds (GET /status?since=N). Revisions count changes seen by
// comparing each model built for /status with the previous one: a member's state, health,
// result, reason or settings; a pool's state, counts or settings; a zone's serial, file, load
// time or errors; the rejected files. A member's probe time and latency move on every probe,
// so they are not changes: each member's are refreshed once per kProbeRefreshMs instead,
// spread evenly over that time (a few per poll, not all at once). Zones, pools or members
// added, removed or reordered change the structure: a client older than that is sent
// everything. Everything runs on the control thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "steerdns/control/status_json.h"

namespace steerdns::control {

inline constexpr int64_t kProbeRefreshMs = 30000;

class StatusRevisions {
  public:
    // Revisions start above `first`: with the start time in ms, a page still holding a
    // revision from an earlier run of the daemon holds a smaller one and is sent everything.
    explicit StatusRevisions(uint64_t first = 0) : current_(first), structure_(first + 1) {}

    // Compares `model` with the model observed last; what differs gets a new revision.
    void observe(const StatusModel& model);
    // A new revision for a change observed elsewhere (an answer sample).
    uint64_t bump() { return ++current_; }

    uint64_t current() const { return current_; }
    uint64_t structure() const { return structure_; }
    // True when a client holding revision `since` can be sent only what changed after it.
    bool can_patch(uint64_t since) const {
        return since != 0 && since >= structure_ && since <= current_;
    }

    // Revisions of the parts of the model observed last, by position in it.
    uint64_t zone(size_t z) const { return zones_[z].rev; }
    uint64_t pool(size_t z, size_t p) const { return zones_[z].pools[p].rev; }
    uint64_t member(size_t z, size_t p, size_t m) const {
        return zones_[z].pools[p].members[m].rev;
    }
    // When the member's probe time and latency were last sent as news.
    uint64_t probe(size_t z, size_t p, size_t m) const {
        return zones_[z].pools[p].members[m].probe_rev;
    }
    uint64_t rejected() const { return rejected_rev_; }

  private:
    struct Member {
        uint64_t print = 0;  // hash of what counts as a change
        uint64_t rev = 0;
        uint64_t probe_rev = 0;
        std::optional<int64_t> probe_ms;  // the last probe time sent
        int64_t probe_turn = -1;          // which kProbeRefreshMs period it was sent in
        int64_t phase_ms = 0;             // its offset in that period
    };
    struct Pool {
        std::string name;
        uint64_t print = 0;
        uint64_t rev = 0;
        std::vector<std::string> addresses;
        std::vector<Member> members;
    };
    struct Zone {
        std::string name;
        uint64_t print = 0;
        uint64_t rev = 0;
        std::vector<Pool> pools;
    };
    bool same_structure(const StatusModel& model) const;

    uint64_t current_;
    uint64_t structure_;
    uint64_t rejected_print_ = 0;
    uint64_t rejected_rev_ = 0;
    std::vector<Zone> zones_;
};

}  // namespace steerdns::control
