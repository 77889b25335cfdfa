// `steerdns simulate`: shares from a zone file through the server's own selection, members
// forced down and drained, names that are not balanced, and the client spread.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>

#include "helpers.h"
#include "steerdns/cli/client_spread.h"
#include "steerdns/cli/simulate.h"
#include "steerdns/util/sockaddr.h"

using namespace steerdns;
using namespace steerdns::test;

namespace {

// A zone with pool `w` (weighted 1/2/3/4, one answer), `rr` (round robin), `f` (failover),
// `h` (hash over 4 members), `g` (geo) and `none` (fallback none), a CNAME and a static name.
std::string zone_json() {
    return R"({
  "zone": "lb.example.test.",
  "ttl": 300,
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1},
  "ns": ["ns1"],
  "records": ["ns1 A 192.0.2.53", "static A 192.0.2.100", "alias CNAME w"],
  "geo": {"rules": [{"net": "198.51.100.0/24", "region": "eu"}], "default": "us"},
  "pools": {
    "w": {"policy": "weighted", "answers": 1, "members": [
      {"address": "192.0.2.1", "weight": 1}, {"address": "192.0.2.2", "weight": 2},
      {"address": "192.0.2.3", "weight": 3}, {"address": "192.0.2.4", "weight": 4}]},
    "rr": {"policy": "round-robin", "answers": 2, "members": [
      {"address": "192.0.2.10"}, {"address": "192.0.2.11"}, {"address": "192.0.2.12"},
      {"address": "2001:db8::10"}]},
    "f": {"policy": "failover", "members": [
      {"address": "192.0.2.31", "priority": 2}, {"address": "192.0.2.32", "priority": 1},
      {"address": "192.0.2.33", "priority": 1}]},
    "h": {"policy": "hash", "members": [
      {"address": "192.0.2.41"}, {"address": "192.0.2.42"}, {"address": "192.0.2.43"},
      {"address": "192.0.2.44"}]},
    "g": {"policy": "geo", "regions": {"eu": ["eu", "us"], "us": ["us", "eu"]}, "members": [
      {"address": "192.0.2.51", "region": "eu"}, {"address": "192.0.2.52", "region": "us"}]},
    "none": {"policy": "round-robin", "fallback": "none", "members": [
      {"address": "192.0.2.61"}]},
    "primary": {"policy": "round-robin", "fallback": "backup", "members": [
      {"address": "192.0.2.71"}]},
    "backup": {"policy": "weighted", "answers": 1, "members": [
      {"address": "192.0.2.81", "weight": 1}, {"address": "192.0.2.82", "weight": 3}]}
  }
})";
}

struct Fixture {
    TempDir dir;
    Fixture() { dir.write("lb.json", zone_json()); }

    cli::SimulateOptions options(const std::string& name) const {
        cli::SimulateOptions o;
        o.paths = {dir.path.string()};
        o.name = name;
        return o;
    }
};

cli::SimulateReport run(const cli::SimulateOptions& o) {
    cli::SimulateReport r;
    std::string error;
    const bool ok = cli::simulate(o, r, error);
    CHECK_MESSAGE(ok, error);
    return r;
}

std::string fails(const cli::SimulateOptions& o) {
    cli::SimulateReport r;
    std::string error;
    CHECK_FALSE(cli::simulate(o, r, error));
    return error;
}

const cli::MemberShare& member(const cli::SimulateReport& r, const std::string& address) {
    for (const cli::MemberShare& m : r.members)
        if (m.address == address) return m;
    FAIL("no row for " << address);
    throw std::logic_error("unreachable");
}

double share(uint64_t n, const cli::SimulateReport& r) {
    return static_cast<double>(n) / static_cast<double>(r.queries);
}

cli::ClientSource source(const std::string& text) {
    cli::ClientSource s;
    std::string error;
    REQUIRE_MESSAGE(cli::parse_client_source(text, s, error), error);
    return s;
}

}  // namespace

