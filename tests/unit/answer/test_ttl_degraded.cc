// "ttl_degraded" (issue 15): the TTL of a pool's answers while a member of the queried family
// is down and of fallback answers, through the whole query path; what `_why` says about it;
// and what the loader and compiler accept, refuse and warn about.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "helpers.h"
#include "probed_zone.h"
#include "steerdns/answer/why.h"
#include "steerdns/dns/rr_type.h"
#include "steerdns/lb/policy.h"
#include "steerdns/zone/compile.h"
#include "steerdns/zone/zone_spec.h"

using namespace steerdns;
using namespace steerdns::test;

namespace {

std::string zone_with(const std::string& pools) {
    return R"({"zone": "lb.example.test.", "ttl": 300,
                "soa": {"mname": "ns1", "rname": "h", "serial": 1}, "ns": ["ns1.example."],
                "checks": {"web": {"type": "tcp", "port": 80}},
                "pools": )" +
           pools + "}";
}

// www: 30 s, 5 s while degraded, two IPv4 members and one IPv6; open: no ttl_degraded;
// chain falls back to www; flat never degrades (nothing probed).
const char* kPools = R"({
    "www": {"ttl": 30, "ttl_degraded": 5, "check": "web", "members": [
        {"address": "192.0.2.1"}, {"address": "192.0.2.2"}, {"address": "2001:db8::1"},
        {"address": "192.0.2.3", "enabled": false}]},
    "open": {"ttl": 20, "check": "web", "members": [{"address": "192.0.2.4"}]},
    "chain": {"ttl": 60, "ttl_degraded": 7, "check": "web", "fallback": "www",
              "members": [{"address": "192.0.2.5"}]},
    "flat": {"ttl": 40, "ttl_degraded": 4, "members": [{"address": "192.0.2.6"}]}})";

struct Degradable : ProbedZone {
    Degradable() : ProbedZone(zone_with(kPools)) {}

    // The TTL of every answer record (empty: no answer records).
    std::vector<uint32_t> ttls(const std::string& name, uint16_t qtype = dns::type::A) const {
        const Answered a = ask(*snap, make_query(name + ".lb.example.test", qtype));
        std::vector<uint32_t> out;
        const ldns_rr_list* an = ldns_pkt_answer(a.pkt.get());
        for (size_t i = 0; i < ldns_rr_list_rr_count(an); ++i)
            out.push_back(ldns_rr_ttl(ldns_rr_list_rr(an, i)));
        return out;
    }

    std::vector<std::string> why(const std::string& name) const {
        std::vector<uint8_t> wire;
        std::string error;
        REQUIRE_MESSAGE(why::name_from_text(name + ".lb.example.test", wire, error), error);
        why::Question q{wire, dns::type::A, client_at("127.0.0.1")};
        return why::explain(*snap, q, {}, 0);
    }
};

bool has(const std::vector<std::string>& lines, const std::string& line) {
    if (std::find(lines.begin(), lines.end(), line) != lines.end()) return true;
    std::string all;
    for (const std::string& l : lines) all += "\n  " + l;
    MESSAGE("missing \"" << line << "\" in" << all);
    return false;
}

using Ttls = std::vector<uint32_t>;

zone::CompileResult compile_text(const std::string& pools, zone::LoadResult& loaded) {
    loaded = zone::parse_zone_json(zone_with(pools), "z.json");
    REQUIRE_MESSAGE(loaded.ok(), (loaded.diags.empty() ? "" : loaded.diags[0].to_string()));
    return zone::compile_zone(loaded.spec);
}

Lines messages(const zone::Diagnostics& diags) {
    Lines out;
    for (const zone::Diagnostic& d : diags) out.push_back(d.to_string());
    return out;
}

}  // namespace

TEST_CASE("ttl_degraded: the pool's TTL while all are up, ttl_degraded while one is down") {
    Degradable z;
    CHECK(z.pool("www").ttl_degraded == 5);
    CHECK(z.pool("open").ttl_degraded == 20);  // not set: the ttl, i.e. off
    CHECK(z.ttls("www") == Ttls{30, 30});
    z.set("www", 0, health::State::up);
    z.set("www", 1, health::State::up);
    CHECK(z.ttls("www") == Ttls{30, 30});
    z.set("www", 1, health::State::down);
    CHECK(z.ttls("www") == Ttls{5});
    // Degraded is per family: the IPv6 member is up, so AAAA keeps the ttl.
    CHECK(z.ttls("www", dns::type::AAAA) == Ttls{30});
    // Back up: the ttl again.
    z.set("www", 1, health::State::up);
    CHECK(z.ttls("www") == Ttls{30, 30});
}

