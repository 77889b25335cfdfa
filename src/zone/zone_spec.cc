// The zone file schema: ZoneLoader walks the DOM with a JsonReader (the generic part: types,
// positions, unknown and missing keys) and checks each section's keys, ranges and references,
// reporting every problem it finds.
#include "steerdns/zone/zone_spec.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "steerdns/lb/geo_map.h"
#include "steerdns/util/clock.h"
#include "steerdns/util/file.h"
#include "steerdns/zone/file_hash.h"
#include "steerdns/zone/json_reader.h"
#include "steerdns/zone/limits.h"

namespace steerdns::zone {
namespace {

constexpr int64_t kMaxTtl = 2147483647;  // RFC 2181 section 8
constexpr int64_t kMaxSerial = 4294967295;
constexpr int64_t kMaxWeight = 1000000;
constexpr int64_t kMaxPriority = 1000000;
constexpr int64_t kMaxAnswers = 64;
constexpr size_t kMaxNameLength = 255;  // presentation format, with room for escapes or a dot

// In documentation order, which is also the order of "expected one of" lists.
// "$schema" lets editors find zones/schema/zone.schema.json; the loader ignores its value.
constexpr std::array<std::string_view, 12> kZoneKeys{
    "zone",  "ttl",    "soa",    "ns",     "records", "checks", "geo", "failover_budget",
    "pools", "notify", "dnssec", "$schema"};
constexpr std::array<std::string_view, 2> kDnssecKeys{"keys", "signature_validity"};
// An RRSIG valid for less than a day leaves no room to re-sign; RFC 4034 serial arithmetic
// caps the period well above a year.
constexpr int64_t kMinValidity = 86400;
constexpr int64_t kMaxValidity = 31536000;
constexpr std::array<std::string_view, 7> kSoaKeys{"mname", "rname",  "serial", "refresh",
                                                   "retry", "expire", "minimum"};
constexpr std::array<std::string_view, 11> kPoolKeys{
    "policy",          "ttl",     "ttl_degraded", "answers", "check", "require", "fallback",
    "failover_budget", "regions", "failback",     "members"};
constexpr std::array<std::string_view, 2> kFailbackModes{"immediate", "manual"};
constexpr std::array<std::string_view, 1> kFailbackKeys{"delay"};
// A failback delay, in seconds: a day at most (longer is "manual").
constexpr double kMinFailbackDelay = 0.1;
constexpr double kMaxFailbackDelay = 86400;
constexpr std::array<std::string_view, 10> kMemberKeys{
    "address", "enabled", "weight",        "priority",    "region",
    "check",   "require", "probe_address", "maintenance", "damping"};
// A composite check: at most this many parts (each is a probe of its own).
constexpr size_t kMaxCheckParts = 16;
constexpr std::array<std::string_view, 2> kMaintenanceKeys{"start", "end"};
constexpr std::array<std::string_view, 14> kCheckKeys{
    "type",    "port",     "paths",   "host", "expect_status", "expect_body", "verify",
    "command", "interval", "timeout", "rise", "fall",          "damping",     "keepalive"};
constexpr std::array<std::string_view, 4> kDampingKeys{"half_life", "suppress", "reuse",
                                                       "max_suppress"};
// Damping: durations in seconds, penalties in changes (fractions allowed for both).
constexpr double kMaxDampingSeconds = 86400;
constexpr double kMinPenalty = 0.01;
constexpr double kMaxPenalty = 1000;
constexpr std::array<std::string_view, 3> kGeoKeys{"database", "rules", "default"};
constexpr std::array<std::string_view, 4> kGeoRuleKeys{"net", "country", "continent", "region"};
// What a rule matches on: exactly one of these.
constexpr std::array<std::string_view, 3> kGeoMatchKeys{"net", "country", "continent"};
// The continent codes of MaxMind's databases (continent.code).
constexpr std::array<std::string_view, 7> kContinents{"AF", "AN", "AS", "EU", "NA", "OC", "SA"};
constexpr std::array<std::string_view, 5> kCheckTypes{"tcp", "http", "https", "exec", "none"};
// Probe timing, in seconds: fractions allowed, so tests can probe every 100 ms.
constexpr double kMinInterval = 0.1;
constexpr double kMinTimeout = 0.01;
constexpr double kMaxDuration = 3600;
constexpr int64_t kMaxRiseFall = 100;
// A fallback chain (pool -> pool -> ...) may be walked per query; keep it short.
constexpr size_t kMaxFallbackChain = 8;
// A failover budget, in seconds: at least the shortest probe interval, at most a day.
constexpr double kMinBudget = 0.1;
constexpr double kMaxBudget = 86400;
constexpr std::array<std::string_view, 6> kPolicies{"round-robin", "weighted", "failover",
                                                    "hash",        "geo",      "all"};

// Which keys each check type reads, besides "type".
bool check_key_applies(health::CheckType type, std::string_view key) {
    using health::CheckType;
    if (key == "type") return true;
    if (type == CheckType::none) return false;  // {"type": "none"} needs nothing else
    if (key == "interval" || key == "timeout" || key == "rise" || key == "fall" || key == "damping")
        return true;
    const bool http_key = key == "port" || key == "paths" || key == "host" ||
                          key == "expect_status" || key == "expect_body" || key == "keepalive";
    switch (type) {
        case CheckType::tcp:
            return key == "port";
        case CheckType::http:
            return http_key;
        case CheckType::https:
            return http_key || key == "verify";
        case CheckType::exec:
            return key == "command" || key == "port";
        case CheckType::none:
            break;
    }
    return false;
}

bool is_country_code(std::string_view text) {
    return text.size() == 2 && text[0] >= 'A' && text[0] <= 'Z' && text[1] >= 'A' && text[1] <= 'Z';
}

// A path or host goes into a request line: no spaces or control characters.
bool is_token_text(std::string_view text) {
    for (char c : text) {
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7F) return false;
    }
    return !text.empty();
}

// Only what makes the name unusable as an origin (false with `error` set); compile() parses
// it as a DNS name.
bool check_zone_name(std::string_view name, std::string& error) {
    const auto fail = [&](const char* why) {
        error = why;
        return false;
    };
    if (name.empty()) return fail("empty");
    if (name == ".") return true;
    for (char c : name) {
        if (c == ' ') return fail("contains a space");
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
            return fail("contains a control character");
    }
    const std::string_view body = name.ends_with('.') ? name.substr(0, name.size() - 1) : name;
    if (body.size() > 253) return fail("longer than 253 characters");
    size_t label = 0;
    for (size_t i = 0; i <= body.size(); ++i) {
        if (i == body.size() || body[i] == '.') {
            if (label == 0) return fail("empty label");
            if (label > 63) return fail("label longer than 63 characters");
            label = 0;
        } else {
            ++label;
        }
    }
    return true;
}

// A pool name is an owner name: relative to the zone, absolute with a trailing dot, or "@";
// "*.<name>" is a wildcard owner (every name below <name> that does not exist is balanced).
// A bare "*" stays out: it would balance every missing name of the zone, typos included.
bool is_valid_pool_name(std::string_view name) {
    if (name == "@") return true;
    if (name.starts_with("*.")) name.remove_prefix(2);
    const std::string_view body = name.ends_with('.') ? name.substr(0, name.size() - 1) : name;
    if (body.empty() || body.size() > 253) return false;
    size_t label = 0;
    for (char c : body) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok || ++label > 63) return false;
    }
    return label != 0;
}