TEST_CASE("simulate: weights 1/2/3/4 get 10/20/30/40 % within 1 pp") {
    Fixture f;
    cli::SimulateOptions o = f.options("w.lb.example.test");
    o.queries = 100000;
    const cli::SimulateReport r = run(o);
    CHECK(r.pool == "w");
    CHECK(r.policy == lb::Policy::weighted);
    REQUIRE(r.members.size() == 4);
    const double want[] = {0.1, 0.2, 0.3, 0.4};
    for (size_t i = 0; i < 4; ++i) {
        const cli::MemberShare& m = r.members[i];
        CAPTURE(m.address);
        CHECK(m.address == "192.0.2." + std::to_string(i + 1));
        REQUIRE(m.configured.has_value());
        CHECK(*m.configured == doctest::Approx(want[i]));
        CHECK(std::abs(share(m.answered, r) - want[i]) < 0.01);
        CHECK(std::abs(share(m.first, r) - want[i]) < 0.01);
    }
    CHECK(r.nodata == 0);
    CHECK(r.fallback == 0);

    // Reproducible: the same seed gives the same counts, another seed other ones.
    const cli::SimulateReport again = run(o);
    for (size_t i = 0; i < 4; ++i) CHECK(again.members[i].answered == r.members[i].answered);
    o.seed = 2;
    const cli::SimulateReport other = run(o);
    bool differs = false;
    for (size_t i = 0; i < 4; ++i) differs |= other.members[i].answered != r.members[i].answered;
    CHECK(differs);
}

TEST_CASE("simulate: a member forced down gives its share to the others, by weight") {
    Fixture f;
    cli::SimulateOptions o = f.options("w.lb.example.test.");
    o.down = {"192.0.2.4"};
    const cli::SimulateReport r = run(o);
    CHECK(member(r, "192.0.2.4").note == "down");
    CHECK(member(r, "192.0.2.4").answered == 0);
    CHECK(*member(r, "192.0.2.4").configured == 0.0);
    // 1/2/3 of 6 now.
    CHECK(*member(r, "192.0.2.3").configured == doctest::Approx(0.5));
    CHECK(std::abs(share(member(r, "192.0.2.1").first, r) - 1.0 / 6) < 0.01);
    CHECK(std::abs(share(member(r, "192.0.2.3").first, r) - 0.5) < 0.01);
    CHECK(r.fallback == 0);

    // Every member down: fallback "all" answers as if all were up.
    o.down = {"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"};
    const cli::SimulateReport all_down = run(o);
    CHECK(all_down.fallback == all_down.queries);
    CHECK(*member(all_down, "192.0.2.4").configured == doctest::Approx(0.4));
    CHECK(std::abs(share(member(all_down, "192.0.2.4").first, all_down) - 0.4) < 0.01);
}

TEST_CASE("simulate: a drained member leaves every answer, fallback included") {
    Fixture f;
    cli::SimulateOptions o = f.options("f.lb.example.test");
    o.queries = 1000;
    const cli::SimulateReport active = run(o);
    CHECK(member(active, "192.0.2.31").first == 1000);
    CHECK(*member(active, "192.0.2.31").configured == 1.0);
    CHECK(*member(active, "192.0.2.32").configured == 0.0);

    o.drain = {"192.0.2.31"};
    const cli::SimulateReport drained = run(o);
    CHECK(member(drained, "192.0.2.31").note == "drained");
    CHECK(member(drained, "192.0.2.31").answered == 0);
    // The lower tier takes over, rotating between its two members.
    CHECK(member(drained, "192.0.2.32").first == 500);
    CHECK(member(drained, "192.0.2.33").first == 500);
    CHECK(*member(drained, "192.0.2.32").configured == 0.5);
    o.down = {"192.0.2.31"};  // drained and down at once: still a member, still out
    CHECK(member(run(o), "192.0.2.31").answered == 0);

    o.name = "none.lb.example.test";
    o.drain = {};
    o.down = {"192.0.2.61"};
    const cli::SimulateReport none = run(o);
    CHECK(none.nodata == 1000);
    CHECK(none.nodata_configured == 1.0);
}

TEST_CASE("simulate: a fallback pool's members get rows of their own") {
    Fixture f;
    cli::SimulateOptions o = f.options("primary.lb.example.test");
    o.queries = 20000;
    const cli::SimulateReport up = run(o);
    REQUIRE(up.members.size() == 1);  // the backup is not asked while the primary is up
    CHECK(member(up, "192.0.2.71").first == 20000);

    o.down = {"192.0.2.71"};
    const cli::SimulateReport r = run(o);
    REQUIRE(r.members.size() == 3);
    CHECK(r.fallback == 20000);
    CHECK(member(r, "192.0.2.71").note == "down");
    const cli::MemberShare& b = member(r, "192.0.2.82");
    CHECK(b.pool == "backup");
    CHECK(b.note == "fallback pool backup");
    CHECK(*b.configured == doctest::Approx(0.75));
    CHECK(std::abs(share(b.first, r) - 0.75) < 0.01);
}

