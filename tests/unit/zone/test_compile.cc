// Record-level messages from compile: what an operator sees for a mistyped record line.
#include <doctest/doctest.h>

#include <algorithm>

#include "steerdns/dns/name.h"
#include "steerdns/zone/compile.h"

using namespace steerdns;

namespace {

std::vector<std::string> problems(const std::string& records) {
    const std::string json =
        R"({"zone": "t.test", "soa": {"mname": "ns", "rname": "h", "serial": 1},
"ns": ["ns"], "records": ["ns A 127.0.0.1", )" +
        records + "]}";
    zone::LoadResult loaded = zone::parse_zone_json(json, "z.json");
    REQUIRE(loaded.ok());
    std::vector<std::string> out;
    for (const auto& d : zone::compile_zone(loaded.spec).diags) out.push_back(d.to_string());
    return out;
}

}  // namespace

TEST_CASE("compile: a bad address in an A or AAAA line names the address") {
    CHECK(
        problems(R"("www A 192.0.2.300")") ==
        std::vector<std::string>{
            R"(z.json:2:45: records[1]: cannot parse "www A 192.0.2.300": "192.0.2.300" is not an IPv4 address)"});
    CHECK(
        problems(R"("v6 600 IN AAAA 2001:db8::zz")") ==
        std::vector<std::string>{
            R"(z.json:2:45: records[1]: cannot parse "v6 600 IN AAAA 2001:db8::zz": "2001:db8::zz" is not an IPv6 address)"});
}

TEST_CASE("compile: other unparsable lines keep ldns's own reason") {
    const auto p = problems(R"("txt TXT")");
    REQUIRE(p.size() == 1);
    CHECK(p[0] ==
          R"(z.json:2:45: records[1]: cannot parse "txt TXT": Syntax error, value expected)");
}

TEST_CASE("compile: wildcards are accepted as the leftmost label only (RFC 4592)") {
    CHECK(problems(R"("*.wild A 192.0.2.77", "* MX 10 mail", "x*.y TXT \"literal\"")").empty());
    CHECK(
        problems(R"("a.*.wild A 192.0.2.77")") ==
        std::vector<std::string>{
            R"(z.json:2:45: records[1]: owner a.*.wild.t.test. has "*" in the middle: a wildcard is "*" as the leftmost label only (*.name, RFC 4592))"});
    CHECK(problems(R"("*.*.wild A 192.0.2.77")").size() == 1);
}

TEST_CASE("compile: a wildcard cannot delegate") {
    CHECK(
        problems(R"("*.wild NS ns.example.")") ==
        std::vector<std::string>{
            R"(z.json:2:45: records[1]: NS at the wildcard *.wild.t.test.: a wildcard cannot delegate (RFC 4592 4.2))"});
    // Below a delegation a * is glue at best, and is never synthesized from.
    CHECK(problems(R"("sub NS ns.example.", "*.sub A 192.0.2.1")").empty());
}

TEST_CASE("compile: the closest encloser of a wildcard is flagged, whatever else it holds") {
    const std::string json =
        R"({"zone": "t.test", "soa": {"mname": "ns", "rname": "h", "serial": 1},
"ns": ["ns"], "records": ["ns A 127.0.0.1", "*.a.b A 192.0.2.1", "*.c A 192.0.2.2", "*.c.d A 192.0.2.3"],
"pools": {"*.cdn": {"members": [{"address": "192.0.2.9"}]}}})";
    zone::LoadResult loaded = zone::parse_zone_json(json, "z.json");
    REQUIRE(loaded.ok());
    const zone::CompileResult r = zone::compile_zone(loaded.spec);
    REQUIRE(r.diags.empty());
    std::vector<std::string> flagged;
    for (const zone::Node& n : r.zone->nodes) {
        if (n.flags & zone::node_flag::wildcard_child)
            flagged.push_back(dns::name_to_text(r.zone->node_name(n)));
    }
    std::sort(flagged.begin(), flagged.end());
    CHECK(flagged ==
          std::vector<std::string>{"a.b.t.test.", "c.d.t.test.", "c.t.test.", "cdn.t.test."});
}
