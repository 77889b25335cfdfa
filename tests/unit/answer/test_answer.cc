// The whole query path against the example zone, decoded with ldns.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "helpers.h"
#include "steerdns/dns/query.h"
#include "steerdns/dns/response.h"
#include "steerdns/dns/wire.h"

using namespace steerdns;
using namespace steerdns::test;

namespace {

Snapshot example_snapshot() {
    return Snapshot({compile_json(example_zone_json())});
}

uint32_t first_ttl(const ldns_rr_list* l) {
    return ldns_rr_ttl(ldns_rr_list_rr(l, 0));
}
ldns_rr_type first_type(const ldns_rr_list* l) {
    return ldns_rr_get_type(ldns_rr_list_rr(l, 0));
}

}  // namespace

TEST_CASE("pool A answer: AA, no RA, question case kept, two members at the pool TTL") {
    const Snapshot snap = example_snapshot();
    auto a = ask(snap, make_query("WwW.Lb.ExAmPlE.TeSt", LDNS_RR_TYPE_A));
    INFO(to_text(a.pkt.get()));
    CHECK(ldns_pkt_get_rcode(a.pkt.get()) == LDNS_RCODE_NOERROR);
    CHECK(ldns_pkt_aa(a.pkt.get()));
    CHECK_FALSE(ldns_pkt_ra(a.pkt.get()));
    CHECK(ldns_pkt_rd(a.pkt.get()));
    CHECK(ldns_pkt_id(a.pkt.get()) == 0x1234);
    CHECK(std::memcmp(a.wire.data() + 13, "WwW", 3) == 0);
    REQUIRE(ldns_pkt_ancount(a.pkt.get()) == 2);
    CHECK(first_ttl(ldns_pkt_answer(a.pkt.get())) == 30);
    for (const auto& r : rdatas(ldns_pkt_answer(a.pkt.get())))
        CHECK((r == "192.0.2.10" || r == "192.0.2.11" || r == "192.0.2.12"));
}

TEST_CASE("pool AAAA answers the IPv6 members; a family without members is NODATA") {
    const Snapshot snap = example_snapshot();
    auto a = ask(snap, make_query("www.lb.example.test", LDNS_RR_TYPE_AAAA));
    CHECK(rdatas(ldns_pkt_answer(a.pkt.get())) == std::vector<std::string>{"2001:db8::10"});
    auto b = ask(snap, make_query("api.eu.lb.example.test", LDNS_RR_TYPE_AAAA));
    CHECK(ldns_pkt_get_rcode(b.pkt.get()) == LDNS_RCODE_NOERROR);
    CHECK(ldns_pkt_ancount(b.pkt.get()) == 0);
    REQUIRE(ldns_pkt_nscount(b.pkt.get()) == 1);
    CHECK(first_type(ldns_pkt_authority(b.pkt.get())) == LDNS_RR_TYPE_SOA);
    CHECK(first_ttl(ldns_pkt_authority(b.pkt.get())) == 60);
}

TEST_CASE("NXDOMAIN carries the SOA with TTL min(SOA TTL, minimum)") {
    const Snapshot snap = example_snapshot();
    auto a = ask(snap, make_query("nope.lb.example.test", LDNS_RR_TYPE_A));
    CHECK(ldns_pkt_get_rcode(a.pkt.get()) == LDNS_RCODE_NXDOMAIN);
    CHECK(ldns_pkt_aa(a.pkt.get()));
    REQUIRE(ldns_pkt_nscount(a.pkt.get()) == 1);
    const ldns_rr* soa = ldns_rr_list_rr(ldns_pkt_authority(a.pkt.get()), 0);
    CHECK(ldns_rr_get_type(soa) == LDNS_RR_TYPE_SOA);
    CHECK(ldns_rr_ttl(soa) == 60);
    char* owner = ldns_rdf2str(ldns_rr_owner(soa));
    CHECK(std::string(owner) == "lb.example.test.");
    free(owner);
}

TEST_CASE("empty non-terminal and missing type are NODATA") {
    const Snapshot snap = example_snapshot();
    for (const char* name :
         {"b.c.lb.example.test", "c.lb.example.test", "static.lb.example.test"}) {
        auto a = ask(snap, make_query(name, LDNS_RR_TYPE_TXT));
        INFO(name);
        CHECK(ldns_pkt_get_rcode(a.pkt.get()) == LDNS_RCODE_NOERROR);
        CHECK(ldns_pkt_ancount(a.pkt.get()) == 0);
        CHECK(ldns_pkt_nscount(a.pkt.get()) == 1);
    }
}