TEST_CASE("simulate: round robin, AAAA, and every member of an answer counted") {
    Fixture f;
    cli::SimulateOptions o = f.options("rr.lb.example.test");
    o.queries = 3000;
    const cli::SimulateReport r = run(o);
    REQUIRE(r.members.size() == 3);  // the IPv4 members only
    for (const cli::MemberShare& m : r.members) {
        CHECK(m.first == 1000);
        CHECK(m.answered == 2000);  // "answers": 2
        CHECK(*m.configured == doctest::Approx(1.0 / 3));
    }
    CHECK(r.networks.empty());  // only with by_network for round robin

    // By network: answers are sets of members, a rotation's three pairs a third each.
    o.by_network = true;
    o.clients = {source("198.51.100.0/24")};
    const cli::SimulateReport nets = run(o);
    REQUIRE(nets.networks.size() == 1);
    CHECK(nets.networks[0].network == "198.51.100.0/24");
    CHECK(nets.networks[0].answers ==
          std::vector<std::pair<std::string, uint64_t>>{{"192.0.2.10 192.0.2.11", 1000},
                                                        {"192.0.2.10 192.0.2.12", 1000},
                                                        {"192.0.2.11 192.0.2.12", 1000}});
    o.by_network = false;
    o.clients = {};

    o.rrtype = dns::type::AAAA;
    const cli::SimulateReport v6 = run(o);
    REQUIRE(v6.members.size() == 1);
    CHECK(v6.members[0].address == "2001:db8::10");
    CHECK(v6.members[0].first == 3000);
}

TEST_CASE("simulate: hash and geo answer by client network, with and without ECS") {
    Fixture f;
    cli::SimulateOptions o = f.options("h.lb.example.test");
    o.clients = {source("10.0.0.0/16")};
    o.queries = 256 * 10;
    o.networks = 1000;
    const cli::SimulateReport h = run(o);
    CHECK_FALSE(h.members[0].configured.has_value());
    CHECK(h.network_count == 256);
    REQUIRE(h.networks.size() == 256);
    std::map<std::string, uint64_t> firsts;
    for (const cli::NetworkShare& n : h.networks) {
        CHECK(n.queries == 10);
        REQUIRE(n.answers.size() == 1);  // one /24, one member
        firsts[n.answers[0].first] += n.queries;
    }
    CHECK(firsts.size() == 4);  // 256 networks hash onto every member

    // The tally stops at max_networks; the rest is counted apart.
    o.max_networks = 100;
    const cli::SimulateReport capped = run(o);
    CHECK(capped.network_count == 100);
    CHECK(capped.untallied == 156 * 10);
    o.max_networks = cli::SimulateOptions{}.max_networks;

    o.name = "g.lb.example.test";
    o.clients = {source("198.51.100.0/24"), source("203.0.113.0/24")};
    o.queries = 1000;
    const cli::SimulateReport direct = run(o);
    REQUIRE(direct.networks.size() == 2);
    std::map<std::string, std::string> by_net;
    for (const cli::NetworkShare& n : direct.networks) by_net[n.network] = n.answers[0].first;
    CHECK(by_net["198.51.100.0/24"] == "192.0.2.51");  // eu
    CHECK(by_net["203.0.113.0/24"] == "192.0.2.52");   // default us
    CHECK(member(direct, "192.0.2.51").first == 500);

    // With ECS the policies see the subnet, not the resolver's address.
    o.ecs = true;
    o.clients = {source("198.51.100.0/24")};
    const cli::SimulateReport ecs = run(o);
    REQUIRE(ecs.networks.size() == 1);
    CHECK(ecs.networks[0].network == "198.51.100.0/24");
    CHECK(member(ecs, "192.0.2.51").first == 1000);
    o.ecs = false;
    o.clients = {source("203.0.113.53")};  // the address --ecs queries come from
    CHECK(member(run(o), "192.0.2.52").first == 1000);
}

