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

#include "steerdns/zone/json_positions.h"
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
constexpr std::array<std::string_view, 7> kZoneKeys{"zone",    "ttl",   "soa",    "ns",
                                                    "records", "pools", "$schema"};
constexpr std::array<std::string_view, 7> kSoaKeys{"mname", "rname",  "serial", "refresh",
                                                   "retry", "expire", "minimum"};
constexpr std::array<std::string_view, 6> kPoolKeys{"policy", "ttl",      "answers",
                                                    "check",  "fallback", "members"};
constexpr std::array<std::string_view, 7> kMemberKeys{
    "address", "enabled", "weight", "priority", "region", "check", "probe_address"};
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

char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Damerau-Levenshtein in its "optimal string alignment" form, which is all a typo needs.
// Case is ignored so that "TTL" still finds "ttl".
size_t edit_distance(std::string_view a, std::string_view b) {
    const auto same = [](char x, char y) { return ascii_lower(x) == ascii_lower(y); };
    std::vector<size_t> before(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t cost = same(a[i - 1], b[j - 1]) ? 0 : 1;
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
            if (i > 1 && j > 1 && same(a[i - 1], b[j - 2]) && same(a[i - 2], b[j - 1])) {
                cur[j] = std::min(cur[j], before[j - 2] + 1);
            }
        }
        std::swap(before, prev);
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

std::string unknown_key_message(std::string_view key, Keys allowed) {
    std::string_view best;
    size_t best_distance = std::numeric_limits<size_t>::max();
    for (std::string_view candidate : allowed) {
        // One edit is already a third of a three-letter key.
        const size_t limit = candidate.size() <= 3 ? 1 : 2;
        // The length difference is a lower bound of the distance: skip the DP for long keys.
        const size_t length_gap = key.size() > candidate.size() ? key.size() - candidate.size()
                                                                : candidate.size() - key.size();
        if (length_gap > limit) continue;
        const size_t d = edit_distance(key, candidate);
        if (d <= limit && d < best_distance) {
            best = candidate;
            best_distance = d;
        }
    }
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

// Only what makes the name unusable as an origin; compile() parses it as a DNS name.
std::optional<std::string> zone_name_problem(std::string_view name) {
    if (name.empty()) return "empty";
    if (name == ".") return std::nullopt;
    for (char c : name) {
        if (c == ' ') return "contains a space";
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
            return "contains a control character";
    }
    const std::string_view body = name.ends_with('.') ? name.substr(0, name.size() - 1) : name;
    if (body.size() > 253) return "longer than 253 characters";
    size_t label = 0;
    for (size_t i = 0; i <= body.size(); ++i) {
        if (i == body.size() || body[i] == '.') {
            if (label == 0) return "empty label";
            if (label > 63) return "label longer than 63 characters";
            label = 0;
        } else {
            ++label;
        }
    }
    return std::nullopt;
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
            } else if (m.key == "pools") {
                load_pools(v, spec.pools);
            } else if (m.key == "$schema" && !v.dom.is_string()) {
                error(value_pos(v), expected("a string", v.dom));
            }
        }
        require(root, {"zone", "soa", "ns"});
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
        if (std::optional<std::string> problem = zone_name_problem(name->text)) {
            error(name->pos, "bad zone name " + json_quoted(name->text) + " (" + *problem + ")");
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
            } else if (m.key == "members") {
                load_members(f, pool.members);
            }
        }
        require(v, {"members"});
        return true;
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
                set_if(string_value(f), member.region);
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

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

// std::nullopt on success, else why the file could not be read.
std::optional<std::string> read_file(const std::string& path, std::string& out) {
    std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
    if (!f) return std::generic_category().message(errno);
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) out.append(buf, n);
    if (std::ferror(f.get())) return std::generic_category().message(errno);
    return std::nullopt;
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

LoadResult load_zone_file(const std::string& path) {
    std::string text;
    if (std::optional<std::string> problem = read_file(path, text)) {
        LoadResult result;
        result.spec.file = path;
        result.diags.push_back(whole_file_problem(path, "cannot read file: " + *problem));
        return result;
    }
    return parse_zone_json(text, path);
}

}  // namespace steerdns::zone
