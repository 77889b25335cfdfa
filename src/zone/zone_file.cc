// The JSON zone file loader: nlohmann parses, JsonPositions says where each value was
// written, and Loader walks the DOM against the schema, reporting every problem it finds.
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <tuple>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "steerdns/lb/geo_map.h"
#include "steerdns/util/file.h"
#include "steerdns/zone/json_positions.h"
#include "steerdns/zone/limits.h"
#include "steerdns/zone/zone_spec.h"

namespace steerdns::zone {
namespace {

using json = nlohmann::json;
using Keys = std::span<const std::string_view>;

constexpr int64_t kMaxTtl = 2147483647;  // RFC 2181 section 8
constexpr int64_t kMaxSerial = 4294967295;
constexpr int64_t kMaxWeight = 1000000;
constexpr int64_t kMaxPriority = 1000000;
constexpr int64_t kMaxAnswers = 64;
constexpr size_t kMaxNameLength = 255;  // presentation format, with room for escapes or a dot

// In documentation order, which is also the order of "expected one of" lists.
// "$schema" lets editors find zones/schema/zone.schema.json; the loader ignores its value.
constexpr std::array<std::string_view, 9> kZoneKeys{"zone",   "ttl", "soa",   "ns",     "records",
                                                    "checks", "geo", "pools", "$schema"};
constexpr std::array<std::string_view, 7> kSoaKeys{"mname", "rname",  "serial", "refresh",
                                                   "retry", "expire", "minimum"};
constexpr std::array<std::string_view, 7> kPoolKeys{"policy",   "ttl",     "answers", "check",
                                                    "fallback", "regions", "members"};
constexpr std::array<std::string_view, 7> kMemberKeys{
    "address", "enabled", "weight", "priority", "region", "check", "probe_address"};
constexpr std::array<std::string_view, 12> kCheckKeys{
    "type",   "port",    "paths",    "host",    "expect_status", "expect_body",
    "verify", "command", "interval", "timeout", "rise",          "fall"};
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
constexpr std::array<std::string_view, 6> kPolicies{"round-robin", "weighted", "failover",
                                                    "hash",        "geo",      "all"};

std::string join(Keys words) {
    std::string out;
    for (std::string_view w : words) {
        if (!out.empty()) out += ", ";
        out += w;
    }
    return out;
}

bool contains(Keys words, std::string_view word) {
    return std::find(words.begin(), words.end(), word) != words.end();
}

// Which keys each check type reads, besides "type".
bool check_key_applies(health::CheckType type, std::string_view key) {
    using health::CheckType;
    if (key == "type") return true;
    if (type == CheckType::none) return false;  // {"type": "none"} needs nothing else
    if (key == "interval" || key == "timeout" || key == "rise" || key == "fall") return true;
    const bool http_key = key == "port" || key == "paths" || key == "host" ||
                          key == "expect_status" || key == "expect_body";
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

// A path or host goes into a request line: no spaces or control characters.
bool is_country_code(std::string_view text) {
    return text.size() == 2 && text[0] >= 'A' && text[0] <= 'Z' && text[1] >= 'A' && text[1] <= 'Z';
}

bool is_token_text(std::string_view text) {
    for (char c : text) {
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7F) return false;
    }
    return !text.empty();
}

std::string unknown_key_message(std::string_view key, Keys allowed) {
    const std::string_view best = closest(key, allowed);
    std::string message = "unknown key " + json_quoted(key);
    if (!best.empty()) return message + " (did you mean " + json_quoted(best) + "?)";
    return message + " (expected one of: " + join(allowed) + ")";
}

std::string_view kind_of(const json& v) {
    switch (v.type()) {
        case json::value_t::null:
            return "null";
        case json::value_t::boolean:
            return "a boolean";
        case json::value_t::string:
            return "a string";
        case json::value_t::array:
            return "an array";
        case json::value_t::object:
            return "an object";
        default:
            return "a number";  // the parser produces no binary or discarded values
    }
}

std::string expected(std::string_view what, const json& got) {
    return "expected " + std::string(what) + ", got " + std::string(kind_of(got));
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

// A pool name is an owner name: relative to the zone, absolute with a trailing dot, or "@".
bool is_valid_pool_name(std::string_view name) {
    if (name == "@") return true;
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

using NodeId = JsonPositions::NodeId;

// A DOM value with where it was written.
struct Value {
    const json& dom;
    NodeId node;
    std::string path;
};

struct Member {
    std::string_view key;  // points into JsonPositions
    Value value;
};

class Loader {
  public:
    Loader(std::string_view text, const std::string& file, const JsonPositions& positions,
           Diagnostics& diags)
        : text_(text), file_(file), positions_(positions), diags_(diags) {}

    void load(const json& dom, ZoneSpec& spec) {
        const Value root{dom, positions_.root(), ""};
        if (!dom.is_object()) {
            error(value_pos(root), "expected an object at the top level");
            return;
        }
        for (const Member& m : members(root, kZoneKeys)) {
            const Value& v = m.value;
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
            } else if (m.key == "pools") {
                load_pools(v, spec.pools);
            } else if (m.key == "$schema" && !v.dom.is_string()) {
                error(value_pos(v), expected("a string", v.dom));
            }
        }
        require(root, {"zone", "soa", "ns"});
        check_references(spec);
    }

    void report_duplicate_keys() {
        for (const JsonPositions::DuplicateKey& d : positions_.duplicate_keys()) {
            error(key_pos(d.member, positions_.path(d.member)),
                  "duplicate key " + json_quoted(positions_.node(d.member).key_text));
        }
    }

  private:
    void error(SourcePos pos, std::string message) {
        diags_.push_back({file_, std::move(pos), std::move(message)});
    }

    SourcePos value_pos(const Value& v) const {
        const TextPos& p = positions_.node(v.node).value;
        return {p.line, p.col, v.path};
    }

    SourcePos key_pos(NodeId member, std::string path) const {
        const TextPos& p = positions_.node(member).key;
        return {p.line, p.col, std::move(path)};
    }

    // The number as the operator wrote it: nlohmann would print 1e3 as 1000.0.
    std::string raw_number(const Value& v) const {
        const size_t start = positions_.node(v.node).value.offset;
        const size_t end =
            std::min(text_.find_first_not_of("+-.0123456789eE", start), text_.size());
        return std::string(text_.substr(start, end - start));
    }

    // The members of an object in file order (the DOM sorts them), without those whose key
    // is repeated later (the DOM only has the last one). With `allowed`, other keys are
    // reported and left out.
    std::vector<Member> members(const Value& object, std::optional<Keys> allowed) {
        std::vector<Member> out;
        out.reserve(object.dom.size());
        for (NodeId c = positions_.node(object.node).first_child; c != JsonPositions::kNone;
             c = positions_.node(c).next_sibling) {
            const JsonPositions::Node& n = positions_.node(c);
            if (n.superseded) continue;
            std::string path = object.path;
            append_path_key(path, n.key_text);
            if (allowed && !contains(*allowed, n.key_text)) {
                error(key_pos(c, std::move(path)), unknown_key_message(n.key_text, *allowed));
                continue;
            }
            const auto it = object.dom.find(n.key_text);
            if (it == object.dom.end()) continue;  // both decode keys alike: cannot happen
            out.push_back({n.key_text, {*it, c, std::move(path)}});
        }
        return out;
    }

    std::vector<Value> elements(const Value& array) const {
        std::vector<Value> out;
        out.reserve(array.dom.size());
        NodeId c = positions_.node(array.node).first_child;
        for (size_t i = 0; i < array.dom.size() && c != JsonPositions::kNone;
             ++i, c = positions_.node(c).next_sibling) {
            std::string path = array.path;
            append_path_index(path, i);
            out.push_back({array.dom[i], c, std::move(path)});
        }
        return out;
    }

    void require(const Value& object, std::initializer_list<std::string_view> keys) {
        for (std::string_view key : keys) {
            if (!object.dom.contains(std::string(key))) {
                // Reported at the enclosing object, under the path the key should have had,
                // so even a missing top-level key reads "file:line:col: soa: ...".
                SourcePos pos = value_pos(object);
                append_path_key(pos.path, key);
                error(std::move(pos), "missing required key " + json_quoted(key));
            }
        }
    }

    bool expect_object(const Value& v) {
        if (v.dom.is_object()) return true;
        error(value_pos(v), expected("an object", v.dom));
        return false;
    }

    bool expect_array(const Value& v) {
        if (v.dom.is_array()) return true;
        error(value_pos(v), expected("an array", v.dom));
        return false;
    }

    std::optional<Located> string_value(const Value& v) {
        if (!v.dom.is_string()) {
            error(value_pos(v), expected("a string", v.dom));
            return std::nullopt;
        }
        return Located{v.dom.get<std::string>(), value_pos(v)};
    }

    std::optional<bool> bool_value(const Value& v) {
        if (!v.dom.is_boolean()) {
            error(value_pos(v), expected("true or false", v.dom));
            return std::nullopt;
        }
        return v.dom.get<bool>();
    }

    std::optional<int64_t> integer_value(const Value& v, std::string_view name, int64_t lo,
                                         int64_t hi) {
        if (!v.dom.is_number()) {
            error(value_pos(v), expected("an integer", v.dom));
            return std::nullopt;
        }
        std::optional<int64_t> value;
        if (v.dom.is_number_unsigned()) {
            const auto u = v.dom.get<uint64_t>();
            if (u <= static_cast<uint64_t>(hi) && static_cast<int64_t>(u) >= lo) {
                value = static_cast<int64_t>(u);
            }
        } else if (v.dom.is_number_integer()) {
            const auto s = v.dom.get<int64_t>();
            if (s >= lo && s <= hi) value = s;
        } else {
            // Whole numbers written as 300.0 or 3e2 (a generator that only has doubles) are
            // fine; nlohmann also lands here for integers beyond 64 bits.
            const auto d = v.dom.get<double>();
            if (d != std::trunc(d)) {
                error(value_pos(v), "expected an integer, got " + raw_number(v));
                return std::nullopt;
            }
            if (d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) {
                value = static_cast<int64_t>(d);
            }
        }
        if (!value) {
            error(value_pos(v), std::string(name) + " " + raw_number(v) + " is out of range (" +
                                    std::to_string(lo) + ".." + std::to_string(hi) + ")");
        }
        return value;
    }

    void load_origin(const Value& v, Located& origin) {
        std::optional<Located> name = string_value(v);
        if (!name) return;
        if (std::string problem; !check_zone_name(name->text, problem)) {
            error(name->pos, "bad zone name " + json_quoted(name->text) + " (" + problem + ")");
        }
        if (!name->text.ends_with('.')) name->text += '.';
        origin = std::move(*name);
    }

    void load_soa(const Value& v, SoaSpec& soa) {
        soa.pos = value_pos(v);
        if (!expect_object(v)) return;
        for (const Member& m : members(v, kSoaKeys)) {
            const Value& f = m.value;
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
    void load_strings(const Value& v, std::vector<Located>& out, std::string_view if_empty) {
        if (!expect_array(v)) return;
        if (v.dom.empty() && !if_empty.empty()) {
            error(value_pos(v), std::string(if_empty));
            return;
        }
        out.reserve(v.dom.size());
        for (const Value& e : elements(v)) {
            if (std::optional<Located> s = string_value(e)) out.push_back(std::move(*s));
        }
    }

    // Seconds, integer or fraction, in [lo, hi]; returned in milliseconds.
    std::optional<uint32_t> duration_value(const Value& v, std::string_view name, double lo,
                                           double hi) {
        if (!v.dom.is_number()) {
            error(value_pos(v), expected("a number of seconds", v.dom));
            return std::nullopt;
        }
        const double d = v.dom.get<double>();
        if (!(d >= lo && d <= hi)) {
            char range[64];
            std::snprintf(range, sizeof range, " is out of range (%g..%g seconds)", lo, hi);
            error(value_pos(v), std::string(name) + " " + raw_number(v) + range);
            return std::nullopt;
        }
        return static_cast<uint32_t>(std::llround(d * 1000));
    }

    void load_checks(const Value& v, std::vector<CheckSpec>& checks) {
        if (!expect_object(v)) return;
        for (const Member& m : members(v, std::nullopt)) {
            CheckSpec check;
            check.name = {std::string(m.key), key_pos(m.value.node, m.value.path)};
            if (m.key.empty() || m.key.size() > kMaxNameLength) {
                error(check.name.pos, "bad check name " + json_quoted(m.key.substr(0, 64)));
                continue;
            }
            if (load_check(m.value, check)) checks.push_back(std::move(check));
        }
    }

    // Fills `check.def`; false when anything is wrong (every problem reported).
    bool load_check(const Value& v, CheckSpec& check) {
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
        for (const Member& m : members(v, kCheckKeys)) {
            const Value& f = m.value;
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

    bool load_paths(const Value& v, std::vector<std::string>& paths) {
        if (!expect_array(v)) return false;
        if (v.dom.empty()) {
            error(value_pos(v), "expected at least one path");
            return false;
        }
        bool ok = true;
        for (const Value& e : elements(v)) {
            std::optional<Located> path = string_value(e);
            if (path && (!path->text.starts_with('/') || !is_token_text(path->text))) {
                error(path->pos, "bad path " + json_quoted(path->text) +
                                     " (it starts with \"/\" and has no spaces or control "
                                     "characters)");
                path.reset();
            }
            if (path) paths.push_back(std::move(path->text));
            ok &= path.has_value();
        }
        return ok;
    }

    // One status code or a list of them.
    bool load_statuses(const Value& v, std::vector<uint16_t>& statuses) {
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
        for (const Value& e : elements(v)) {
            std::optional<int64_t> s = integer_value(e, "status", 100, 599);
            if (s) statuses.push_back(static_cast<uint16_t>(*s));
            ok &= s.has_value();
        }
        return ok;
    }

    bool load_command(const Value& v, std::vector<std::string>& command) {
        if (!expect_array(v)) return false;
        if (v.dom.empty()) {
            error(value_pos(v), "expected the program and its arguments");
            return false;
        }
        bool ok = true;
        for (const Value& e : elements(v)) {
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

    // Names that pools and members refer to: checks and fallback pools. Checked once the
    // whole file is read, as "checks" may come after "pools".
    void check_references(const ZoneSpec& spec) {
        std::vector<std::string_view> check_names;
        for (const CheckSpec& c : spec.checks) check_names.push_back(c.name.text);
        std::vector<std::string_view> pool_names;
        for (const PoolSpec& p : spec.pools) pool_names.push_back(p.name.text);
        const auto check_ref = [&](const Located& ref) {
            if (contains(check_names, ref.text)) return;
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
            if (p.check) check_ref(*p.check);
            for (const MemberSpec& m : p.members)
                if (m.check) check_ref(*m.check);
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

    void load_pools(const Value& v, std::vector<PoolSpec>& pools) {
        if (!expect_object(v)) return;
        const std::vector<Member> all = members(v, std::nullopt);
        pools.reserve(all.size());
        for (const Member& m : all) {
            PoolSpec pool;
            // Positioned on the key, as the name is what the operator wrote there.
            pool.name = {std::string(m.key), key_pos(m.value.node, m.value.path)};
            if (!is_valid_pool_name(m.key)) {
                error(pool.name.pos, "bad pool name " + json_quoted(m.key));
                // Every path inside repeats the name: a pool named with a megabyte would cost
                // a megabyte per member, so only names of sane length are looked into.
                if (m.key.size() > kMaxNameLength) continue;
            }
            if (load_pool(m.value, pool)) pools.push_back(std::move(pool));
        }
    }

    bool load_pool(const Value& v, PoolSpec& pool) {
        pool.pos = value_pos(v);
        if (!expect_object(v)) return false;
        for (const Member& m : members(v, kPoolKeys)) {
            const Value& f = m.value;
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
            } else if (m.key == "answers") {
                set_if(integer_value(f, m.key, 1, kMaxAnswers), pool.answers);
            } else if (m.key == "check") {
                set_if(string_value(f), pool.check);
            } else if (m.key == "fallback") {
                set_if(string_value(f), pool.fallback);
            } else if (m.key == "regions") {
                pool.regions_pos = key_pos(f.node, f.path);
                load_region_lists(f, pool.regions);
            } else if (m.key == "members") {
                load_members(f, pool.members);
            }
        }
        require(v, {"members"});
        if (pool.regions_pos && pool.policy.text != "geo" &&
            contains(kPolicies, pool.policy.text)) {
            error(*pool.regions_pos,
                  "\"regions\" only applies to a geo pool (this one is " + pool.policy.text + ")");
        }
        return true;
    }

    // A region as a rule, the default, a member or a "regions" list names it.
    std::optional<Located> region_name(const Value& v) {
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

    void load_region_lists(const Value& v, std::vector<RegionListSpec>& lists) {
        if (!expect_object(v)) return;
        for (const Member& m : members(v, std::nullopt)) {
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
            const Value& f = m.value;
            if (!expect_array(f)) continue;
            if (f.dom.empty()) {
                error(value_pos(f), "expected at least one region");
                continue;
            }
            for (const Value& e : elements(f))
                if (std::optional<Located> r = region_name(e))
                    list.regions.push_back(std::move(*r));
            lists.push_back(std::move(list));
        }
    }

    void load_geo(const Value& v, std::optional<GeoSpec>& out) {
        GeoSpec geo;
        geo.pos = value_pos(v);
        if (!expect_object(v)) return;
        for (const Member& m : members(v, kGeoKeys)) {
            const Value& f = m.value;
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

    void load_geo_rules(const Value& v, std::vector<GeoRuleSpec>& rules) {
        if (!expect_array(v)) return;
        rules.reserve(v.dom.size());
        for (const Value& e : elements(v)) {
            GeoRuleSpec rule;
            rule.pos = value_pos(e);
            if (!expect_object(e)) continue;
            std::string_view matcher;  // the first of net, country, continent given
            for (const Member& m : members(e, kGeoRuleKeys)) {
                const Value& f = m.value;
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

    // Binary address -> line and column of the member that has it first.
    using SeenAddresses = std::unordered_map<std::string, std::pair<uint32_t, uint32_t>>;

    void load_members(const Value& v, std::vector<MemberSpec>& members) {
        if (!expect_array(v)) return;
        if (v.dom.empty()) {
            error(value_pos(v), "expected at least one member");
            return;
        }
        members.reserve(v.dom.size());
        SeenAddresses seen;
        seen.reserve(v.dom.size());
        for (const Value& e : elements(v)) {
            MemberSpec member;
            if (load_member(e, member, seen)) members.push_back(std::move(member));
        }
    }

    bool load_member(const Value& v, MemberSpec& member, SeenAddresses& seen) {
        member.pos = value_pos(v);
        if (!expect_object(v)) return false;
        for (const Member& m : members(v, kMemberKeys)) {
            const Value& f = m.value;
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
                member.address = std::move(*address);
            } else if (m.key == "enabled") {
                set_if(bool_value(f), member.enabled);
            } else if (m.key == "weight") {
                set_if(integer_value(f, m.key, 0, kMaxWeight), member.weight);
            } else if (m.key == "priority") {
                set_if(integer_value(f, m.key, -kMaxPriority, kMaxPriority), member.priority);
            } else if (m.key == "region") {
                set_if(region_name(f), member.region);
            } else if (m.key == "check") {
                set_if(string_value(f), member.check);
            } else if (m.key == "probe_address") {
                std::optional<Located> probe = string_value(f);
                if (probe && !address_bytes(probe->text)) {
                    error(probe->pos, not_an_address(probe->text));
                }
                set_if(std::move(probe), member.probe_address);
            }
        }
        require(v, {"address"});
        return true;
    }

    std::string_view text_;
    const std::string& file_;
    const JsonPositions& positions_;
    Diagnostics& diags_;
};

bool is_blank(std::string_view text) {
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
    return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// json::parse() gives a byte position only in parse_error, not for a number too large for a
// double (out_of_range.406). Both go through the SAX parse_error callback, so a second parse
// with this handler, which builds nothing, tells where either kind of error is.
class ErrorLocator final : public json::json_sax_t {
  public:
    size_t position = 0;  // 1-based offset of the last byte read (size + 1 at end of input)
    std::string what;

    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool key(string_t&) override { return true; }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t pos, const std::string&, const json::exception& ex) override {
        position = pos;
        what = ex.what();
        return false;
    }
};

// Drops "[json.exception.parse_error.101] parse error at line 1, column 8: ": our own
// position replaces nlohmann's, which points past the token.
std::string syntax_message(std::string_view what) {
    if (what.starts_with("[json.exception.")) {
        if (const size_t end = what.find("] "); end != std::string_view::npos) {
            what.remove_prefix(end + 2);
        }
    }
    if (what.starts_with("parse error")) {
        if (const size_t colon = what.find(": "); colon != std::string_view::npos) {
            what.remove_prefix(colon + 2);
        }
    }
    return std::string(what);
}

// For these nlohmann has read a whole token and stops on its last byte, but the operator
// looks for where the token starts (the "b" of a missing comma before "b": 2).
bool is_about_whole_token(std::string_view message) {
    for (std::string_view token : {"string", "number", "true", "false", "null"}) {
        if (message.find("unexpected " + std::string(token) + " literal") != std::string::npos) {
            return true;
        }
    }
    return message.starts_with("number overflow");
}

size_t token_start(std::string_view text, size_t last) {
    if (text[last] == '"') {
        // The opening quote is the nearest one before that is not escaped.
        for (size_t i = last; i-- > 0;) {
            if (text[i] != '"') continue;
            size_t backslashes = 0;
            while (backslashes < i && text[i - 1 - backslashes] == '\\') ++backslashes;
            if (backslashes % 2 == 0) return i;
        }
        return last;
    }
    const auto in_token = [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               c == '+' || c == '-' || c == '.';
    };
    while (last > 0 && in_token(text[last - 1])) --last;
    return last;
}

Diagnostic syntax_error(std::string_view text, const std::string& file, std::string_view what) {
    ErrorLocator locator;
    json::sax_parse(text.begin(), text.end(), &locator);
    std::string message = syntax_message(locator.what.empty() ? what : locator.what);
    size_t offset = std::min(locator.position > 0 ? locator.position - 1 : 0, text.size());
    if (offset < text.size() && is_about_whole_token(message)) offset = token_start(text, offset);
    const TextPos pos = text_pos_at(text, offset);
    return {file, {pos.line, pos.col, ""}, std::move(message)};
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

LoadResult parse_zone_json(std::string_view text, const std::string& file) {
    LoadResult result;
    result.spec.file = file;
    if (is_blank(text)) {
        result.diags.push_back(whole_file_problem(file, "empty file"));
        return result;
    }
    json root;
    try {
        root = json::parse(text.begin(), text.end());
    } catch (const json::exception& e) {
        result.diags.push_back(syntax_error(text, file, e.what()));
        return result;
    }
    const JsonPositions positions = JsonPositions::scan(text);
    Loader loader(text, file, positions, result.diags);
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