// The address family and bytes, so that two spellings of one address compare equal.
std::optional<std::string> address_bytes(const std::string& text) {
    // inet_pton stops at a NUL that JSON may smuggle in with \u0000.
    if (text.find('\0') != std::string::npos) return std::nullopt;
    unsigned char buf[16];
    if (inet_pton(AF_INET, text.c_str(), buf) == 1) {
        return "4" + std::string(reinterpret_cast<const char*>(buf), 4);
    }
    if (inet_pton(AF_INET6, text.c_str(), buf) == 1) {
        return "6" + std::string(reinterpret_cast<const char*>(buf), 16);
    }
    return std::nullopt;
}

std::string not_an_address(const std::string& text) {
    return json_quoted(text) + " is not an IPv4 or IPv6 address";
}

template <class T, class U>
void set_if(std::optional<U>&& value, T& out) {
    if (value) out = static_cast<T>(std::move(*value));
}

class ZoneLoader : private JsonReader {
  public:
    using JsonReader::JsonReader;
    using JsonReader::report_duplicate_keys;

    void load(const Json& dom, ZoneSpec& spec) {
        const JsonValue root = JsonReader::root(dom);
        if (!dom.is_object()) {
            error(value_pos(root), "expected an object at the top level");
            return;
        }
        for (const JsonMember& m : members(root, kZoneKeys)) {
            const JsonValue& v = m.value;
            if (m.key == "zone") {
                load_origin(v, spec.origin);
            } else if (m.key == "ttl") {
                set_if(integer_value(v, m.key, 0, kMaxTtl), spec.ttl);
            } else if (m.key == "soa") {
                load_soa(v, spec.soa);
            } else if (m.key == "ns") {
                load_strings(v, spec.ns, "expected at least one name server");
            } else if (m.key == "records") {
                load_strings(v, spec.records, {});
            } else if (m.key == "checks") {
                load_checks(v, spec.checks);
            } else if (m.key == "geo") {
                load_geo(v, spec.geo);
            } else if (m.key == "failover_budget") {
                spec.failover_budget = budget_value(v);
            } else if (m.key == "pools") {
                load_pools(v, spec.pools);
            } else if (m.key == "notify") {
                if (load_command(v, spec.notify)) check_placeholders(v);
            } else if (m.key == "dnssec") {
                load_dnssec(v, spec.dnssec);
            } else if (m.key == "$schema" && !v.dom.is_string()) {
                error(value_pos(v), expected("a string", v.dom));
            }
        }
        require(root, {"zone", "soa", "ns"});
        check_references(spec);
    }

    void load_origin(const JsonValue& v, Located& origin) {
        std::optional<Located> name = string_value(v);
        if (!name) return;
        if (std::string problem; !check_zone_name(name->text, problem)) {
            error(name->pos, "bad zone name " + json_quoted(name->text) + " (" + problem + ")");
        }
        if (!name->text.ends_with('.')) name->text += '.';
        origin = std::move(*name);
    }

    void load_dnssec(const JsonValue& v, std::optional<DnssecSpec>& out) {
        DnssecSpec d;
        d.pos = value_pos(v);
        if (!expect_object(v)) return;
        for (const JsonMember& m : members(v, kDnssecKeys)) {
            const JsonValue& f = m.value;
            if (m.key == "keys") {
                std::optional<Located> keys = string_value(f);
                if (keys && keys->text.empty()) {
                    error(keys->pos, "expected a key directory, not \"\"");
                } else if (keys) {
                    d.keys = std::move(*keys);
                }
            } else if (m.key == "signature_validity") {
                set_if(integer_value(f, m.key, kMinValidity, kMaxValidity), d.signature_validity);
            }
        }
        require(v, {"keys"});
        out = std::move(d);
    }

    std::optional<BudgetSpec> budget_value(const JsonValue& v) {
        const std::optional<uint32_t> ms =
            duration_value(v, "failover_budget", kMinBudget, kMaxBudget);
        if (!ms) return std::nullopt;
        return BudgetSpec{*ms, value_pos(v)};
    }

    void load_soa(const JsonValue& v, SoaSpec& soa) {
        soa.pos = value_pos(v);
        if (!expect_object(v)) return;
        for (const JsonMember& m : members(v, kSoaKeys)) {
            const JsonValue& f = m.value;
            if (m.key == "mname") {
                set_if(string_value(f), soa.mname);
            } else if (m.key == "rname") {
                set_if(string_value(f), soa.rname);
            } else if (m.key == "serial") {
                set_if(integer_value(f, m.key, 0, kMaxSerial), soa.serial);
            } else if (m.key == "refresh") {
                set_if(integer_value(f, m.key, 0, kMaxTtl), soa.refresh);
            } else if (m.key == "retry") {
                set_if(integer_value(f, m.key, 0, kMaxTtl), soa.retry);
            } else if (m.key == "expire") {
                set_if(integer_value(f, m.key, 0, kMaxTtl), soa.expire);
            } else if (m.key == "minimum") {
                set_if(integer_value(f, m.key, 0, kMaxTtl), soa.minimum);
            }
        }
        require(v, {"mname", "rname", "serial"});
    }

