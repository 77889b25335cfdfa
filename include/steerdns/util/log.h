// Structured log lines (logfmt) on stderr: `ts=... level=info msg="zone loaded" zone=...`.
// Never called on the query path; a mutex keeps lines from different threads whole.
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace steerdns::util {

enum class LogLevel { debug, info, warn, error };

bool parse_log_level(std::string_view text, LogLevel& out);
void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);

using LogField = std::pair<std::string_view, std::string>;

void log(LogLevel level, std::string_view msg, std::span<const LogField> fields);
// For a fixed set of fields.
inline void log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {}) {
    log(level, msg, std::span<const LogField>(fields.begin(), fields.size()));
}

// Writes whole lines (the query log's batches when it goes to stderr) under the same lock as
// log(), so they never interleave with log lines.
void log_write_lines(std::string_view lines);

// A logfmt value: bare when it is a simple token, else quoted with " and \ escaped.
void append_logfmt_value(std::string& out, std::string_view v);

inline void log_debug(std::string_view m, std::initializer_list<LogField> f = {}) {
    log(LogLevel::debug, m, f);
}
inline void log_info(std::string_view m, std::initializer_list<LogField> f = {}) {
    log(LogLevel::info, m, f);
}
inline void log_warn(std::string_view m, std::initializer_list<LogField> f = {}) {
    log(LogLevel::warn, m, f);
}
inline void log_error(std::string_view m, std::initializer_list<LogField> f = {}) {
    log(LogLevel::error, m, f);
}

}  // namespace steerdns::util
