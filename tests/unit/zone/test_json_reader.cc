// The generic JSON walking under the zone file loader, on a schema of its own: every problem
// reported at its line and column with its json.path, the typed reads, and syntax errors.
#include <doctest/doctest.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "steerdns/zone/json_reader.h"

using namespace steerdns::zone;

namespace {

// A made-up schema: {"name": string, "count": 1..10, "on": bool, "every": seconds}.
constexpr std::array<std::string_view, 4> kKeys{"name", "count", "on", "every"};

struct Read {
    std::string name;
    int64_t count = 0;
    bool on = false;
    uint32_t every_ms = 0;
    std::vector<std::string> problems;
};

Read read(std::string_view text) {
    Read r;
    Diagnostics diags;
    Json dom;
    if (parse_json(text, "t.json", dom, diags)) {
        JsonReader reader(text, "t.json", diags);
        const JsonValue root = reader.root(dom);
        if (reader.expect_object(root)) {
            for (const JsonMember& m : reader.members(root, kKeys)) {
                if (m.key == "name") {
                    if (auto s = reader.string_value(m.value)) r.name = s->text;
                } else if (m.key == "count") {
                    if (auto n = reader.integer_value(m.value, m.key, 1, 10)) r.count = *n;
                } else if (m.key == "on") {
                    if (auto b = reader.bool_value(m.value)) r.on = *b;
                } else if (m.key == "every") {
                    if (auto ms = reader.duration_value(m.value, m.key, 0.5, 60)) r.every_ms = *ms;
                }
            }
            reader.require(root, {"name"});
        }
        reader.report_duplicate_keys();
    }
    for (const Diagnostic& d : diags) r.problems.push_back(d.to_string());
    return r;
}

}  // namespace

TEST_CASE("json reader: typed reads of a schema that is not a zone") {
    const Read r = read(R"({"name": "x", "count": 3e0, "on": true, "every": 1.5})");
    CHECK(r.problems.empty());
    CHECK(r.name == "x");
    CHECK(r.count == 3);
    CHECK(r.on);
    CHECK(r.every_ms == 1500);
}

TEST_CASE("json reader: every problem, located, in one pass") {
    const Read r = read(
        "{\n  \"nmae\": 1,\n  \"count\": 11,\n  \"on\": \"yes\",\n"
        "  \"every\": 0.1,\n  \"on\": 2\n}");
    CHECK(r.problems == std::vector<std::string>{
                            R"(t.json:2:3: nmae: unknown key "nmae" (did you mean "name"?))",
                            "t.json:3:12: count: count 11 is out of range (1..10)",
                            "t.json:5:12: every: every 0.1 is out of range (0.5..60 seconds)",
                            "t.json:6:9: on: expected true or false, got a number",
                            R"(t.json:1:1: name: missing required key "name")",
                            R"(t.json:6:3: on: duplicate key "on")",
                        });
}

TEST_CASE("json reader: syntax errors point at the token, without nlohmann's prefix") {
    const Read r = read("{\"name\": \"x\"\n \"count\": 2}");
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].rfind("t.json:2:2: ", 0) == 0);
    CHECK(r.problems[0].find("json.exception") == std::string::npos);
    CHECK(r.problems[0].find("unexpected string literal") != std::string::npos);
}