    // An empty `if_empty` allows an empty array.
    void load_strings(const JsonValue& v, std::vector<Located>& out, std::string_view if_empty) {
        if (!expect_array(v)) return;
        if (v.dom.empty() && !if_empty.empty()) {
            error(value_pos(v), std::string(if_empty));
            return;
        }
        out.reserve(v.dom.size());
        for (const JsonValue& e : elements(v)) {
            if (std::optional<Located> s = string_value(e)) out.push_back(std::move(*s));
        }
    }

    void load_checks(const JsonValue& v, std::vector<CheckSpec>& checks) {
        if (!expect_object(v)) return;
        for (const JsonMember& m : members(v, std::nullopt)) {
            CheckSpec check;
            check.name = {std::string(m.key), key_pos(m.value.node, m.value.path)};
            if (m.key.empty() || m.key.size() > kMaxNameLength) {
                error(check.name.pos, "bad check name " + json_quoted(m.key.substr(0, 64)));
                rejected_checks_.push_back(std::string(m.key));
                continue;
            }
            if (load_check(m.value, check)) {
                checks.push_back(std::move(check));
            } else {
                // Its problem is reported where it is; the pools naming it are not wrong too.
                rejected_checks_.push_back(std::string(m.key));
            }
        }
    }

    // Fills `check.def`; false when anything is wrong (every problem reported).
    bool load_check(const JsonValue& v, CheckSpec& check) {
        check.pos = value_pos(v);
        if (!expect_object(v)) return false;
        health::CheckDef& def = check.def;
        // The type decides which other keys mean something, so it is read first.
        std::optional<health::CheckType> type;
        if (const auto it = v.dom.find("type"); it != v.dom.end() && it->is_string()) {
            health::CheckType t;
            if (health::parse_check_type(it->get<std::string>(), t)) type = t;
        }
        if (type) def.type = *type;
        bool ok = true;
        std::optional<Located> timeout_written;  // as written, where written
        bool interval_given = false;
        for (const JsonMember& m : members(v, kCheckKeys)) {
            const JsonValue& f = m.value;
            if (type && !check_key_applies(*type, m.key)) {
                error(key_pos(f.node, f.path), json_quoted(m.key) + " does not apply to a " +
                                                   health::check_type_name(*type) + " check");
                ok = false;
            } else if (m.key == "type") {
                std::optional<Located> t = string_value(f);
                if (t && !type) {
                    error(t->pos, "unknown check type " + json_quoted(t->text) +
                                      " (expected one of: " + join(kCheckTypes) + ")");
                }
            } else if (m.key == "port") {
                std::optional<int64_t> port = integer_value(f, m.key, 1, 65535);
                if (port) def.port = static_cast<uint16_t>(*port);
                ok &= port.has_value();
            } else if (m.key == "paths") {
                ok &= load_paths(f, def.paths);
            } else if (m.key == "host") {
                std::optional<Located> host = string_value(f);
                if (host && (!is_token_text(host->text) ||
                             host->text.find_first_of("/?#@[]") != std::string::npos)) {
                    error(host->pos, "bad host " + json_quoted(host->text) +
                                         " (a host name, without scheme, port or path)");
                    host.reset();
                }
                if (host) def.host = std::move(host->text);
                ok &= host.has_value();
            } else if (m.key == "expect_status") {
                ok &= load_statuses(f, def.expect_status);
            } else if (m.key == "expect_body") {
                std::optional<Located> body = string_value(f);
                if (body) {
                    def.has_expect_body = true;
                    def.expect_body = std::move(body->text);
                }
                ok &= body.has_value();
            } else if (m.key == "verify") {
                std::optional<bool> verify = bool_value(f);
                if (verify) def.verify = *verify;
                ok &= verify.has_value();
            } else if (m.key == "keepalive") {
                std::optional<bool> keepalive = bool_value(f);
                if (keepalive) def.keepalive = *keepalive;
                ok &= keepalive.has_value();
            } else if (m.key == "command") {
                ok &= load_command(f, def.command);
            } else if (m.key == "interval") {
                interval_given = true;
                std::optional<uint32_t> ms = duration_value(f, m.key, kMinInterval, kMaxDuration);
                if (ms) def.interval_ms = *ms;
                ok &= ms.has_value();
            } else if (m.key == "timeout") {
                std::optional<uint32_t> ms = duration_value(f, m.key, kMinTimeout, kMaxDuration);
                if (ms) {
                    def.timeout_ms = *ms;
                    timeout_written = Located{raw_number(f), value_pos(f)};
                }
                ok &= ms.has_value();
            } else if (m.key == "rise" || m.key == "fall") {
                std::optional<int64_t> n = integer_value(f, m.key, 1, kMaxRiseFall);
                if (n) (m.key == "rise" ? def.rise : def.fall) = static_cast<uint32_t>(*n);
                ok &= n.has_value();
            } else if (m.key == "damping") {
                def.damping = load_damping(f);
                ok &= def.damping.has_value();
            }
        }
        require(v, {"type"});
        if (!type) return false;
        if (!timeout_written) def.timeout_ms = health::default_timeout_ms(def.interval_ms);
        // A probe starts every interval: with the timeout below it, at most one is in flight.
        if (timeout_written && def.timeout_ms >= def.interval_ms) {
            error(timeout_written->pos, "timeout " + timeout_written->text +
                                            " must be below interval " +
                                            health::seconds_text(def.interval_ms) +
                                            (interval_given ? "" : " (the default)"));
            ok = false;
        }
        switch (*type) {
            case health::CheckType::tcp:
                if (!v.dom.contains("port")) {
                    require(v, {"port"});
                    ok = false;
                }
                break;
            case health::CheckType::http:
            case health::CheckType::https:
                if (def.port == 0) def.port = *type == health::CheckType::http ? 80 : 443;
                if (def.paths.empty()) def.paths.push_back("/");
                break;
            case health::CheckType::exec:
                if (!v.dom.contains("command")) {
                    require(v, {"command"});
                    ok = false;
                }
                break;
            case health::CheckType::none:
                break;
        }
        return ok;
    }

