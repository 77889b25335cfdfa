// Record-level messages from compile: what an operator sees for a mistyped record line.
#include <doctest/doctest.h>

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
