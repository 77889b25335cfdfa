#include "steerdns/util/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace steerdns::util {
namespace {

std::atomic<LogLevel> g_level{LogLevel::info};
std::mutex g_mutex;

const char* level_name(LogLevel l) {
    switch (l) {
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warn:
            return "warn";
        case LogLevel::error:
            return "error";
    }
    return "?";
}

}  // namespace

// logfmt: bare when the value is a simple token, else quoted with " and \ escaped.
void append_logfmt_value(std::string& out, std::string_view v) {
    bool plain = !v.empty();
    for (char c : v) {
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' ||
            static_cast<unsigned char>(c) >= 0x7f) {
            plain = false;
            break;
        }
    }
    if (plain) {
        out += v;
        return;
    }
    out += '"';
    for (char c : v) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    out += '"';
}

bool parse_log_level(std::string_view text, LogLevel& out) {
    for (LogLevel l : {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error}) {
        if (text == level_name(l)) {
            out = l;
            return true;
        }
    }
    return false;
}

void set_log_level(LogLevel level) {
    g_level.store(level, std::memory_order_relaxed);
}

bool log_enabled(LogLevel level) {
    return level >= g_level.load(std::memory_order_relaxed);
}

void log(LogLevel level, std::string_view msg, std::span<const LogField> fields) {
    if (!log_enabled(level)) return;
    const auto now = std::chrono::system_clock::now();
    const std::time_t secs = std::chrono::system_clock::to_time_t(now);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char ts[64];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    std::string line = "ts=";
    line += ts;
    line += " level=";
    line += level_name(level);
    line += " msg=";
    append_logfmt_value(line, msg);
    for (const auto& [k, v] : fields) {
        line += ' ';
        line += k;
        line += '=';
        append_logfmt_value(line, v);
    }
    line += '\n';
    std::lock_guard lock(g_mutex);
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

void log_write_lines(std::string_view lines) {
    std::lock_guard lock(g_mutex);
    std::fwrite(lines.data(), 1, lines.size(), stderr);
    std::fflush(stderr);
}

}  // namespace steerdns::util