    // A penalty threshold: a number of state changes, fractions allowed.
    std::optional<double> penalty_value(const JsonValue& v, std::string_view name) {
        if (!v.dom.is_number()) {
            error(value_pos(v), expected("a number", v.dom));
            return std::nullopt;
        }
        const double d = v.dom.get<double>();
        if (!(d >= kMinPenalty && d <= kMaxPenalty)) {
            char range[64];
            std::snprintf(range, sizeof range, " is out of range (%g..%g)", kMinPenalty,
                          kMaxPenalty);
            error(value_pos(v), std::string(name) + " " + raw_number(v) + range);
            return std::nullopt;
        }
        return d;
    }

    // "damping": {"half_life", "suppress", "reuse", "max_suppress"}, each defaulted; nullopt
    // when anything is wrong (every problem reported where it was written).
    std::optional<health::DampingDef> load_damping(const JsonValue& v) {
        if (!expect_object(v)) return std::nullopt;
        health::DampingDef d;
        bool ok = true;
        std::optional<SourcePos> half_life_pos, reuse_pos, max_pos;
        std::string suppress_text = "3 (the default)", half_life_text = "60 (the default)";
        for (const JsonMember& m : members(v, kDampingKeys)) {
            const JsonValue& f = m.value;
            if (m.key == "half_life" || m.key == "max_suppress") {
                std::optional<uint32_t> ms =
                    duration_value(f, m.key, kMinInterval, kMaxDampingSeconds);
                if (ms) {
                    (m.key == "half_life" ? d.half_life_ms : d.max_suppress_ms) = *ms;
                    (m.key == "half_life" ? half_life_pos : max_pos) = value_pos(f);
                    if (m.key == "half_life") half_life_text = raw_number(f);
                }
                ok &= ms.has_value();
            } else {
                std::optional<double> n = penalty_value(f, m.key);
                if (n) {
                    (m.key == "suppress" ? d.suppress : d.reuse) = *n;
                    if (m.key == "reuse") reuse_pos = value_pos(f);
                    if (m.key == "suppress") suppress_text = raw_number(f);
                }
                ok &= n.has_value();
            }
        }
        if (!ok) return std::nullopt;
        // Released below reuse, suppressed above suppress: reuse at or above suppress would
        // release a member in the same breath as it suppressed it.
        if (d.reuse >= d.suppress) {
            error(reuse_pos ? *reuse_pos : value_pos(v),
                  "reuse " + raw_or_default(d.reuse, reuse_pos) + " must be below suppress " +
                      suppress_text);
            ok = false;
        }
        if (d.max_suppress_ms < d.half_life_ms) {
            error(max_pos         ? *max_pos
                  : half_life_pos ? *half_life_pos
                                  : value_pos(v),
                  "max_suppress " + health::seconds_text(d.max_suppress_ms) +
                      (max_pos ? "" : " (the default)") + " must be at least half_life " +
                      half_life_text);
            ok = false;
        }
        if (!ok) return std::nullopt;
        return d;
    }