TEST_CASE("CNAME is chased inside the zone, into a pool") {
    const Snapshot snap = example_snapshot();
    auto a = ask(snap, make_query("docs.lb.example.test", LDNS_RR_TYPE_A));
    INFO(to_text(a.pkt.get()));
    REQUIRE(ldns_pkt_ancount(a.pkt.get()) == 3);
    const ldns_rr_list* an = ldns_pkt_answer(a.pkt.get());
    CHECK(ldns_rr_get_type(ldns_rr_list_rr(an, 0)) == LDNS_RR_TYPE_CNAME);
    char* owner = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(an, 1)));
    CHECK(std::string(owner) == "www.lb.example.test.");
    free(owner);

    auto c = ask(snap, make_query("docs.lb.example.test", LDNS_RR_TYPE_CNAME));
    CHECK(ldns_pkt_ancount(c.pkt.get()) == 1);

    auto out = ask(snap, make_query("out.lb.example.test", LDNS_RR_TYPE_A));
    CHECK(ldns_pkt_get_rcode(out.pkt.get()) == LDNS_RCODE_NOERROR);
    CHECK(ldns_pkt_ancount(out.pkt.get()) == 1);

    auto d = ask(snap, make_query("dangling.lb.example.test", LDNS_RR_TYPE_A));
    CHECK(ldns_pkt_get_rcode(d.pkt.get()) == LDNS_RCODE_NXDOMAIN);  // RFC 6604
    CHECK(ldns_pkt_ancount(d.pkt.get()) == 1);
    CHECK(ldns_pkt_nscount(d.pkt.get()) == 1);
}

TEST_CASE("a name below a delegation gets a referral with glue") {
    const Snapshot snap = example_snapshot();
    for (const char* name :
         {"sub.lb.example.test", "x.y.sub.lb.example.test", "ns.sub.lb.example.test"}) {
        auto a = ask(snap, make_query(name, LDNS_RR_TYPE_A));
        INFO(name << "\n" << to_text(a.pkt.get()));
        CHECK(ldns_pkt_get_rcode(a.pkt.get()) == LDNS_RCODE_NOERROR);
        CHECK_FALSE(ldns_pkt_aa(a.pkt.get()));
        CHECK(ldns_pkt_ancount(a.pkt.get()) == 0);
        REQUIRE(ldns_pkt_nscount(a.pkt.get()) == 1);
        CHECK(first_type(ldns_pkt_authority(a.pkt.get())) == LDNS_RR_TYPE_NS);
        CHECK(rdatas(ldns_pkt_additional(a.pkt.get())) == std::vector<std::string>{"192.0.2.53"});
    }
    // DS belongs to the parent side of the cut: answered authoritatively (NODATA here).
    auto ds = ask(snap, make_query("sub.lb.example.test", LDNS_RR_TYPE_DS));
    CHECK(ldns_pkt_aa(ds.pkt.get()));
    CHECK(ldns_pkt_nscount(ds.pkt.get()) == 1);
    CHECK(first_type(ldns_pkt_authority(ds.pkt.get())) == LDNS_RR_TYPE_SOA);
}

TEST_CASE("a CNAME into a delegated name: the CNAME, then the referral (RFC 1034 4.3.2)") {
    std::string json = example_zone_json();
    const std::string dangling = "\"dangling CNAME nothing-here\"";
    json.replace(json.find(dangling), dangling.size(), dangling + ", \"tosub CNAME host.sub\"");
    const Snapshot snap({compile_json(json)});
    auto a = ask(snap, make_query("ToSub.lb.example.test", LDNS_RR_TYPE_A));
    INFO(to_text(a.pkt.get()));
    CHECK(ldns_pkt_get_rcode(a.pkt.get()) == LDNS_RCODE_NOERROR);
    CHECK(ldns_pkt_aa(a.pkt.get()));  // the CNAME is ours
    REQUIRE(ldns_pkt_ancount(a.pkt.get()) == 1);
    CHECK(first_type(ldns_pkt_answer(a.pkt.get())) == LDNS_RR_TYPE_CNAME);
    REQUIRE(ldns_pkt_nscount(a.pkt.get()) == 1);
    CHECK(first_type(ldns_pkt_authority(a.pkt.get())) == LDNS_RR_TYPE_NS);
    CHECK(rdatas(ldns_pkt_additional(a.pkt.get())) == std::vector<std::string>{"192.0.2.53"});
}