TEST_CASE("simulate: names that are not balanced, and bad --down/--drain, are errors") {
    Fixture f;
    cli::SimulateOptions o = f.options("static.lb.example.test");
    CHECK(fails(o).find("static A records") != std::string::npos);
    o.name = "alias.lb.example.test";
    CHECK(fails(o).find("is a CNAME to w.lb.example.test.") != std::string::npos);
    o.name = "nope.lb.example.test";
    CHECK(fails(o).find("NXDOMAIN") != std::string::npos);
    o.name = "www.example.org";
    CHECK(fails(o).find("in none of the zones") != std::string::npos);
    o.name = "g.lb.example.test";
    o.rrtype = dns::type::AAAA;
    CHECK(fails(o).find("no IPv6 member") != std::string::npos);
    o.rrtype = dns::type::A;
    o.down = {"192.0.2.99"};
    CHECK(fails(o).find("--down 192.0.2.99: no member") != std::string::npos);
    o.down = {"not-an-address"};
    CHECK(fails(o).find("not an IPv4 or IPv6 address") != std::string::npos);
    o.down = {};
    o.drain = {"192.0.2.98"};
    CHECK(fails(o).find("--drain 192.0.2.98: no member") != std::string::npos);
}

TEST_CASE("simulate: the printed table") {
    Fixture f;
    cli::SimulateOptions o = f.options("w.lb.example.test");
    o.down = {"192.0.2.2"};
    std::ostringstream out;
    std::ostringstream err;
    CHECK(cli::run_simulate(o, out, err) == 0);
    const std::string text = out.str();
    CHECK(text.find("member          configured  answered  first\n") != std::string::npos);
    CHECK(text.find("192.0.2.4       50.0 %") != std::string::npos);
    CHECK(text.find("down\n") != std::string::npos);
    o.name = "static.lb.example.test";
    std::ostringstream out2;
    CHECK(cli::run_simulate(o, out2, err) == 1);
    CHECK(err.str().find("steerdns simulate: static.lb.example.test. has static") !=
          std::string::npos);
}

TEST_CASE("client spread: weights, interleaving and every address of a /24") {
    cli::ClientSpread one({source("198.51.100.0/24")});
    std::set<std::string> seen;
    for (int i = 0; i < 256; ++i) {
        uint8_t family = 0;
        uint8_t address[16];
        size_t s = 99;
        one.next(family, address, s);
        CHECK(family == 4);
        CHECK(s == 0);
        seen.insert(util::address_text(4, address));
    }
    CHECK(seen.size() == 256);  // each address once in 256 queries
    CHECK(seen.count("198.51.100.0") == 1);
    CHECK(seen.count("198.51.100.255") == 1);

    cli::ClientSource heavy = source("2001:db8::/32");
    heavy.weight = 3;
    cli::ClientSpread two({source("192.0.2.1"), heavy});
    size_t counts[2] = {0, 0};
    size_t longest_run = 0;
    size_t run_length = 0;
    size_t last = 2;
    std::set<std::string> v6;
    for (int i = 0; i < 4000; ++i) {
        uint8_t family = 0;
        uint8_t address[16];
        size_t s = 0;
        two.next(family, address, s);
        ++counts[s];
        run_length = s == last ? run_length + 1 : 1;
        longest_run = std::max(longest_run, run_length);
        last = s;
        CHECK(family == (s == 0 ? 4 : 6));
        if (s == 1) v6.insert(util::address_text(6, address));
    }
    CHECK(counts[0] == 1000);       // 1:3 exactly
    CHECK(longest_run <= 3);        // interleaved, not one block per source
    CHECK(v6.size() == counts[1]);  // a big prefix: no address twice

    // Equal weights take strict turns.
    cli::ClientSpread three({source("192.0.2.1"), source("192.0.2.2"), source("192.0.2.3")});
    for (size_t i = 0; i < 30; ++i) {
        uint8_t family = 0;
        uint8_t address[16];
        size_t s = 0;
        three.next(family, address, s);
        CHECK(s == i % 3);
        CHECK(address[3] == i % 3 + 1);
    }

    std::vector<cli::ClientSource> listed;
    std::string error;
    CHECK(cli::parse_clients_file("# clients\n198.51.100.0/24 3\n\n2001:db8::1  # one\n", listed,
                                  error));
    REQUIRE(listed.size() == 2);
    CHECK(listed[0].weight == 3);
    CHECK(listed[1].net.prefix == 128);
    CHECK_FALSE(cli::parse_clients_file("198.51.100.0/24 zero\n", listed, error));
    CHECK(error == "line 1: weight \"zero\" is not a number above 0");
    CHECK_FALSE(cli::parse_clients_file("198.51.100.1/24\n", listed, error));
    CHECK(error.find("line 1: 198.51.100.1/24: ") == 0);
    CHECK_FALSE(cli::parse_clients_file("# nothing\n", listed, error));
}