    static std::string raw_or_default(double value, const std::optional<SourcePos>& given) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", value);
        return std::string(buf) + (given ? "" : " (the default)");
    }

    bool load_paths(const JsonValue& v, std::vector<std::string>& paths) {
        if (!expect_array(v)) return false;
        if (v.dom.empty()) {
            error(value_pos(v), "expected at least one path");
            return false;
        }
        bool ok = true;
        for (const JsonValue& e : elements(v)) {
            std::optional<Located> path = string_value(e);
            if (path && !path->text.starts_with('/')) {
                error(path->pos,
                      "bad path " + json_quoted(path->text) + " (must start with \"/\")");
                path.reset();
            } else if (path && !is_token_text(path->text)) {
                error(path->pos, "bad path " + json_quoted(path->text) +
                                     " (must have no spaces or control characters)");
                path.reset();
            }
            if (path) paths.push_back(std::move(path->text));
            ok &= path.has_value();
        }
        return ok;
    }

    // One status code or a list of them.
    bool load_statuses(const JsonValue& v, std::vector<uint16_t>& statuses) {
        if (v.dom.is_number()) {
            std::optional<int64_t> s = integer_value(v, "status", 100, 599);
            if (s) statuses.push_back(static_cast<uint16_t>(*s));
            return s.has_value();
        }
        if (!v.dom.is_array()) {
            error(value_pos(v), expected("a status code or an array of them", v.dom));
            return false;
        }
        if (v.dom.empty()) {
            error(value_pos(v), "expected at least one status code");
            return false;
        }
        bool ok = true;
        for (const JsonValue& e : elements(v)) {
            std::optional<int64_t> s = integer_value(e, "status", 100, 599);
            if (s) statuses.push_back(static_cast<uint16_t>(*s));
            ok &= s.has_value();
        }
        return ok;
    }

    bool load_command(const JsonValue& v, std::vector<std::string>& command) {
        if (!expect_array(v)) return false;
        if (v.dom.empty()) {
            error(value_pos(v), "expected the program and its arguments");
            return false;
        }
        bool ok = true;
        for (const JsonValue& e : elements(v)) {
            std::optional<Located> arg = string_value(e);
            if (arg && arg->text.find('\0') != std::string::npos) {
                error(arg->pos, "an argument cannot contain a NUL character");
                arg.reset();
            } else if (arg && command.empty() && arg->text.empty()) {
                error(arg->pos, "the program is empty");
                arg.reset();
            }
            if (arg) command.push_back(std::move(arg->text));
            ok &= arg.has_value();
        }
        return ok;
    }

    // "{word}" in a notify argument must be a placeholder: a typo would otherwise reach the
    // program as written, on the day a member goes down.
    void check_placeholders(const JsonValue& v) {
        for (const JsonValue& e : elements(v)) {
            const std::string& arg = e.dom.get_ref<const std::string&>();
            for (size_t open = arg.find('{'); open != std::string::npos;
                 open = arg.find('{', open + 1)) {
                size_t end = open + 1;
                while (end < arg.size() &&
                       ((arg[end] >= 'a' && arg[end] <= 'z') || arg[end] == '_'))
                    ++end;
                if (end == open + 1 || end >= arg.size() || arg[end] != '}') continue;
                const std::string_view word(arg.data() + open, end + 1 - open);
                if (contains(kNotifyPlaceholders, word)) continue;
                std::string message = "unknown placeholder " + std::string(word);
                if (std::string_view best = closest(word, kNotifyPlaceholders); !best.empty())
                    message += " (did you mean " + std::string(best) + "?)";
                else
                    message += " (placeholders: " + join(kNotifyPlaceholders) + ")";
                error(value_pos(e), message);
            }
        }
    }

    // Names that pools and members refer to: checks and fallback pools. Checked once the
    // whole file is read, as "checks" may come after "pools".
    void check_references(const ZoneSpec& spec) {
        std::vector<std::string_view> check_names;
        for (const CheckSpec& c : spec.checks) check_names.push_back(c.name.text);
        std::vector<std::string_view> pool_names;
        for (const PoolSpec& p : spec.pools) pool_names.push_back(p.name.text);
        const auto check_name = [&](const Located& ref) {
            if (contains(check_names, ref.text)) return;
            if (std::find(rejected_checks_.begin(), rejected_checks_.end(), ref.text) !=
                rejected_checks_.end())
                return;
            std::string message = "unknown check " + json_quoted(ref.text);
            if (check_names.empty()) {
                message += " (the zone has no \"checks\")";
            } else if (std::string_view best = closest(ref.text, check_names); !best.empty()) {
                message += " (did you mean " + json_quoted(best) + "?)";
            } else {
                message += " (defined: " + join(check_names) + ")";
            }
            error(ref.pos, std::move(message));
        };
        const auto is_pool_ref = [](const std::optional<Located>& fb) {
            return fb && fb->text != "all" && fb->text != "none";
        };
        for (const PoolSpec& p : spec.pools) {
            const auto check_ref = [&](const std::optional<CheckRef>& ref) {
                if (!ref) return;
                for (const Located& name : ref->names) check_name(name);
            };
            check_ref(p.check);
            for (const MemberSpec& m : p.members) check_ref(m.check());
            if (!is_pool_ref(p.fallback)) continue;
            const Located& fb = *p.fallback;
            if (fb.text == p.name.text) {
                error(fb.pos,
                      "a pool cannot fall back to itself (expected \"all\", \"none\" or the "
                      "name of another pool)");
            } else if (!contains(pool_names, fb.text)) {
                std::string message = "unknown fallback " + json_quoted(fb.text) +
                                      " (expected \"all\", \"none\" or the name of another pool";
                if (std::string_view best = closest(fb.text, pool_names); !best.empty())
                    message += "; did you mean " + json_quoted(best) + "?";
                error(fb.pos, message + ")");
            }
        }
        // Chains (a -> b -> c): no loops, and short, since a query may walk one.
        for (const PoolSpec& start : spec.pools) {
            std::vector<std::string_view> chain{start.name.text};
            const PoolSpec* at = &start;
            while (is_pool_ref(at->fallback)) {
                const std::string& next = at->fallback->text;
                const auto it =
                    std::find_if(spec.pools.begin(), spec.pools.end(),
                                 [&](const PoolSpec& p) { return p.name.text == next; });
                if (it == spec.pools.end() || &*it == at) break;  // reported above
                const bool loops = contains(chain, next);
                chain.push_back(next);
                if (loops || chain.size() > kMaxFallbackChain + 1) {
                    std::string route;
                    for (std::string_view n : chain)
                        route += (route.empty() ? "" : " -> ") + std::string(n);
                    // A loop is reported once per pool on it, each at its own fallback.
                    if (!loops) {
                        error(start.fallback->pos, "fallback chain longer than " +
                                                       std::to_string(kMaxFallbackChain) +
                                                       " pools: " + route);
                    } else if (next == start.name.text) {
                        error(start.fallback->pos, "fallback loop: " + route);
                    }
                    break;
                }
                at = &*it;
            }
        }
    }

    void load_pools(const JsonValue& v, std::vector<PoolSpec>& pools) {
        if (!expect_object(v)) return;
        const std::vector<JsonMember> all = members(v, std::nullopt);
        pools.reserve(all.size());
        for (const JsonMember& m : all) {
            PoolSpec pool;
            // Positioned on the key, as the name is what the operator wrote there.
            pool.name = {std::string(m.key), key_pos(m.value.node, m.value.path)};
            if (!is_valid_pool_name(m.key)) {
                std::string why = "bad pool name " + json_quoted(m.key);
                // "a.*.b", "x*.b": say where a wildcard may stand (a bare "*" is refused on
                // purpose, see is_valid_pool_name).
                if (m.key != "*" && m.key.find('*') != std::string_view::npos &&
                    m.key.size() <= kMaxNameLength)
                    why += ": \"*\" is a wildcard only as the whole leftmost label (\"*.cdn\")";
                error(pool.name.pos, why);
                // Every path inside repeats the name: a pool named with a megabyte would cost
                // a megabyte per member, so only names of sane length are looked into.
                if (m.key.size() > kMaxNameLength) continue;
            }
            if (load_pool(m.value, pool)) pools.push_back(std::move(pool));
        }
    }

    bool load_pool(const JsonValue& v, PoolSpec& pool) {
        pool.pos = value_pos(v);
        if (!expect_object(v)) return false;
        std::optional<JsonValue> require_value;  // resolved once "check" is known
        for (const JsonMember& m : members(v, kPoolKeys)) {
            const JsonValue& f = m.value;
            if (m.key == "policy") {
                std::optional<Located> policy = string_value(f);
                if (!policy) continue;
                if (!contains(kPolicies, policy->text)) {
                    error(policy->pos, "unknown policy " + json_quoted(policy->text) +
                                           " (expected one of: " + join(kPolicies) + ")");
                }
                pool.policy = std::move(*policy);
            } else if (m.key == "ttl") {
                set_if(integer_value(f, m.key, 0, kMaxTtl), pool.ttl);
            } else if (m.key == "ttl_degraded") {
                set_if(integer_value(f, m.key, 0, kMaxTtl), pool.ttl_degraded);
                pool.ttl_degraded_pos = value_pos(f);
            } else if (m.key == "answers") {
                set_if(integer_value(f, m.key, 1, kMaxAnswers), pool.answers);
            } else if (m.key == "check") {
                pool.check = check_ref(f);
            } else if (m.key == "require") {
                require_value.emplace(f);
            } else if (m.key == "fallback") {
                set_if(string_value(f), pool.fallback);
            } else if (m.key == "failover_budget") {
                pool.failover_budget = budget_value(f);
            } else if (m.key == "regions") {
                pool.regions_pos = key_pos(f.node, f.path);
                load_region_lists(f, pool.regions);
            } else if (m.key == "failback") {
                pool.failback_pos = value_pos(f);
                pool.failback = failback_value(f);
            } else if (m.key == "members") {
                load_members(f, pool.members);
            }
        }
        require(v, {"members"});
        resolve_require(pool.check, require_value);
        if (pool.regions_pos && pool.policy.text != "geo" &&
            contains(kPolicies, pool.policy.text)) {
            error(*pool.regions_pos,
                  "\"regions\" only applies to a geo pool (this one is " + pool.policy.text + ")");
        }
        return true;
    }

    // "failback": "immediate", "manual" or {"delay": seconds}; nullopt when wrong (reported).
    std::optional<health::FailbackDef> failback_value(const JsonValue& v) {
        health::FailbackDef d;
        if (v.dom.is_string()) {
            const std::string text = v.dom.get<std::string>();
            if (text == "immediate") return d;
            if (text == "manual") {
                d.mode = health::FailbackMode::manual;
                return d;
            }
            std::string what = "unknown failback " + json_quoted(text);
            if (std::string_view best = closest(text, kFailbackModes); !best.empty())
                what += " (did you mean " + json_quoted(best) + "?)";
            error(value_pos(v),
                  what + ": expected \"immediate\", \"manual\" or {\"delay\": seconds}");
            return std::nullopt;
        }
        if (!v.dom.is_object()) {
            error(value_pos(v),
                  expected("\"immediate\", \"manual\" or {\"delay\": seconds}", v.dom));
            return std::nullopt;
        }
        std::optional<uint32_t> ms;
        for (const JsonMember& m : members(v, kFailbackKeys))
            ms = duration_value(m.value, "delay", kMinFailbackDelay, kMaxFailbackDelay);
        require(v, {"delay"});
        if (!ms) return std::nullopt;
        d.mode = health::FailbackMode::delay;
        d.delay_ms = *ms;
        return d;
    }

    // A region as a rule, the default, a member or a "regions" list names it.
    std::optional<Located> region_name(const JsonValue& v) {
        std::optional<Located> name = string_value(v);
        if (name && name->text.empty()) {
            error(name->pos, "expected a region name, got an empty string");
            return std::nullopt;
        }
        if (name && name->text.size() > kMaxNameLength) {
            error(name->pos,
                  "region name longer than " + std::to_string(kMaxNameLength) + " characters");
            return std::nullopt;
        }
        return name;
    }

    void load_region_lists(const JsonValue& v, std::vector<RegionListSpec>& lists) {
        if (!expect_object(v)) return;
        for (const JsonMember& m : members(v, std::nullopt)) {
            RegionListSpec list;
            list.client.text = std::string(m.key);
            list.client.pos = key_pos(m.value.node, m.value.path);
            if (m.key.empty()) {
                error(list.client.pos, "expected a region name, got an empty key");
                continue;
            }
            if (m.key.size() > kMaxNameLength) {
                error(list.client.pos,
                      "region name longer than " + std::to_string(kMaxNameLength) + " characters");
                continue;
            }
            const JsonValue& f = m.value;
            if (!expect_array(f)) continue;
            if (f.dom.empty()) {
                error(value_pos(f), "expected at least one region");
                continue;
            }
            for (const JsonValue& e : elements(f))
                if (std::optional<Located> r = region_name(e))
                    list.regions.push_back(std::move(*r));
            lists.push_back(std::move(list));
        }
    }

    void load_geo(const JsonValue& v, std::optional<GeoSpec>& out) {
        GeoSpec geo;
        geo.pos = value_pos(v);
        if (!expect_object(v)) return;
        for (const JsonMember& m : members(v, kGeoKeys)) {
            const JsonValue& f = m.value;
            if (m.key == "database") {
                std::optional<Located> path = string_value(f);
                if (path && (path->text.empty() || path->text.find('\0') != std::string::npos)) {
                    error(path->pos, "expected the path of a MaxMind database (.mmdb)");
                    path.reset();
                }
                set_if(std::move(path), geo.database);
            } else if (m.key == "rules") {
                load_geo_rules(f, geo.rules);
            } else if (m.key == "default") {
                set_if(region_name(f), geo.default_region);
            }
        }
        require(v, {"rules", "default"});
        out = std::move(geo);
    }

    void load_geo_rules(const JsonValue& v, std::vector<GeoRuleSpec>& rules) {
        if (!expect_array(v)) return;
        rules.reserve(v.dom.size());
        for (const JsonValue& e : elements(v)) {
            GeoRuleSpec rule;
            rule.pos = value_pos(e);
            if (!expect_object(e)) continue;
            std::string_view matcher;  // the first of net, country, continent given
            for (const JsonMember& m : members(e, kGeoRuleKeys)) {
                const JsonValue& f = m.value;
                if (contains(kGeoMatchKeys, m.key)) {
                    if (!matcher.empty()) {
                        error(key_pos(f.node, f.path),
                              "a rule matches on one of \"net\", \"country\" or \"continent\" "
                              "(this one already has " +
                                  json_quoted(matcher) + ")");
                        continue;
                    }
                    matcher = m.key;
                }
                if (m.key == "net") {
                    std::optional<Located> net = string_value(f);
                    lb::Cidr cidr;
                    if (net) {
                        if (std::string problem; !lb::parse_cidr(net->text, cidr, problem)) {
                            error(net->pos, std::move(problem));
                            net.reset();
                        }
                    }
                    set_if(std::move(net), rule.net);
                } else if (m.key == "country") {
                    std::optional<Located> code = string_value(f);
                    if (code && !is_country_code(code->text)) {
                        error(code->pos, json_quoted(code->text) +
                                             " is not a country code (two capital letters, "
                                             "ISO 3166-1 alpha-2, like \"US\")");
                        code.reset();
                    }
                    set_if(std::move(code), rule.country);
                } else if (m.key == "continent") {
                    std::optional<Located> code = string_value(f);
                    if (code && !contains(kContinents, code->text)) {
                        error(code->pos, "unknown continent " + json_quoted(code->text) +
                                             " (expected one of: " + join(kContinents) + ")");
                        code.reset();
                    }
                    set_if(std::move(code), rule.continent);
                } else if (m.key == "region") {
                    set_if(region_name(f), rule.region);
                }
            }
            if (matcher.empty()) {
                SourcePos pos = value_pos(e);
                append_path_key(pos.path, "net");
                error(std::move(pos), "missing required key \"net\", \"country\" or \"continent\"");
            }
            require(e, {"region"});
            rules.push_back(std::move(rule));
        }
    }

    // The member's own positions keep no json.path (member_pos() rebuilds it).
    static LineCol line_col(const SourcePos& p) { return {p.line, p.col}; }

    // Binary address -> line and column of the member that has it first.
    using SeenAddresses = std::unordered_map<std::string, std::pair<uint32_t, uint32_t>>;

    void load_members(const JsonValue& v, std::vector<MemberSpec>& members) {
        if (!expect_array(v)) return;
        if (v.dom.empty()) {
            error(value_pos(v), "expected at least one member");
            return;
        }
        members.reserve(v.dom.size());
        SeenAddresses seen;
        seen.reserve(v.dom.size());
        uint32_t index = 0;
        for (const JsonValue& e : elements(v)) {
            MemberSpec member;
            member.index = index++;
            if (load_member(e, member, seen)) members.push_back(std::move(member));
        }
    }

    bool load_member(const JsonValue& v, MemberSpec& member, SeenAddresses& seen) {
        member.pos = line_col(value_pos(v));
        if (!expect_object(v)) return false;
        std::optional<JsonValue> require_value;  // resolved once "check" is known
        MemberExtras extras;                     // kept only if not empty
        for (const JsonMember& m : members(v, kMemberKeys)) {
            const JsonValue& f = m.value;
            if (m.key == "address") {
                std::optional<Located> address = string_value(f);
                if (!address) continue;
                if (std::optional<std::string> bytes = address_bytes(address->text)) {
                    const auto [first, inserted] =
                        seen.try_emplace(std::move(*bytes), address->pos.line, address->pos.col);
                    if (!inserted) {
                        error(address->pos, "duplicate member " + address->text +
                                                " (first at line " +
                                                std::to_string(first->second.first) + ":" +
                                                std::to_string(first->second.second) + ")");
                    }
                } else {
                    error(address->pos, not_an_address(address->text));
                }
                member.address = {std::move(address->text), line_col(address->pos)};
            } else if (m.key == "enabled") {
                set_if(bool_value(f), member.enabled);
            } else if (m.key == "weight") {
                set_if(integer_value(f, m.key, 0, kMaxWeight), member.weight);
            } else if (m.key == "priority") {
                set_if(integer_value(f, m.key, -kMaxPriority, kMaxPriority), member.priority);
            } else if (m.key == "region") {
                set_if(region_name(f), extras.region);
            } else if (m.key == "check") {
                extras.check = check_ref(f);
            } else if (m.key == "require") {
                require_value.emplace(f);
            } else if (m.key == "probe_address") {
                std::optional<Located> probe = string_value(f);
                if (probe && !address_bytes(probe->text)) {
                    error(probe->pos, not_an_address(probe->text));
                }
                set_if(std::move(probe), extras.probe_address);
            } else if (m.key == "maintenance") {
                load_maintenance(f, member.maintenance);
            } else if (m.key == "damping") {
                extras.damping = load_damping(f);
                extras.damping_pos = key_pos(f.node, f.path);
            }
        }
        require(v, {"address"});
        resolve_require(extras.check, require_value);
        member.set_extras(std::move(extras));
        return true;
    }

    // "check": "web", or ["web", "api"] (a composite check, with "require" beside it).
    std::optional<CheckRef> check_ref(const JsonValue& v) {
        CheckRef ref;
        ref.pos = value_pos(v);
        if (!v.dom.is_array()) {
            std::optional<Located> name = string_value(v);
            if (!name) return std::nullopt;
            ref.names.push_back(std::move(*name));
            return ref;
        }
        ref.list = true;
        if (v.dom.empty()) {
            error(ref.pos, "expected at least one check name");
            return std::nullopt;
        }
        if (v.dom.size() > kMaxCheckParts) {
            error(ref.pos, "at most " + std::to_string(kMaxCheckParts) +
                               " checks in a composite check, not " + std::to_string(v.dom.size()));
            return std::nullopt;
        }
        bool ok = true;
        for (const JsonValue& e : elements(v)) {
            std::optional<Located> name = string_value(e);
            if (!name) {
                ok = false;
                continue;
            }
            const auto first = std::find_if(ref.names.begin(), ref.names.end(),
                                            [&](const Located& n) { return n.text == name->text; });
            if (first != ref.names.end()) {
                error(name->pos, "duplicate check " + json_quoted(name->text) + " (first at line " +
                                     std::to_string(first->pos.line) + ":" +
                                     std::to_string(first->pos.col) + ")");
                ok = false;
                continue;
            }
            ref.names.push_back(std::move(*name));
        }
        if (!ok) return std::nullopt;
        return ref;
    }

    // "require" of the object just read: "all" (the default), "any" or 1..parts, and only
    // beside a list of checks.
    void resolve_require(std::optional<CheckRef>& check, const std::optional<JsonValue>& v) {
        if (!v) return;
        const SourcePos at = value_pos(*v);
        uint32_t n = 0;
        if (v->dom.is_string()) {
            const std::string text = v->dom.get<std::string>();
            if (text == "any") {
                n = 1;
            } else if (text != "all") {
                error(at, "bad require " + json_quoted(text.substr(0, 64)) +
                              " (expected \"all\", \"any\" or a number of checks)");
                return;
            }
        } else if (v->dom.is_number_integer() || v->dom.is_number_unsigned()) {
            const uint64_t hi = check && check->list ? check->names.size() : kMaxCheckParts;
            const std::optional<int64_t> i = integer_value(*v, "require", 1, hi);
            if (!i) return;
            n = static_cast<uint32_t>(*i);
        } else {
            error(at, "expected \"all\", \"any\" or a number of checks");
            return;
        }
        if (!check) return;  // no "check", or a bad one: reported there
        if (!check->list) {
            error(at,
                  "\"require\" applies only to a list of checks (\"check\": [\"web\", "
                  "\"api\"])");
            return;
        }
        check->require = n == check->names.size() ? 0 : n;
        check->require_pos = at;
    }

    // [{"start": "2026-12-24T22:00:00Z", "end": "2026-12-25T02:00:00Z"}, ...]: RFC 3339 UTC,
    // as /status writes times.
    void load_maintenance(const JsonValue& v, std::vector<lb::MaintenanceWindow>& out) {
        if (!expect_array(v)) return;
        for (const JsonValue& e : elements(v)) {
            if (!expect_object(e)) continue;
            std::optional<Located> at[2];
            for (const JsonMember& m : members(e, kMaintenanceKeys)) {
                std::optional<Located> t = string_value(m.value);
                if (t && !util::parse_rfc3339(t->text)) {
                    error(t->pos, json_quoted(t->text) +
                                      " is not a time like \"2026-12-24T22:00:00Z\" (RFC 3339, "
                                      "UTC, whole seconds)");
                    t.reset();
                }
                at[m.key == "start" ? 0 : 1] = std::move(t);
            }
            require(e, {"start", "end"});
            if (!at[0] || !at[1]) continue;
            lb::MaintenanceWindow w;
            w.start_unix_ms = *util::parse_rfc3339(at[0]->text);
            w.end_unix_ms = *util::parse_rfc3339(at[1]->text);
            if (w.end_unix_ms <= w.start_unix_ms) {
                error(at[1]->pos, "end " + json_quoted(at[1]->text) + " is not after its start " +
                                      json_quoted(at[0]->text));
                continue;
            }
            out.push_back(w);
        }
    }

    // Checks defined in the file but rejected (their problems already reported).
    std::vector<std::string> rejected_checks_;
};

