// Reading a JSON file an operator wrote, reporting every problem at the line and column where
// it was written: nlohmann parses, JsonPositions says where each value is, and JsonReader
// walks the DOM next to it, reading typed values and collecting Diagnostics instead of
// stopping at the first problem. It knows no schema: zone_spec.cc reads zone files with it,
// and any other JSON input (the drain state file, a drain request body) can be read the same
// way.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "steerdns/zone/diagnostic.h"
#include "steerdns/zone/json_positions.h"

namespace steerdns::zone {

using Json = nlohmann::json;
using Keys = std::span<const std::string_view>;

// "a, b, c": the "expected one of" lists of messages.
std::string join(Keys words);
bool contains(Keys words, std::string_view word);

// "expected an object, got a string".
std::string expected(std::string_view what, const Json& got);

// `unknown key "x"`, with the closest allowed key as a "did you mean", else the allowed keys.
std::string unknown_key_message(std::string_view key, Keys allowed);

// Parses `text` into `dom`; false on a syntax error (or a number too large for a double), with
// one Diagnostic appended to `diags`, at the token where the error is (nlohmann points past
// it) and without nlohmann's "[json.exception...] parse error at ..." prefix.
bool parse_json(std::string_view text, const std::string& file, Json& dom, Diagnostics& diags);

// The same for JSON that is not a file (a request body, the state file read by its caller):
// false with `error` set to "line L:C: message", in the same words.
bool parse_json(std::string_view text, Json& dom, std::string& error);

// A DOM value with where it was written.
struct JsonValue {
    const Json& dom;
    JsonPositions::NodeId node;
    std::string path;  // json.path, for messages
};

struct JsonMember {
    std::string_view key;  // points into the text or the reader's JsonPositions
    JsonValue value;
};

// The typed reads report what is wrong (at the value, under its json.path) and return nothing;
// a caller carries on with the next value, so one pass reports every problem.
class JsonReader {
  public:
    // `text` is what parse_json() accepted; it must outlive the reader, as must `diags`.
    JsonReader(std::string_view text, std::string file, Diagnostics& diags);

    JsonValue root(const Json& dom) const { return {dom, positions_.root(), ""}; }

    void error(SourcePos pos, std::string message);
    SourcePos value_pos(const JsonValue& v) const;
    // Where the key of object member `member` was written, under `path`.
    SourcePos key_pos(JsonPositions::NodeId member, std::string path) const;

    // The number as the operator wrote it: nlohmann would print 1e3 as 1000.0.
    std::string raw_number(const JsonValue& v) const;

    // The members of an object in file order (the DOM sorts them), without those whose key
    // is repeated later (the DOM only has the last one). With `allowed`, other keys are
    // reported and left out.
    std::vector<JsonMember> members(const JsonValue& object, std::optional<Keys> allowed);
    std::vector<JsonValue> elements(const JsonValue& array) const;

    // Reports each of `keys` the object lacks.
    void require(const JsonValue& object, std::initializer_list<std::string_view> keys);
    bool expect_object(const JsonValue& v);
    bool expect_array(const JsonValue& v);

    std::optional<Located> string_value(const JsonValue& v);
    std::optional<bool> bool_value(const JsonValue& v);
    // An integer in [lo, hi] (300.0 and 3e2 count); `name` starts the out-of-range message.
    std::optional<int64_t> integer_value(const JsonValue& v, std::string_view name, int64_t lo,
                                         int64_t hi);
    // Seconds, integer or fraction, in [lo, hi]; returned in milliseconds.
    std::optional<uint32_t> duration_value(const JsonValue& v, std::string_view name, double lo,
                                           double hi);

    // Every key written twice in one object (nlohmann keeps the last silently).
    void report_duplicate_keys();

  private:
    std::string_view text_;
    std::string file_;
    const JsonPositions positions_;
    Diagnostics& diags_;
};

}  // namespace steerdns::zone
