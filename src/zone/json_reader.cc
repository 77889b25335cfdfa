#include "steerdns/zone/json_reader.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

namespace steerdns::zone {
namespace {

std::string_view kind_of(const Json& v) {
    switch (v.type()) {
        case Json::value_t::null:
            return "null";
        case Json::value_t::boolean:
            return "a boolean";
        case Json::value_t::string:
            return "a string";
        case Json::value_t::array:
            return "an array";
        case Json::value_t::object:
            return "an object";
        default:
            return "a number";  // the parser produces no binary or discarded values
    }
}

// json::parse() gives a byte position only in parse_error, not for a number too large for a
// double (out_of_range.406). Both go through the SAX parse_error callback, so a second parse
// with this handler, which builds nothing, tells where either kind of error is.
class ErrorLocator final : public Json::json_sax_t {
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
    bool parse_error(std::size_t pos, const std::string&, const Json::exception& ex) override {
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

// Two mistakes people make writing JSON by hand that nlohmann words in grammar terms
// ("unexpected ']'; expected '[', '{', or a literal"): a comma before a closing bracket and a
// comment. True with `message` and `offset` replaced when the error at `offset` is one.
bool plain_words(std::string_view text, size_t& offset, std::string& message) {
    if (offset >= text.size()) return false;
    for (size_t at : {offset, offset > 0 ? offset - 1 : offset}) {
        const std::string_view rest = text.substr(at);
        if (rest.starts_with("//") || rest.starts_with("/*")) {
            offset = at;
            message = "comments are not allowed in JSON";
            return true;
        }
    }
    const char close = text[offset];
    if (close != ']' && close != '}') return false;
    size_t before = offset;
    while (before > 0 &&
           std::string_view(" \t\r\n").find(text[before - 1]) != std::string_view::npos)
        --before;
    if (before == 0 || text[before - 1] != ',') return false;
    offset = before - 1;  // where the comma to delete is
    message = std::string("trailing comma before \"") + close + '"';
    return true;
}

Diagnostic syntax_error(std::string_view text, const std::string& file, std::string_view what) {
    ErrorLocator locator;
    Json::sax_parse(text.begin(), text.end(), &locator);
    std::string message = syntax_message(locator.what.empty() ? what : locator.what);
    size_t offset = std::min(locator.position > 0 ? locator.position - 1 : 0, text.size());
    if (plain_words(text, offset, message)) {
        const TextPos pos = text_pos_at(text, offset);
        return {file, {pos.line, pos.col, ""}, std::move(message)};
    }
    if (offset < text.size() && is_about_whole_token(message)) offset = token_start(text, offset);
    const TextPos pos = text_pos_at(text, offset);
    return {file, {pos.line, pos.col, ""}, std::move(message)};
}

}  // namespace

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

std::string unknown_key_message(std::string_view key, Keys allowed) {
    const std::string_view best = closest(key, allowed);
    std::string message = "unknown key " + json_quoted(key);
    if (!best.empty()) return message + " (did you mean " + json_quoted(best) + "?)";
    return message + " (expected one of: " + join(allowed) + ")";
}

std::string expected(std::string_view what, const Json& got) {
    return "expected " + std::string(what) + ", got " + std::string(kind_of(got));
}

bool parse_json(std::string_view text, const std::string& file, Json& dom, Diagnostics& diags) {
    try {
        dom = Json::parse(text.begin(), text.end());
    } catch (const Json::exception& e) {
        diags.push_back(syntax_error(text, file, e.what()));
        return false;
    }
    return true;
}

bool parse_json(std::string_view text, Json& dom, std::string& error) {
    Diagnostics diags;
    if (parse_json(text, "", dom, diags)) return true;
    const SourcePos& pos = diags.front().pos;
    error = "line " + std::to_string(pos.line) + ":" + std::to_string(pos.col) + ": " +
            diags.front().message;
    return false;
}

JsonReader::JsonReader(std::string_view text, std::string file, Diagnostics& diags)
    : text_(text), file_(std::move(file)), positions_(JsonPositions::scan(text)), diags_(diags) {}

void JsonReader::error(SourcePos pos, std::string message) {
    diags_.push_back({file_, std::move(pos), std::move(message)});
}

SourcePos JsonReader::value_pos(const JsonValue& v) const {
    const TextPos& p = positions_.node(v.node).value;
    return {p.line, p.col, v.path};
}

SourcePos JsonReader::key_pos(JsonPositions::NodeId member, std::string path) const {
    const JsonPositions::KeyPos& p = positions_.node(member).key;
    return {p.line, p.col, std::move(path)};
}

std::string JsonReader::raw_number(const JsonValue& v) const {
    const size_t start = positions_.node(v.node).value.offset;
    const size_t end = std::min(text_.find_first_not_of("+-.0123456789eE", start), text_.size());
    return std::string(text_.substr(start, end - start));
}

std::vector<JsonMember> JsonReader::members(const JsonValue& object, std::optional<Keys> allowed) {
    std::vector<JsonMember> out;
    out.reserve(object.dom.size());
    for (JsonPositions::NodeId c = positions_.node(object.node).first_child;
         c != JsonPositions::kNone; c = positions_.node(c).next_sibling) {
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

std::vector<JsonValue> JsonReader::elements(const JsonValue& array) const {
    std::vector<JsonValue> out;
    out.reserve(array.dom.size());
    JsonPositions::NodeId c = positions_.node(array.node).first_child;
    for (size_t i = 0; i < array.dom.size() && c != JsonPositions::kNone;
         ++i, c = positions_.node(c).next_sibling) {
        std::string path = array.path;
        append_path_index(path, i);
        out.push_back({array.dom[i], c, std::move(path)});
    }
    return out;
}

void JsonReader::require(const JsonValue& object, std::initializer_list<std::string_view> keys) {
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

bool JsonReader::expect_object(const JsonValue& v) {
    if (v.dom.is_object()) return true;
    error(value_pos(v), expected("an object", v.dom));
    return false;
}

bool JsonReader::expect_array(const JsonValue& v) {
    if (v.dom.is_array()) return true;
    error(value_pos(v), expected("an array", v.dom));
    return false;
}

std::optional<Located> JsonReader::string_value(const JsonValue& v) {
    if (!v.dom.is_string()) {
        error(value_pos(v), expected("a string", v.dom));
        return std::nullopt;
    }
    return Located{v.dom.get<std::string>(), value_pos(v)};
}

std::optional<bool> JsonReader::bool_value(const JsonValue& v) {
    if (!v.dom.is_boolean()) {
        error(value_pos(v), expected("true or false", v.dom));
        return std::nullopt;
    }
    return v.dom.get<bool>();
}

std::optional<int64_t> JsonReader::integer_value(const JsonValue& v, std::string_view name,
                                                 int64_t lo, int64_t hi) {
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

std::optional<uint32_t> JsonReader::duration_value(const JsonValue& v, std::string_view name,
                                                   double lo, double hi) {
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

void JsonReader::report_duplicate_keys() {
    for (const JsonPositions::DuplicateKey& d : positions_.duplicate_keys()) {
        error(key_pos(d.member, positions_.path(d.member)),
              "duplicate key " + json_quoted(positions_.node(d.member).key_text));
    }
}

}  // namespace steerdns::zone