bool is_blank(std::string_view text) {
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
    return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// Built member by member: brace-initializing the empty SourcePos trips a false
// -Wmaybe-uninitialized in g++ 12 at -O2.
Diagnostic whole_file_problem(const std::string& file, std::string message) {
    Diagnostic d;
    d.file = file;
    d.message = std::move(message);
    return d;
}

}  // namespace

MemberSpec::MemberSpec(const MemberSpec& o)
    : address(o.address),
      enabled(o.enabled),
      drained(o.drained),
      in_maintenance(o.in_maintenance),
      index(o.index),
      maintenance(o.maintenance),
      weight(o.weight),
      priority(o.priority),
      pos(o.pos),
      extras_(o.extras_ ? std::make_unique<MemberExtras>(*o.extras_) : nullptr) {}

MemberSpec& MemberSpec::operator=(const MemberSpec& o) {
    if (this != &o) *this = MemberSpec(o);
    return *this;
}

SourcePos member_pos(const PoolSpec& pool, const MemberSpec& member) {
    SourcePos at{member.pos.line, member.pos.col, pool.pos.path};
    append_path_key(at.path, "members");
    append_path_index(at.path, member.index);
    return at;
}

SourcePos address_pos(const PoolSpec& pool, const MemberSpec& member) {
    SourcePos at = member_pos(pool, member);
    at.line = member.address.pos.line;
    at.col = member.address.pos.col;
    append_path_key(at.path, "address");
    return at;
}

