// Per-worker counters: each worker writes only its own, as relaxed atomics (bump(): a load and
// a store, no locked instruction, because no other thread writes them); readers sum them with
// relaxed loads and accept slightly stale totals.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "steerdns/control/counters.h"

namespace steerdns::server {

struct alignas(64) WorkerStats {
    // Written by one thread only; std::atomic with relaxed ops compiles to plain moves on
    // x86 and keeps concurrent reads by the control thread well-defined.
    std::atomic<uint64_t> udp_queries{0};
    std::atomic<uint64_t> tcp_queries{0};
    std::atomic<uint64_t> dropped{0};
    std::atomic<uint64_t> truncated{0};
    std::atomic<uint64_t> send_failed{0};
    std::atomic<uint64_t> tcp_accepted{0};
    std::atomic<uint64_t> tcp_rejected{0};  // over --tcp-max-clients (all workers)
    // Abuse resistance (README "Security").
    std::atomic<uint64_t> rrl_dropped{0};              // rate limited, not answered
    std::atomic<uint64_t> rrl_slipped{0};              // rate limited, answered TC=1
    std::atomic<uint64_t> reflection_dropped{0};       // from our own address or a reflector port
    std::atomic<uint64_t> tcp_rejected_per_client{0};  // over --tcp-max-clients-per-address
    std::atomic<uint64_t> tcp_read_timeouts{0};        // message not complete in time
    std::atomic<uint64_t> tcp_write_timeouts{0};       // client not reading its answers
    std::atomic<uint64_t> tcp_idle_timeouts{0};
    std::atomic<uint64_t> tcp_query_limit_closes{0};  // closed after --tcp-max-queries
    // --query-log: records lost because this worker's ring was full (the writer fell behind).
    std::atomic<uint64_t> query_log_dropped{0};
    // `_why` decision traces: given, and refused to clients outside --explain-from.
    std::atomic<uint64_t> why_answered{0};
    std::atomic<uint64_t> why_refused{0};

    // Queries answered, by transport (0 udp, 1 tcp), qtype slot (qtype_slot()) and rcode
    // (% kRcodeSlots): 6 KiB per worker, read by /metrics.
    static constexpr size_t kQtypeSlots = control::kQtypeSlots;
    static constexpr size_t kRcodeSlots = control::kRcodeSlots;
    std::atomic<uint64_t> queries[2][kQtypeSlots][kRcodeSlots]{};
    // Why packets got no answer (each also counts in `dropped`).
    std::atomic<uint64_t> dropped_malformed{0};    // no answer can be written (QR=1, no header)
    std::atomic<uint64_t> dropped_oversized{0};    // UDP datagram larger than the receive slot
    std::atomic<uint64_t> dropped_source_port{0};  // source port 0

    static void bump(std::atomic<uint64_t>& c) {
        c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
};

// One answered query in the per-worker table.
inline void count_query(WorkerStats& s, bool tcp, uint16_t qtype, uint16_t rcode) {
    WorkerStats::bump(
        s.queries[tcp ? 1 : 0][control::qtype_slot(qtype)][rcode % WorkerStats::kRcodeSlots]);
}

// Adds this worker's counters to the daemon's totals (relaxed loads: totals may be a few
// queries stale).
void add_worker(control::ServerCounters& total, const WorkerStats& w);

}  // namespace steerdns::server