TEST_CASE("apex SOA and NS; NS answer carries glue") {
    const Snapshot snap = example_snapshot();
    auto soa = ask(snap, make_query("lb.example.test", LDNS_RR_TYPE_SOA));
    REQUIRE(ldns_pkt_ancount(soa.pkt.get()) == 1);
    CHECK(first_ttl(ldns_pkt_answer(soa.pkt.get())) == 300);
    auto ns = ask(snap, make_query("lb.example.test", LDNS_RR_TYPE_NS));
    INFO(to_text(ns.pkt.get()));
    CHECK(ldns_pkt_ancount(ns.pkt.get()) == 2);
    auto glue = rdatas(ldns_pkt_additional(ns.pkt.get()));
    std::sort(glue.begin(), glue.end());
    CHECK(glue == std::vector<std::string>{"127.0.0.1", "127.0.0.2"});
}

TEST_CASE("names outside every zone are REFUSED; the longest zone wins") {
    const auto parent =
        compile_json(R"({"zone": "example.test", "soa": {"mname": "ns", "rname": "h",
        "serial": 7}, "ns": ["ns"], "records": ["ns A 192.0.2.1", "www.lb A 203.0.113.1", "other A 203.0.113.2"]})");
    const Snapshot snap({parent, compile_json(example_zone_json())});
    auto r = ask(snap, make_query("www.example.org", LDNS_RR_TYPE_A));
    CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_REFUSED);
    CHECK_FALSE(ldns_pkt_aa(r.pkt.get()));
    auto w = ask(snap, make_query("www.lb.example.test", LDNS_RR_TYPE_A));
    for (const auto& x : rdatas(ldns_pkt_answer(w.pkt.get()))) CHECK(x != "203.0.113.1");
    auto o = ask(snap, make_query("other.example.test", LDNS_RR_TYPE_A));
    CHECK(rdatas(ldns_pkt_answer(o.pkt.get())) == std::vector<std::string>{"203.0.113.2"});
    auto nx = ask(snap, make_query("nope.lb.example.test", LDNS_RR_TYPE_A));
    char* owner = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_authority(nx.pkt.get()), 0)));
    CHECK(std::string(owner) == "lb.example.test.");
    free(owner);
}

TEST_CASE("EDNS: OPT echoed with our size, DO copied, BADVERS, ECS scope 0") {
    const Snapshot snap = example_snapshot();
    auto plain = ask(snap, make_query("static.lb.example.test", LDNS_RR_TYPE_A));
    CHECK(ldns_pkt_arcount(plain.pkt.get()) == 0);
    CHECK(ldns_pkt_edns_udp_size(plain.pkt.get()) == 0);

    QueryOptions o;
    o.edns = true;
    o.udp_size = 4096;
    o.do_bit = true;
    auto e = ask(snap, make_query("static.lb.example.test", LDNS_RR_TYPE_A, o));
    CHECK(ldns_pkt_edns(e.pkt.get()));
    CHECK(ldns_pkt_edns_udp_size(e.pkt.get()) == 1232);
    CHECK(ldns_pkt_edns_do(e.pkt.get()));

    o.version = 1;
    auto v = ask(snap, make_query("static.lb.example.test", LDNS_RR_TYPE_A, o));
    CHECK(ldns_pkt_edns_extended_rcode(v.pkt.get()) == 1);  // 16 >> 4
    CHECK(ldns_pkt_ancount(v.pkt.get()) == 0);
    CHECK(v.outcome.rcode == dns::Rcode::badvers);

    o.version = 0;
    o.ecs = true;
    auto ecs = ask(snap, make_query("www.lb.example.test", LDNS_RR_TYPE_A, o));
    // Find the ECS option in the raw OPT rdata: family 1, source 24, scope 0.
    const auto& w = ecs.wire;
    bool found = false;
    for (size_t i = 0; i + 8 <= w.size(); ++i)
        if (w[i] == 0 && w[i + 1] == 8 && w[i + 4] == 0 && w[i + 5] == 1 && w[i + 6] == 24) {
            CHECK(w[i + 7] == 0);
            found = true;
        }
    CHECK(found);
}