const MemberExtras& MemberSpec::extras() const {
    static const MemberExtras kNone;
    return extras_ ? *extras_ : kNone;
}

void MemberSpec::set_extras(MemberExtras extras) {
    extras_ = extras.empty() ? nullptr : std::make_unique<MemberExtras>(std::move(extras));
}

std::string CheckRef::text() const {
    std::string out;
    for (const Located& n : names) {
        if (!out.empty()) out.append("+");
        out.append(n.text);
    }
    return out;
}

LoadResult parse_zone_json(std::string_view text, const std::string& file) {
    LoadResult result;
    result.spec.file = file;
    result.spec.text_sha256 = text_sha256(text);
    if (is_blank(text)) {
        result.diags.push_back(whole_file_problem(file, "empty file"));
        return result;
    }
    Json root;
    if (!parse_json(text, file, root, result.diags)) return result;
    ZoneLoader loader(text, file, result.diags);
    loader.load(root, result.spec);
    loader.report_duplicate_keys();
    // Problems come out per object; the operator reads the file top to bottom.
    std::stable_sort(result.diags.begin(), result.diags.end(),
                     [](const Diagnostic& a, const Diagnostic& b) {
                         return std::tie(a.pos.line, a.pos.col) < std::tie(b.pos.line, b.pos.col);
                     });
    return result;
}

LoadResult load_zone_file(const std::string& path, std::string* text_out) {
    std::string text;
    const ZoneLimits& limits = zone_limits();
    std::string error;
    std::string problem;
    if (!util::read_file(path, text, error, limits.max_file_bytes)) {
        problem = "cannot read file: " + error;
    } else if (text.size() > limits.max_file_bytes) {
        problem = "more than " + std::to_string(limits.max_file_bytes) +
                  " bytes, the limit (--max-zone-file-size)";
    }
    if (!problem.empty()) {
        LoadResult result;
        result.spec.file = path;
        result.diags.push_back(whole_file_problem(path, std::move(problem)));
        return result;
    }
    LoadResult result = parse_zone_json(text, path);
    for (Diagnostic& d : check_zone_limits(result.spec, limits))
        result.diags.push_back(std::move(d));
    if (text_out != nullptr) *text_out = std::move(text);
    return result;
}

}  // namespace steerdns::zone
