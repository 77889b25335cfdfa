// The decision trace (`_why`): what it says for every policy, fallback and kind of name, that
// it leaves rotation counters alone, and how the query path answers and refuses it.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>

#include "helpers.h"
#include "probed_zone.h"
#include "steerdns/answer/why.h"
#include "steerdns/dns/name.h"
#include "steerdns/dns/rr_type.h"
#include "steerdns/health/registry.h"
#include "steerdns/zone/compile.h"
#include "steerdns/zone/json_reader.h"

using namespace steerdns;
using namespace steerdns::test;

namespace {

// The test zone around `pools`, compiled with probes (member states set by the test).
std::string traced_zone(const std::string& pools, const std::string& extra) {
    return R"({"zone": "lb.example.test.", "ttl": 300,
                "soa": {"mname": "ns1", "rname": "h", "serial": 1}, "ns": ["ns1.example."],
                "records": ["static A 192.0.2.200", "alias CNAME www", "sub NS ns.example.",
                            "far CNAME www.example.org."],
                "checks": {"web": {"type": "tcp", "port": 80}}, )" +
           extra + R"("pools": )" + pools + "}";
}

struct Traced : ProbedZone {
    explicit Traced(const std::string& pools, const std::string& extra = "")
        : ProbedZone(traced_zone(pools, extra), true) {}

    std::vector<std::string> why(const std::string& name, const lb::Client& client,
                                 uint16_t qtype = dns::type::A) const {
        std::vector<uint8_t> wire;
        std::string error;
        REQUIRE_MESSAGE(why::name_from_text(name, wire, error), error);
        why::Question q{wire, qtype, client};
        return why::explain(*snap, q, {}, 0);
    }
};

bool has(const std::vector<std::string>& lines, const std::string& line) {
    const bool found = std::find(lines.begin(), lines.end(), line) != lines.end();
    if (!found) {
        std::string all;
        for (const std::string& l : lines) all += "\n  " + l;
        MESSAGE("missing \"" << line << "\" in" << all);
    }
    return found;
}

bool has_any(const std::vector<std::string>& lines, std::initializer_list<std::string> any) {
    for (const std::string& line : any)
        if (std::find(lines.begin(), lines.end(), line) != lines.end()) return true;
    return has(lines, *any.begin());  // not there: says what was missing
}

bool has_prefix(const std::vector<std::string>& lines, const std::string& prefix) {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const std::string& l) { return l.starts_with(prefix); });
}

// An ECS option as a resolver sends it.
struct Ecs {
    dns::ClientSubnet subnet;
    Ecs(std::initializer_list<uint8_t> address, uint8_t prefix) {
        subnet.present = true;
        subnet.family = 1;
        subnet.source_prefix = prefix;
        std::copy(address.begin(), address.end(), subnet.address);
    }
};

lb::Client with_ecs(const std::string& resolver, const Ecs& ecs) {
    lb::Client c = client_at(resolver);
    c.ecs = &ecs.subnet;
    return c;
}

}  // namespace

TEST_CASE("why: round-robin shows the next answer and does not advance the rotation") {
    Traced t(R"({"www": {"answers": 1, "ttl": 30, "members": [
        {"address": "192.0.2.1"}, {"address": "192.0.2.2"}, {"address": "192.0.2.3"}]}})");
    const uint64_t before = t.pool("www").counter(dns::type::A).next.load();
    const auto lines = t.why("www.lb.example.test", client_at("127.0.0.1"));
    CHECK(lines.front() == "client 127.0.0.1 (source address; no ECS)");
    CHECK(has(lines, "pool www policy round-robin answers 1 ttl 30 (all 3 up)"));
    CHECK(has(lines, "member 192.0.2.1 up (no health check) [answered]"));
    CHECK(has(lines, "member 192.0.2.2 up (no health check)"));
    CHECK(has(lines, "answer A 192.0.2.1"));
    CHECK(has(lines, "ecs-scope 0 (the answer does not depend on the client)"));
    CHECK(has(lines, "ttl 30 (pool www)"));
    t.why("www.lb.example.test", client_at("127.0.0.1"));
    CHECK(t.pool("www").counter(dns::type::A).next.load() == before);
    // A real query takes that turn: the trace then promises the next member.
    ask(*t.snap, make_query("www.lb.example.test", dns::type::A));
    CHECK(has(t.why("www.lb.example.test", client_at("127.0.0.1")), "answer A 192.0.2.2"));
}

