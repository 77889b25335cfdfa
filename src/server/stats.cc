#include "steerdns/server/stats.h"

namespace steerdns::server {

void add_worker(control::ServerCounters& total, const WorkerStats& w) {
    auto get = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
    for (size_t t = 0; t < 2; ++t)
        for (size_t q = 0; q < WorkerStats::kQtypeSlots; ++q)
            for (size_t r = 0; r < WorkerStats::kRcodeSlots; ++r)
                total.queries[t][q][r] += get(w.queries[t][q][r]);
    total.truncated += get(w.truncated);
    total.tcp_accepted += get(w.tcp_accepted);
    total.tcp_rejected += get(w.tcp_rejected);
    total.dropped_malformed += get(w.dropped_malformed);
    total.dropped_oversized += get(w.dropped_oversized);
    total.dropped_source_port += get(w.dropped_source_port);
    total.send_failed += get(w.send_failed);
    total.rrl_dropped += get(w.rrl_dropped);
    total.rrl_slipped += get(w.rrl_slipped);
    total.reflection_dropped += get(w.reflection_dropped);
    total.tcp_rejected_per_client += get(w.tcp_rejected_per_client);
    total.tcp_read_timeouts += get(w.tcp_read_timeouts);
    total.tcp_write_timeouts += get(w.tcp_write_timeouts);
    total.tcp_idle_timeouts += get(w.tcp_idle_timeouts);
    total.tcp_query_limit_closes += get(w.tcp_query_limit_closes);
    total.query_log_dropped += get(w.query_log_dropped);
    total.why_answered += get(w.why_answered);
    total.why_refused += get(w.why_refused);
}

}  // namespace steerdns::server
