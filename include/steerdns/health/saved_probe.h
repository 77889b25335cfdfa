// A probe's health as the state file keeps it across restarts (control/drain_state.h writes
// and reads it), and what the monitor made of it at start. A restarted server believes a
// fresh entry instead of answering with a member it has not probed yet; a slot without one
// is probed once before the first answer (Monitor::wait_start).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "steerdns/health/health_table.h"

namespace steerdns::health {

struct SavedProbe {
    std::string key;               // ProbeSpec::key: probe address + check definition
    std::string address;           // the probe address as text, for people reading the file
    State state = State::unknown;  // what rise/fall decided (flap damping starts afresh)
    uint32_t count = 0;            // consecutive results against `state` (FlapFilter::streak)
    int64_t since_unix_ms = 0;     // when `state` began
    int64_t last_unix_ms = 0;      // when the last result came: the entry's age runs from here
    bool last_ok = false;
    std::string reason;  // of the last result: "http GET /healthz: status 200"
    // Held by failback (standby) when written: a restart keeps it out of answers until an
    // operator releases it ("manual") or its delay is over again, counted from the start.
    bool failback_held = false;
};

// The state named as state_name() writes it; false for a name this build does not know.
bool parse_state_name(std::string_view name, State& out);

// How the server's start went (the "health at start" log line), in members: a slot shared by
// several members counts once per member.
struct StartRound {
    size_t from_saved = 0;   // started in their saved state
    size_t first_probe = 0;  // probed before the first answer
    size_t unprobed = 0;     // no fresh entry and no first result in time: unknown (= up)
    int64_t waited_ms = 0;
};

}  // namespace steerdns::health
