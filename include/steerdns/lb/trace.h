// What lb::select_with_fallback decided on the way to an answer, step by step: the decision
// trace behind `dig TXT _why.<name>`, `steerdns why` and the query log. The selection code
// fills it as it decides, so the trace cannot drift from the answers; with no trace (every
// normal query) nothing is written. Plain data with no allocation.
#pragma once

#include <array>
#include <cstdint>

#include "steerdns/lb/client_net.h"
#include "steerdns/lb/geo_rules.h"

namespace steerdns::lb {

struct Pool;

// One pool the selection looked at: the queried one, then each fallback pool.
struct TraceStep {
    const Pool* pool = nullptr;
    uint32_t family_size = 0;  // members of the queried family (drained ones are not counted)
    uint32_t up = 0;           // of which health allows
    uint32_t picked = 0;       // what the policy picked among those up (0: fell back)
    bool fail_open = false;    // fallback "all": the policy ran again as if every member were up
    bool rotated_fail_open = false;  // ... and picked none even then: plain rotation answered
    bool geo = false;                // `where` holds the client's region for this pool
    GeoMatch where;
    bool hashed = false;  // `subnet` holds what the hash keyed on
    ClientNet subnet;
};

struct Trace {
    static constexpr size_t kMaxSteps = 10;
    std::array<TraceStep, kMaxSteps> steps{};
    uint32_t count = 0;

    TraceStep* add(const Pool* pool) {
        if (count == kMaxSteps) return nullptr;
        steps[count] = TraceStep{};
        steps[count].pool = pool;
        return &steps[count++];
    }
};

}  // namespace steerdns::lb