TEST_CASE("why: weighted with a member down, states and weights per member") {
    Traced t(R"({"www": {"policy": "weighted", "answers": 2, "ttl": 30, "check": "web",
        "members": [{"address": "192.0.2.10", "weight": 3}, {"address": "192.0.2.11"},
                    {"address": "192.0.2.12", "enabled": false},
                    {"address": "192.0.2.13", "weight": 2}]}})");
    t.set("www", 0, health::State::up);
    t.set("www", 1, health::State::down);
    t.set("www", 3, health::State::up);
    const auto lines = t.why("www.lb.example.test", client_at("127.0.0.1"));
    CHECK(
        has(lines, "pool www policy weighted answers 2 ttl 30 (degraded: 1 of 3 down) 1 disabled"));
    CHECK(has_prefix(lines, "member 192.0.2.11 down weight 1"));
    CHECK(has(lines, "member 192.0.2.12 disabled (zone file: \"enabled\": false) weight 1"));
    CHECK(has_prefix(lines, "member 192.0.2.10 up weight 3"));
    CHECK(has_any(lines, {"answer A 192.0.2.10 192.0.2.13", "answer A 192.0.2.13 192.0.2.10"}));
    CHECK(has(lines, "note: weighted answers are a draw per query; this is one draw"));
}

TEST_CASE("why: failover says which tier answers") {
    Traced t(R"({"db": {"policy": "failover", "check": "web", "members": [
        {"address": "192.0.2.20", "priority": 101}, {"address": "192.0.2.21", "priority": 99},
        {"address": "192.0.2.22", "priority": 99}]}})");
    auto lines = t.why("db.lb.example.test", client_at("127.0.0.1"));
    CHECK(has(lines,
              "failover tiers: priority 101 (1 of 1 up) priority 99 (2 of 2 up); "
              "answering: priority 101"));
    t.set("db", 0, health::State::down);
    lines = t.why("db.lb.example.test", client_at("127.0.0.1"));
    CHECK(has(lines,
              "failover tiers: priority 101 (0 of 1 up) priority 99 (2 of 2 up); "
              "answering: priority 99"));
    CHECK(has_prefix(lines, "member 192.0.2.20 down priority 101"));
    CHECK(has(lines, "answer A 192.0.2.21 192.0.2.22"));
}

TEST_CASE("why: hash keys on the ECS prefix, or the source's /24") {
    Traced t(R"({"shop": {"policy": "hash", "members": [
        {"address": "192.0.2.30"}, {"address": "192.0.2.31"}]}})");
    const Ecs ecs({198, 51, 100}, 24);
    auto lines = t.why("shop.lb.example.test", with_ecs("127.0.0.1", ecs));
    CHECK(lines.front() == "client 198.51.100.0/24 (ECS; resolver 127.0.0.1)");
    CHECK(has(lines, "hash: keyed on 198.51.100.0/24 (the ECS source prefix)"));
    CHECK(has(lines, "ecs-scope 24 (hash key)"));
    lines = t.why("shop.lb.example.test", client_at("203.0.113.9"));
    CHECK(has(lines, "hash: keyed on 203.0.113.0/24 (the source address's /24)"));
    // The member it names is the one a real query gets.
    const Answered a = ask_from(*t.snap, make_query("shop.lb.example.test", dns::type::A),
                                client_at("203.0.113.9"));
    CHECK(has(lines, "answer A " + rdatas(ldns_pkt_answer(a.pkt.get())).at(0)));
}

TEST_CASE("why: all answers every member up") {
    Traced t(R"({"multi": {"policy": "all", "check": "web", "members": [
        {"address": "192.0.2.40"}, {"address": "192.0.2.41"}, {"address": "192.0.2.42"}]}})");
    t.set("multi", 1, health::State::down);
    const auto lines = t.why("multi.lb.example.test", client_at("127.0.0.1"));
    CHECK(has(lines, "pool multi policy all answers all ttl 300 (degraded: 1 of 3 down)"));
    CHECK(has_any(lines, {"answer A 192.0.2.40 192.0.2.42", "answer A 192.0.2.42 192.0.2.40"}));
}

