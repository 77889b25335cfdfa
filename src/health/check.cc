#include "steerdns/health/check.h"

#include <cstdio>

namespace steerdns::health {

const char* check_type_name(CheckType t) {
    switch (t) {
        case CheckType::none:
            return "none";
        case CheckType::tcp:
            return "tcp";
        case CheckType::http:
            return "http";
        case CheckType::https:
            return "https";
        case CheckType::exec:
            return "exec";
    }
    return "?";
}

bool parse_check_type(std::string_view text, CheckType& out) {
    for (CheckType t :
         {CheckType::none, CheckType::tcp, CheckType::http, CheckType::https, CheckType::exec}) {
        if (text == check_type_name(t)) {
            out = t;
            return true;
        }
    }
    return false;
}

bool CheckDef::status_ok(long status) const {
    if (expect_status.empty()) return status >= 200 && status <= 399;
    for (uint16_t s : expect_status)
        if (s == status) return true;
    return false;
}

namespace {

// Length-prefixed, so no value can be mistaken for a separator.
void field(std::string& out, std::string_view v) {
    out += std::to_string(v.size());
    out += ':';
    out += v;
}

}  // namespace

std::string CheckDef::key() const {
    std::string k = check_type_name(type);
    k += '|';
    field(k, std::to_string(port));
    field(k, std::to_string(interval_ms));
    field(k, std::to_string(timeout_ms));
    field(k, std::to_string(rise));
    field(k, std::to_string(fall));
    if (damping) {
        // A changed damping is a changed probe: it starts afresh rather than keep a penalty
        // counted under other rules.
        k += "d";
        field(k, std::to_string(damping->half_life_ms));
        field(k, std::to_string(damping->suppress));
        field(k, std::to_string(damping->reuse));
        field(k, std::to_string(damping->max_suppress_ms));
    }
    if (failback) {
        // A hold is kept by the probe: a changed failback is a changed probe, and a manual
        // one is its pool's alone (the scope).
        k += "f";
        field(k, failback_text(*failback));
        field(k, failback->scope);
    }
    switch (type) {
        case CheckType::http:
        case CheckType::https:
            k += "p";
            for (const std::string& p : paths) field(k, p);
            k += "h";
            field(k, host);
            k += "s";
            for (uint16_t s : expect_status) field(k, std::to_string(s));
            k += has_expect_body ? "b" : "-";
            field(k, expect_body);
            k += verify ? "v" : "-";
            // Only when off: the keys of every existing http check (and their saved health)
            // stay what they were before the option existed.
            if (!keepalive) k += "k-";
            break;
        case CheckType::exec:
            k += "c";
            for (const std::string& a : command) field(k, a);
            break;
        case CheckType::none:
        case CheckType::tcp:
            break;
    }
    return k;
}

std::string seconds_text(uint32_t ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", ms / 1000.0);
    return buf;
}

}  // namespace steerdns::health