TEST_CASE("an answer that does not fit sets TC; TCP gets everything") {
    std::string members;
    for (int i = 0; i < 50; ++i)
        members += std::string(i ? "," : "") +
                   "{\"address\": \"2001:db8::" + std::to_string(i + 1) + "\"}";
    const auto z =
        compile_json(R"({"zone": "big.test", "soa": {"mname": "ns", "rname": "h", "serial": 1},
        "ns": ["ns"], "records": ["ns A 192.0.2.1"], "pools": {"many": {"answers": 50, "members": [)" +
                     members + "]}}}");
    const Snapshot snap({z});
    auto u = ask(snap, make_query("many.big.test", LDNS_RR_TYPE_AAAA));
    CHECK(ldns_pkt_tc(u.pkt.get()));
    CHECK(ldns_pkt_ancount(u.pkt.get()) == 0);
    CHECK(u.wire.size() <= 512);
    QueryOptions o;
    o.edns = true;
    o.udp_size = 4096;
    auto e = ask(snap, make_query("many.big.test", LDNS_RR_TYPE_AAAA, o));
    CHECK(ldns_pkt_tc(e.pkt.get()));  // 50 * 28 > 1232
    CHECK(e.wire.size() <= 1232);
    CHECK(ldns_pkt_edns(e.pkt.get()));
    auto t = ask(snap, make_query("many.big.test", LDNS_RR_TYPE_AAAA), Transport::tcp);
    CHECK_FALSE(ldns_pkt_tc(t.pkt.get()));
    CHECK(ldns_pkt_ancount(t.pkt.get()) == 50);
}

TEST_CASE("ANY gets the RFC 8482 HINFO; AXFR, IXFR and CHAOS are REFUSED") {
    const Snapshot snap = example_snapshot();
    auto any = ask(snap, make_query("www.lb.example.test", LDNS_RR_TYPE_ANY));
    REQUIRE(ldns_pkt_ancount(any.pkt.get()) == 1);
    CHECK(first_type(ldns_pkt_answer(any.pkt.get())) == LDNS_RR_TYPE_HINFO);
    CHECK(rdatas(ldns_pkt_answer(any.pkt.get())) == std::vector<std::string>{"\"RFC8482\" \"\""});
    for (uint16_t t : {uint16_t{LDNS_RR_TYPE_AXFR}, uint16_t{LDNS_RR_TYPE_IXFR}}) {
        auto r = ask(snap, make_query("lb.example.test", t));
        CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_REFUSED);
    }
    QueryOptions ch;
    ch.qclass = LDNS_RR_CLASS_CH;
    auto c = ask(snap, make_query("version.bind", LDNS_RR_TYPE_TXT, ch));
    CHECK(ldns_pkt_get_rcode(c.pkt.get()) == LDNS_RCODE_REFUSED);
}

TEST_CASE("round robin: over N queries each member is first exactly once") {
    const auto z =
        compile_json(R"({"zone": "rr.test", "soa": {"mname": "ns", "rname": "h", "serial": 1},
        "ns": ["ns"], "records": ["ns A 192.0.2.1"], "pools": {"www": {"answers": 1, "members": [
        {"address": "192.0.2.1"}, {"address": "192.0.2.2"}, {"address": "192.0.2.3"},
        {"address": "192.0.2.4"}, {"address": "192.0.2.5"}]}}})");
    const Snapshot snap({z});
    AnswerContext a;
    AnswerContext b;  // two workers share the pool's rotation
    std::map<std::string, int> firsts;
    std::vector<std::string> order;
    for (int i = 0; i < 50; ++i) {
        auto r =
            ask(snap, make_query("www.rr.test", LDNS_RR_TYPE_A), Transport::udp, i % 3 ? &a : &b);
        const auto got = rdatas(ldns_pkt_answer(r.pkt.get()));
        REQUIRE(got.size() == 1);
        ++firsts[got[0]];
        order.push_back(got[0]);
    }
    // No structured binding here: clang before 16 cannot capture one in the check's lambda.
    for (const auto& first : firsts) CHECK_MESSAGE(first.second == 10, first.first);
    for (size_t i = 5; i < order.size(); ++i) CHECK(order[i] == order[i - 5]);
}

