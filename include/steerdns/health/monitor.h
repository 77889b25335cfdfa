// The prober: its own thread and libuv loop, so a slow or hanging backend never delays a DNS
// answer or the control loop. One probe per slot of the registry, started at a random
// offset in its interval (never in lockstep) and then every interval, whatever the previous
// attempt is doing. tcp: io_uring, the connects of one loop turn in one submit (tcp_uring.h),
// or uv_tcp_connect; http: its own HTTP/1.1 client on this loop; https: libcurl's multi
// interface driven by this loop (uv_poll + uv_timer); exec: uv_spawn, killed at the timeout.
// Results go through a FlapFilter per slot, and a state change is written to the HealthTable
// (relaxed store, read by workers) and logged in one line with its reason.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "steerdns/health/registry.h"
#include "steerdns/health/saved_probe.h"
#include "steerdns/health/tcp_uring.h"

namespace steerdns::health {

// Caps on what the prober runs at once. A probe that comes due while a cap is reached waits
// (first come, first run) and starts as soon as a place frees: delayed, never dropped.
// Missed ticks of a waiting probe fold into its one pending run.
struct MonitorLimits {
    unsigned max_in_flight = 1000;  // probes running at once (sockets, curl transfers, processes)
    unsigned max_exec = 32;         // of which exec checks: processes spawned at once
    // Idle http connections kept between probes (one per keepalive target and path), at most:
    // each holds a descriptor. Past it, the least recently used close, and those probes
    // connect afresh.
    size_t max_kept_connections = 4096;
    // How tcp probes connect (--probe-io, tcp_uring.h): libuv unless asked, so only the
    // server's option chooses io_uring.
    ProbeIo probe_io = ProbeIo::libuv;
};

// One probe as the control API shows it.
struct ProbeStatus {
    State state = State::unknown;
    int64_t since_unix_ms = 0;  // when `state` began (for unknown: when the probe started)
    bool has_result = false;
    bool last_ok = false;
    std::string last_reason;   // "http GET /healthz: status 200"
    int64_t last_unix_ms = 0;  // when the last result came
    double last_seconds = 0;   // how long the last probe took
    // Flap damping (damping.h): held down while the filter may say up.
    bool suppressed = false;
    std::string suppressed_reason;         // "flapping: 4 changes in 15s"
    int64_t suppressed_until_unix_ms = 0;  // expected release, if it stays up meanwhile
    // Failback (failback.h): up but held out of answers ("standby"), why, and when a delay
    // ends (0: until released).
    bool standby = false;
    std::string standby_reason;  // "awaiting failback (manual)"
    int64_t standby_until_unix_ms = 0;
    // The state (and last result) came from the state file and no probe has answered since
    // the start.
    bool saved = false;
};

// Probe results since start, by check type (CheckType as index) and outcome.
struct ProbeResultCounts {
    std::array<uint64_t, 5> success{};
    std::array<uint64_t, 5> failure{};
};

// A slot's state change, queued for the control thread, which turns it into one event per
// member using the slot (control/events.h). `key` tells a change of an old probe from one of
// the slot's next key, should the slot be recycled before the change is read.
struct SlotChange {
    uint32_t slot = kNoProbe;
    std::string key;
    State state = State::unknown;
    bool first = false;   // the probe's first result (the state before was unknown)
    std::string reason;   // "http GET /healthz: status 500 (after 3 failures)"
    int64_t unix_ms = 0;  // when it changed
};

class Monitor {
  public:
    explicit Monitor(ProbeRegistry& registry, MonitorLimits limits = {});
    ~Monitor();  // stops and joins
    Monitor(const Monitor&) = delete;
    Monitor& operator=(const Monitor&) = delete;

    // `cpus`: where the prober thread may run (--probe-cpus); empty = anywhere.
    void start(std::vector<unsigned> cpus = {});
    // Thread-safe handoff from the control thread: the probes to run from now on (the
    // registry's active set). Probes whose key is unchanged keep their state and schedule;
    // others start (counting as up until their first result) or stop, and the slots of
    // stopped ones go back to the registry.
    void update(std::vector<ProbeSpec> probes);
    // Stops every probe (an exec in flight is killed) and joins the thread.
    void stop();

    // Start (saved_probe.h). Before the first update(): the probes of that first set whose
    // key has an entry here start in its state, counting on from its count; with
    // `probe_unsaved_now`, every other one is probed at once instead of at a random point of
    // its first interval.
    void restore(std::vector<SavedProbe> saved, bool probe_unsaved_now);
    // Control thread, after the first update(): waits until that set is applied (restored
    // states are in the HealthTable) and, with probe_unsaved_now, until each first probe
    // answered, at most the longest timeout of those checks (plus a margin) and `max_wait_ms`.
    StartRound wait_start(uint32_t max_wait_ms);
    // What the state file keeps: every probe with a result (saved or since), by key. Any thread.
    std::vector<SavedProbe> saved() const;
    // Bumped by every state change (and flap damping's), and by every result: the state
    // file is rewritten when the first moves, refreshed when only the second does. Any thread.
    uint64_t state_changes() const;
    uint64_t result_count() const;
    // Probe runs that had to wait for a place under the caps, since start (any thread).
    uint64_t delayed() const;
    // What the tcp probes use: "uring" or "libuv" (auto resolved when constructed).
    const char* probe_io() const;

    // Thread-safe reads for the control thread (a mutex: never on the query path).
    std::unordered_map<uint32_t, ProbeStatus> status() const;  // by probe slot
    ProbeResultCounts results() const;
    // State changes since the last call, oldest first (at most kMaxQueuedChanges: older ones
    // are dropped and counted in `dropped`). Any thread.
    static constexpr size_t kMaxQueuedChanges = 10000;
    std::vector<SlotChange> take_changes(uint64_t* dropped = nullptr);
    // Called on the prober thread after a change is queued: it must only wake the reader
    // (uv_async_send). Set before start().
    void on_change(std::function<void()> wake);
    // POST /failback: ends the failback hold of the probe in `slot` (a member in standby).
    // False when it is not in standby (per the last status). Any thread.
    bool release_failback(uint32_t slot);
    // One slot's status, for a decision trace (`_why`, which is not the query path either).
    bool status_of(uint32_t slot, ProbeStatus& out) const;

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace steerdns::health
