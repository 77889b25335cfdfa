// The daemon's counters as /metrics reads them: the workers' rows summed, plus the monitor's
// and the reloader's. The server fills them; this layer only renders them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "steerdns/health/monitor.h"

namespace steerdns::control {

// Queries are counted by transport (0 udp, 1 tcp), qtype slot and rcode (% kRcodeSlots).
inline constexpr size_t kQtypeSlots = 16;
inline constexpr size_t kRcodeSlots = 24;  // BADVERS (16) included

// The query types counted one by one; the rest share the last slot ("other").
inline constexpr uint16_t kCountedQtypes[kQtypeSlots - 1] = {
    1, 2, 5, 6, 12, 15, 16, 28, 33, 35, 43, 48, 64, 65, 255};  // A NS CNAME SOA PTR MX TXT AAAA
                                                               // SRV NAPTR DS DNSKEY SVCB HTTPS ANY
inline constexpr size_t qtype_slot(uint16_t qtype) {
    size_t i = 0;
    while (i < kQtypeSlots - 1 && kCountedQtypes[i] != qtype) ++i;
    return i;
}

// Counters of the daemon as a whole, the workers' summed.
struct ServerCounters {
    uint64_t queries[2][kQtypeSlots][kRcodeSlots] = {};
    uint64_t truncated = 0;
    uint64_t tcp_accepted = 0;
    uint64_t tcp_rejected = 0;
    uint64_t dropped_malformed = 0;
    uint64_t dropped_oversized = 0;
    uint64_t dropped_source_port = 0;
    uint64_t send_failed = 0;
    // Abuse resistance and the query log (README "Security", "Logs").
    uint64_t rrl_dropped = 0;
    uint64_t rrl_slipped = 0;
    uint64_t reflection_dropped = 0;
    uint64_t tcp_rejected_per_client = 0;
    uint64_t tcp_read_timeouts = 0;
    uint64_t tcp_write_timeouts = 0;
    uint64_t tcp_idle_timeouts = 0;
    uint64_t tcp_query_limit_closes = 0;
    uint64_t query_log_dropped = 0;
    uint64_t why_answered = 0;    // `_why` traces given
    uint64_t why_refused = 0;     // `_why` queries from outside --explain-from
    uint64_t probes_delayed = 0;  // not per worker: the monitor's count
    // --signature-cache, all workers: answer sets found signed, signed on a miss, evicted
    uint64_t signature_cache_hits = 0;
    uint64_t signature_cache_misses = 0;
    uint64_t signature_cache_evictions = 0;
    health::ProbeResultCounts probe_results;
    uint64_t reloads_success = 0;
    uint64_t reloads_failure = 0;
};

}  // namespace steerdns::control
