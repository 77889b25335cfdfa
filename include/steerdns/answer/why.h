// The decision trace: why a balanced name answers a client what it does, in lines an operator
// reads (`dig TXT _why.<name>`, `steerdns why`, GET /why). Built by running the real selection
// (lb::select_with_fallback) with a trace sink, so it cannot drift from the answers, and
// without advancing any rotation counter. Not the query path: it allocates freely, and is only
// reached by `_why` queries from --explain-from and by the control endpoint.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "steerdns/answer/snapshot.h"
#include "steerdns/health/monitor.h"
#include "steerdns/lb/geo_map.h"
#include "steerdns/lb/policy.h"

namespace steerdns::why {

// `_why.<name>` traces the A selection of <name>, `_why6.<name>` the AAAA one. Returns the
// type traced (A or AAAA) and sets `target` to <name>, or 0 when `qname` (lowercased wire
// form) starts with neither label. Cheap enough to ask of every TXT query.
uint16_t traced_type(std::span<const uint8_t> qname, std::span<const uint8_t>& target);

// A probe slot's latest status; false when there is none (no monitor, or not probed yet).
using ProbeLookup = std::function<bool(uint32_t slot, health::ProbeStatus& out)>;

struct Question {
    std::span<const uint8_t> name;  // lowercased wire form
    uint16_t qtype = 0;             // A or AAAA
    lb::Client client;              // source address, and the ECS option if any
};

// The trace, one line per fact: "client ...", "pool ...", "member ...", "answer ...", ...
// Every line fits a TXT character-string (at most 255 bytes). Pools with many members list
// the first `max_members` and say how many more there are.
std::vector<std::string> explain(const Snapshot& snapshot, const Question& q,
                                 const ProbeLookup& probes, int64_t now_unix_ms,
                                 size_t max_members = 64);

// "www.lb.example.test" (trailing dot optional) -> lowercased wire form; false with `error`.
bool name_from_text(std::string_view text, std::vector<uint8_t>& wire, std::string& error);

}  // namespace steerdns::why