TEST_CASE("ttl_degraded: fallback answers carry the answering pool's ttl_degraded") {
    Degradable z;
    // Every member of www down: fallback "all" fails open, at the degraded TTL.
    z.set("www", 0, health::State::down);
    z.set("www", 1, health::State::down);
    CHECK(z.ttls("www") == Ttls{5, 5});
    z.set("www", 0, health::State::up);
    z.set("www", 1, health::State::up);
    // chain's member down: www answers for it with www's ttl_degraded, though all of www is up.
    z.set("chain", 0, health::State::down);
    CHECK(z.ttls("chain") == Ttls{5, 5});
    // A pool without ttl_degraded keeps its ttl when failing open.
    z.set("open", 0, health::State::down);
    CHECK(z.ttls("open") == Ttls{20});
    // Nothing probed: never degraded.
    CHECK(z.ttls("flat") == Ttls{40});
}

TEST_CASE("ttl_degraded: answer_ttl is what the answer and the trace use") {
    Degradable z;
    lb::Choice c;
    c.kind = lb::Choice::answer;
    c.pool = &z.pool("www");
    CHECK(lb::answer_ttl(c) == 30);
    c.degraded = true;
    CHECK(lb::answer_ttl(c) == 5);
    // The rendered sets agree with it, record by record.
    const lb::FamilySet& fs = z.pool("www").v4;
    for (size_t i = 0; i < fs.size(); ++i) {
        CHECK(dns::load_u32(fs.image_base(false) + i * fs.image_size + 4) == 30);
        CHECK(dns::load_u32(fs.image_base(true) + i * fs.image_size + 4) == 5);
    }
    // Without ttl_degraded there is one set.
    CHECK(z.pool("open").v4.degraded_images.empty());
}

TEST_CASE("ttl_degraded: _why names the TTL and why") {
    Degradable z;
    CHECK(has(z.why("www"), "ttl 30 (pool www)"));
    z.set("www", 1, health::State::down);
    auto lines = z.why("www");
    CHECK(has(lines,
              "pool www policy round-robin answers all ttl 30 (degraded: 1 of 2 down) "
              "1 disabled"));
    CHECK(has(lines, "ttl 5 (ttl_degraded of pool www: 1 of 2 down)"));
    z.set("www", 0, health::State::down);
    CHECK(has(z.why("www"), "ttl 5 (ttl_degraded of pool www: failing open)"));
    z.set("www", 0, health::State::up);
    z.set("www", 1, health::State::up);
    z.set("chain", 0, health::State::down);
    CHECK(has(z.why("chain"), "ttl 5 (ttl_degraded of pool www, the fallback pool's)"));
    // No ttl_degraded: the old line, degraded or not.
    z.set("open", 0, health::State::down);
    CHECK(has(z.why("open"), "ttl 20 (pool open)"));
}

TEST_CASE("ttl_degraded: a warning above the ttl or at 0, an error when not a TTL") {
    zone::LoadResult loaded;
    zone::CompileResult r = compile_text(
        R"({"www": {"ttl": 30, "ttl_degraded": 60, "members": [{"address": "192.0.2.1"}]}})",
        loaded);
    REQUIRE(r.zone);
    CHECK(messages(r.diags) ==
          Lines{"z.json:4:62: pools.www.ttl_degraded: warning: ttl_degraded 60 is longer than "
                "the pool's ttl 30: resolvers would keep answers given while members are down "
                "longer than healthy ones; use at most the ttl"});
    r = compile_text(R"({"www": {"ttl_degraded": 0, "members": [{"address": "192.0.2.1"}]}})",
                     loaded);
    REQUIRE(r.zone);
    REQUIRE(r.diags.size() == 1);
    CHECK(r.diags[0].severity == zone::Severity::warning);
    CHECK(r.diags[0].message.starts_with("ttl_degraded 0: resolvers cache no answer"));
    // At or below the ttl (the zone's when the pool sets none): nothing to say.
    r = compile_text(R"({"www": {"ttl_degraded": 300, "members": [{"address": "192.0.2.1"}]}})",
                     loaded);
    CHECK(messages(r.diags) == Lines{});
    CHECK(r.zone->pools[0].ttl_degraded == 300);

    for (const char* bad : {"-1", "2.5", "\"5\"", "4294967296"}) {
        INFO(bad);
        const zone::LoadResult l =
            zone::parse_zone_json(zone_with(std::string(R"({"www": {"ttl_degraded": )") + bad +
                                            R"(, "members": [{"address": "192.0.2.1"}]}})"),
                                  "z.json");
        CHECK_FALSE(l.ok());
        REQUIRE(!l.diags.empty());
        CHECK(l.diags[0].to_string().find("pools.www.ttl_degraded") != std::string::npos);
    }
    // A misspelt key: located, with the key it resembles.
    const zone::LoadResult l = zone::parse_zone_json(
        zone_with(R"({"www": {"ttl_degrade": 5, "members": [{"address": "192.0.2.1"}]}})"),
        "z.json");
    CHECK_FALSE(l.ok());
    REQUIRE(!l.diags.empty());
    CHECK(l.diags[0].to_string().find("did you mean \"ttl_degraded\"") != std::string::npos);
}