TEST_CASE("find_name: the whole name, a known suffix and where it stands, or nothing") {
    // www.lb.example.test in the question at offset 12.
    const std::vector<uint8_t> query = make_query("www.lb.example.test", LDNS_RR_TYPE_A);
    dns::Query q;
    REQUIRE(dns::parse_query(query, q) == dns::ParseResult::ok);
    std::vector<uint8_t> out(512);
    dns::ResponseWriter w(out, out.size());
    w.begin(query, q);
    const auto wire = [](std::initializer_list<const char*> labels) {
        std::vector<uint8_t> n;
        for (const char* l : labels) {
            n.push_back(static_cast<uint8_t>(std::strlen(l)));
            n.insert(n.end(), l, l + std::strlen(l));
        }
        n.push_back(0);
        return n;
    };
    const auto whole = w.find_name(wire({"www", "lb", "example", "test"}));
    CHECK(whole.whole());
    CHECK(whole.offset == dns::kHeaderSize);
    const auto tail = w.find_name(wire({"example", "test"}));  // a suffix of the question
    CHECK(tail.whole());
    CHECK(tail.offset == dns::kHeaderSize + 4 + 3);  // past "\3www\2lb"
    const auto part = w.find_name(wire({"ns1", "example", "test"}));
    CHECK(part.found());
    CHECK_FALSE(part.whole());
    CHECK(part.from == 4);  // "\3ns1" is not known
    CHECK(part.offset == dns::kHeaderSize + 4 + 3);
    const auto none = w.find_name(wire({"example", "org"}));
    CHECK_FALSE(none.found());
    CHECK_FALSE(none.whole());
    // An owner written with part of it known: the unknown label, then a pointer.
    const uint8_t a_image[14] = {0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1};
    REQUIRE(w.add_rr_named(dns::Section::answer, wire({"ns1", "example", "test"}), a_image,
                           sizeof a_image));
    const size_t end = q.question_end;
    CHECK(out[end] == 3);
    CHECK(std::memcmp(&out[end + 1], "ns1", 3) == 0);
    CHECK(dns::load_u16(&out[end + 4]) == (0xC000 | (dns::kHeaderSize + 4 + 3)));
}

TEST_CASE(
    "pool counters: the queried pool counts responses and fallbacks, members count in "
    "the pool that answered") {
    // Clients in 192.0.2.0/24 (ap) have no member left: "www" falls back to pool "backup".
    const auto z = compile_json(R"({"zone": "fb.test", "soa": {"mname": "ns", "rname": "h",
        "serial": 1}, "ns": ["ns"], "records": ["ns A 192.0.2.1"],
        "geo": {"rules": [{"net": "192.0.2.0/24", "region": "ap"}], "default": "eu"},
        "pools": {
          "www": {"policy": "geo", "fallback": "backup", "regions": {"ap": ["ap"]}, "members": [
            {"address": "192.0.2.20", "region": "eu"},
            {"address": "192.0.2.22", "region": "ap", "enabled": false}]},
          "backup": {"members": [{"address": "192.0.2.99"}]}}})");
    const Snapshot snap({z}, 1, nullptr, 1);
    size_t www = 0;
    size_t backup = 0;
    for (size_t i = 0; i < z->pools.size(); ++i) (z->pools[i].name == "www" ? www : backup) = i;
    REQUIRE(www != backup);
    AnswerContext ctx;
    const auto query = make_query("www.fb.test", LDNS_RR_TYPE_A);
    const Answered ap = ask_from(snap, query, client_at("192.0.2.7"), &ctx);
    CHECK(rdatas(ldns_pkt_answer(ap.pkt.get())) == std::vector<std::string>{"192.0.2.99"});
    CHECK(ap.outcome.fallback);
    CHECK(ap.outcome.pool == &z->pools[www]);
    const Answered eu = ask_from(snap, query, client_at("198.51.100.7"), &ctx);
    CHECK(rdatas(ldns_pkt_answer(eu.pkt.get())) == std::vector<std::string>{"192.0.2.20"});
    CHECK_FALSE(eu.outcome.fallback);
    const auto total = [&](size_t pool, size_t counter) {
        return snap.pool_counter_total(0, pool, counter);
    };
    CHECK(total(www, Snapshot::kPoolResponses) == 2);
    CHECK(total(www, Snapshot::kPoolFallbacks) == 1);
    CHECK(total(www, Snapshot::kPoolMembers + 0) == 1);  // 192.0.2.20, for eu
    CHECK(total(www, Snapshot::kPoolMembers + 1) == 0);
    CHECK(total(backup, Snapshot::kPoolResponses) == 0);  // not queried itself
    CHECK(total(backup, Snapshot::kPoolMembers + 0) == 1);
}
