// GET /metrics: the Prometheus text exposition format 0.0.4, following Prometheus' naming
// conventions (steerdns_ prefix, _total counters, base units: seconds).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "steerdns/control/response_totals.h"
#include "steerdns/control/status_json.h"
#include "steerdns/health/monitor.h"
#include "steerdns/server/stats.h"

namespace steerdns::control {

// Writes metric families: HELP and TYPE once, then the samples.
class MetricsWriter {
  public:
    using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

    void family(std::string_view name, std::string_view type, std::string_view help);
    void sample(std::string_view name, Labels labels, uint64_t value);
    void sample(std::string_view name, Labels labels, double value);
    const std::string& text() const { return out_; }

  private:
    void head(std::string_view name, Labels labels);
    std::string out_;
};

// Label values: backslash, double quote and line feed escaped.
std::string escape_label_value(std::string_view v);

// Counters of the daemon as a whole, the workers' summed.
struct ServerCounters {
    using WorkerStats = server::WorkerStats;
    uint64_t queries[2][WorkerStats::kQtypeSlots][WorkerStats::kRcodeSlots] = {};
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
    uint64_t probes_delayed = 0;  // not per worker: the monitor's count
    health::ProbeResultCounts probe_results;
    uint64_t reloads_success = 0;
    uint64_t reloads_failure = 0;

    void add(const WorkerStats& w);  // relaxed loads: totals may be a few queries stale
};

std::string render_metrics(const StatusModel& status, const ResponseTotals& responses,
                           const ServerCounters& counters);

// "A", "AAAA", ..., "other" for a WorkerStats qtype slot; "NOERROR", ... for an rcode.
std::string qtype_label(size_t slot);
std::string rcode_label(size_t rcode);

}  // namespace steerdns::control