TEST_CASE("why: geo by net rule and by default, with the preference order") {
    Traced t(R"({"app": {"policy": "geo", "regions": {"eu": ["eu", "us"], "us": ["us", "eu"]},
        "check": "web", "members": [{"address": "192.0.2.50", "region": "eu"},
                                    {"address": "192.0.2.51", "region": "us"}]}})",
             R"("geo": {"rules": [{"net": "198.51.100.0/24", "region": "eu"}], "default": "us"},
             )");
    const Ecs eu({198, 51, 100}, 24);
    auto lines = t.why("app.lb.example.test", with_ecs("127.0.0.1", eu));
    CHECK(has(lines, "geo: client region eu (net rule); tries eu us"));
    CHECK(has(lines,
              "member 192.0.2.50 unknown (no result yet: counts as up) weight 1 region eu "
              "[answered]"));
    CHECK(has(lines, "ecs-scope 24 (the matching net rule, capped at the client's prefix)"));
    lines = t.why("app.lb.example.test", client_at("203.0.113.9"));
    CHECK(has(lines, "geo: client region us (default); tries us eu"));
    CHECK(has(lines, "answer A 192.0.2.51"));
    // Its region down: the next in the list answers.
    t.set("app", 1, health::State::down);
    lines = t.why("app.lb.example.test", client_at("203.0.113.9"));
    CHECK(has(lines, "answer A 192.0.2.50"));
}

TEST_CASE("why: geo by country and continent from a GeoIP database") {
    if (test_mmdb().empty()) {
        MESSAGE("skipped: libmaxmind-db-writer-perl missing");
        return;
    }
    Traced t(R"({"app": {"policy": "geo", "members": [{"address": "192.0.2.50", "region": "eu"},
                                                     {"address": "192.0.2.51", "region": "us"}]}})",
             R"("geo": {"database": ")" + test_mmdb() +
                 R"(", "rules": [{"country": "US", "region": "us"},
                                 {"continent": "EU", "region": "eu"}], "default": "us"}, )");
    auto lines = t.why("app.lb.example.test", client_at("203.0.113.7"));
    CHECK(has(lines, "geo: client region us (country rule); tries us eu"));
    lines = t.why("app.lb.example.test", client_at("198.51.100.7"));
    CHECK(has(lines, "geo: client region eu (continent rule); tries eu us"));
    CHECK(has(lines, "ecs-scope 25 (the GeoIP database's network)"));
}

TEST_CASE("why: each fallback") {
    Traced t(R"({
        "open": {"check": "web", "members": [{"address": "192.0.2.1"}, {"address": "192.0.2.2"}]},
        "none": {"check": "web", "fallback": "none", "members": [{"address": "192.0.2.3"}]},
        "chain": {"check": "web", "fallback": "open", "members": [{"address": "192.0.2.4"}]}})");
    t.set("open", 0, health::State::down);
    t.set("open", 1, health::State::down);
    t.set("none", 0, health::State::down);
    t.set("chain", 0, health::State::down);
    auto lines = t.why("open.lb.example.test", client_at("127.0.0.1"));
    CHECK(has(lines,
              "fallback \"all\": no member of pool open is up, so it fails open: the "
              "policy runs as if every enabled member were up"));
    CHECK(has_prefix(lines, "answer A 192.0.2."));
    lines = t.why("none.lb.example.test", client_at("127.0.0.1"));
    CHECK(has(lines,
              "answer NODATA: fallback \"none\" of pool none and no member up; negative "
              "ttl 10 (short, so the name comes back soon)"));
    lines = t.why("chain.lb.example.test", client_at("127.0.0.1"));
    CHECK(has(lines, "fallback: no member of pool chain may answer; its fallback is pool open"));
    CHECK(has_prefix(lines, "fallback pool open policy round-robin"));
    CHECK(has(lines, "ttl 300 (pool open, the fallback pool's)"));
}

TEST_CASE("why: names that are not balanced say what they are") {
    Traced t(R"({"www": {"members": [{"address": "192.0.2.1"}]}})");
    const lb::Client c = client_at("127.0.0.1");
    CHECK(has_prefix(t.why("static.lb.example.test", c),
                     "static.lb.example.test. is a static A RRset in zone lb.example.test."));
    CHECK(has(t.why("static.lb.example.test", c, dns::type::AAAA),
              "static.lb.example.test. has no AAAA in zone lb.example.test.: NODATA (not "
              "balanced; types here: A)"));
    auto lines = t.why("alias.lb.example.test", c);
    CHECK(has(lines, "alias.lb.example.test. is a CNAME to www.lb.example.test. (static)"));
    CHECK(has(lines, "answer A 192.0.2.1"));
    CHECK(has(t.why("far.lb.example.test", c),
              "the target is outside this zone: the resolver follows it"));
    CHECK(has(t.why("nope.lb.example.test", c),
              "nope.lb.example.test. does not exist in zone lb.example.test.: NXDOMAIN"));
    CHECK(has_prefix(t.why("x.sub.lb.example.test", c),
                     "x.sub.lb.example.test. is at or below the delegation sub.lb.example.test."));
    CHECK(has(t.why("www.lb.example.test", c, dns::type::AAAA),
              "answer NODATA: pool www has no AAAA member; negative ttl 60 (SOA minimum)"));
    CHECK(has(t.why("www.example.org", c), "www.example.org. is in no zone served here: REFUSED"));
}

