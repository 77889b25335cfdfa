// GET /metrics: the Prometheus text exposition format 0.0.4, following Prometheus' naming
// conventions (steerdns_ prefix, _total counters, base units: seconds).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "steerdns/control/counters.h"
#include "steerdns/control/response_totals.h"
#include "steerdns/control/status_json.h"
#include "steerdns/health/monitor.h"

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

std::string render_metrics(const StatusModel& status, const ResponseTotals& responses,
                           const ServerCounters& counters);

// "A", "AAAA", ..., "other" for a qtype slot (qtype_slot()); "NOERROR", ... for an rcode.
std::string qtype_label(size_t slot);
std::string rcode_label(size_t rcode);

}  // namespace steerdns::control