TEST_CASE("why: _why. and _why6. name the traced type") {
    std::vector<uint8_t> wire;
    std::string error;
    REQUIRE(why::name_from_text("_why.www.lb.example.test.", wire, error));
    std::span<const uint8_t> target;
    CHECK(why::traced_type(wire, target) == dns::type::A);
    CHECK(dns::name_to_text(target) == "www.lb.example.test.");
    REQUIRE(why::name_from_text("_WHY6.www.lb.example.test", wire, error));
    CHECK(why::traced_type(wire, target) == dns::type::AAAA);
    REQUIRE(why::name_from_text("_whyx.www.lb.example.test", wire, error));
    CHECK(why::traced_type(wire, target) == 0);
    REQUIRE(why::name_from_text("_why", wire, error));
    CHECK(why::traced_type(wire, target) == 0);  // nothing after it
    CHECK_FALSE(why::name_from_text("a..b", wire, error));
    CHECK(error == "empty label");
    CHECK_FALSE(why::name_from_text(std::string(64, 'a') + ".test", wire, error));
}

TEST_CASE("why over the query path: TXT records at TTL 0, REFUSED outside --explain-from") {
    Traced t(R"({"www": {"answers": 1, "members": [{"address": "192.0.2.1"},
                                                    {"address": "192.0.2.2"}]}})");
    AnswerContext ctx;
    Answered a =
        ask(*t.snap, make_query("_why.www.lb.example.test", dns::type::TXT), Transport::tcp, &ctx);
    CHECK(ldns_pkt_get_rcode(a.pkt.get()) == LDNS_RCODE_NOERROR);
    CHECK(ldns_pkt_aa(a.pkt.get()));
    const ldns_rr_list* answer = ldns_pkt_answer(a.pkt.get());
    REQUIRE(ldns_rr_list_rr_count(answer) >= 5);
    CHECK(ldns_rr_get_type(ldns_rr_list_rr(answer, 0)) == LDNS_RR_TYPE_TXT);
    CHECK(ldns_rr_ttl(ldns_rr_list_rr(answer, 0)) == 0);
    CHECK(rdatas(answer).at(0) == "\"client 127.0.0.1 (source address; no ECS)\"");
    CHECK(a.outcome.explained);
    // Over UDP without room for it: TC, and the resolver retries over TCP.
    QueryOptions plain;
    plain.edns = false;
    a = ask(*t.snap, make_query("_why.www.lb.example.test", dns::type::TXT, plain), Transport::udp,
            &ctx);
    CHECK(ldns_pkt_tc(a.pkt.get()));
    // The rotation did not move: the real query gets the member the trace named.
    const Answered real = ask(*t.snap, make_query("www.lb.example.test", dns::type::A));
    CHECK(rdatas(ldns_pkt_answer(real.pkt.get())).at(0) == "192.0.2.1");

    a = ask_from(*t.snap, make_query("_why.www.lb.example.test", dns::type::TXT),
                 client_at("192.0.2.77"), &ctx);
    CHECK(ldns_pkt_get_rcode(a.pkt.get()) == LDNS_RCODE_REFUSED);
    CHECK(ldns_rr_list_rr_count(ldns_pkt_answer(a.pkt.get())) == 0);
    CHECK(a.outcome.explain_refused);
    ctx.explain_from.clear();  // --explain-from off
    a = ask(*t.snap, make_query("_why.www.lb.example.test", dns::type::TXT), Transport::udp, &ctx);
    CHECK(ldns_pkt_get_rcode(a.pkt.get()) == LDNS_RCODE_REFUSED);
    // A _why name asked for another type is an ordinary name: it does not exist.
    a = ask(*t.snap, make_query("_why.www.lb.example.test", dns::type::A));
    CHECK(ldns_pkt_get_rcode(a.pkt.get()) == LDNS_RCODE_NXDOMAIN);
}
