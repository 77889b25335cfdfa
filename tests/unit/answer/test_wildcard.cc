// Wildcards as RFC 1034 4.3.3 and RFC 4592 define them: synthesis from `*.<closest encloser>`
// only, never for a name that exists (empty non-terminals included), never at or below a cut;
// NODATA for a type the wildcard lacks, CNAME wildcards followed, pools at a wildcard owner.
#include <doctest/doctest.h>

#include <cstring>
#include <set>
#include <string>

#include "helpers.h"
#include "steerdns/health/registry.h"

using namespace steerdns;
using namespace steerdns::test;

namespace {

std::string wild_zone_json() {
    return R"({
  "zone": "w.test.",
  "ttl": 300,
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1, "minimum": 60},
  "ns": ["ns1"],
  "records": [
    "ns1 A 192.0.2.1",
    "*.wild A 192.0.2.77",
    "*.wild AAAA 2001:db8::77",
    "*.wild TXT \"wild\"",
    "host.wild A 192.0.2.78",
    "x.ent.wild A 192.0.2.79",
    "*.cw CNAME host.wild",
    "*.cwp CNAME a.cdn",
    "*.cwx CNAME www.example.net.",
    "*.cwn CNAME nothing.host.wild",
    "sub NS ns.sub",
    "ns.sub A 192.0.2.53",
    "*.sub A 192.0.2.99",
    "static.cdn A 192.0.2.200"
  ],
  "pools": {
    "*.cdn": {"policy": "round-robin", "ttl": 20, "answers": 1,
              "members": [{"address": "192.0.2.10"}, {"address": "192.0.2.11"},
                          {"address": "192.0.2.12"}]}
  }
})";
}

// A second zone whose apex holds the wildcard: every missing name of the zone matches.
std::string apex_wild_zone_json() {
    return R"({
  "zone": "aw.test.",
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1, "minimum": 60},
  "ns": ["ns1"],
  "records": ["ns1 A 192.0.2.1", "* MX 10 mail", "mail A 192.0.2.25"]
})";
}

Snapshot wild_snapshot() {
    return Snapshot({compile_json(wild_zone_json()), compile_json(apex_wild_zone_json())});
}

std::string owner_of(const ldns_rr_list* l, size_t i) {
    char* s = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(l, i)));
    std::string out = s;
    free(s);
    return out;
}

ldns_rr_type type_of(const ldns_rr_list* l, size_t i) {
    return ldns_rr_get_type(ldns_rr_list_rr(l, i));
}

// NOERROR, AA, no answer, the SOA alone in authority.
void check_nodata(const Answered& a) {
    INFO(to_text(a.pkt.get()));
    CHECK(ldns_pkt_get_rcode(a.pkt.get()) == LDNS_RCODE_NOERROR);
    CHECK(ldns_pkt_aa(a.pkt.get()));
    CHECK(ldns_pkt_ancount(a.pkt.get()) == 0);
    REQUIRE(ldns_pkt_nscount(a.pkt.get()) == 1);
    CHECK(type_of(ldns_pkt_authority(a.pkt.get()), 0) == LDNS_RR_TYPE_SOA);
}

void check_nxdomain(const Answered& a) {
    INFO(to_text(a.pkt.get()));
    CHECK(ldns_pkt_get_rcode(a.pkt.get()) == LDNS_RCODE_NXDOMAIN);
    CHECK(ldns_pkt_aa(a.pkt.get()));
    CHECK(ldns_pkt_ancount(a.pkt.get()) == 0);
    REQUIRE(ldns_pkt_nscount(a.pkt.get()) == 1);
    CHECK(type_of(ldns_pkt_authority(a.pkt.get()), 0) == LDNS_RR_TYPE_SOA);
}

}  // namespace

TEST_CASE("wildcard: a missing name below the wildcard's parent is synthesized, owner = qname") {
    const Snapshot snap = wild_snapshot();
    for (const char* name : {"foo.wild.w.test", "FoO.WiLd.w.test", "a.b.c.wild.w.test"}) {
        INFO(name);
        auto a = ask(snap, make_query(name, LDNS_RR_TYPE_A));
        INFO(to_text(a.pkt.get()));
        CHECK(ldns_pkt_get_rcode(a.pkt.get()) == LDNS_RCODE_NOERROR);
        CHECK(ldns_pkt_aa(a.pkt.get()));
        REQUIRE(ldns_pkt_ancount(a.pkt.get()) == 1);
        const ldns_rr_list* an = ldns_pkt_answer(a.pkt.get());
        CHECK(owner_of(an, 0) == std::string(name) + ".");  // the question, in its case
        CHECK(rdatas(an) == std::vector<std::string>{"192.0.2.77"});
        CHECK(ldns_rr_ttl(ldns_rr_list_rr(an, 0)) == 300);
        CHECK(ldns_pkt_nscount(a.pkt.get()) == 0);
    }
    auto v6 = ask(snap, make_query("bar.wild.w.test", LDNS_RR_TYPE_AAAA));
    CHECK(rdatas(ldns_pkt_answer(v6.pkt.get())) == std::vector<std::string>{"2001:db8::77"});
    auto txt = ask(snap, make_query("bar.wild.w.test", LDNS_RR_TYPE_TXT));
    CHECK(rdatas(ldns_pkt_answer(txt.pkt.get())) == std::vector<std::string>{"\"wild\""});
}

TEST_CASE("wildcard: the lookup names the wildcard node as the source of synthesis") {
    const Snapshot snap = wild_snapshot();
    const auto wire = [](const char* text) {
        zone::RdfPtr n(ldns_dname_new_frm_str(text));
        REQUIRE(n);
        return std::vector<uint8_t>(ldns_rdf_data(n.get()),
                                    ldns_rdf_data(n.get()) + ldns_rdf_size(n.get()));
    };
    const std::vector<uint8_t> q = wire("foo.wild.w.test.");
    const Lookup lk = snap.find(q);
    CHECK(lk.kind == Lookup::wildcard);
    REQUIRE(lk.found);
    const std::vector<uint8_t> star = wire("*.wild.w.test.");
    const auto name = lk.found.zone->node_name(*lk.found.node);
    CHECK(std::vector<uint8_t>(name.begin(), name.end()) == star);
    CHECK(snap.find(wire("host.wild.w.test.")).kind == Lookup::exact);
    CHECK(snap.find(wire("nope.w.test.")).kind == Lookup::nxdomain);
    CHECK(snap.find(wire("x.sub.w.test.")).kind == Lookup::nxdomain);  // the cut, not *.sub
}

TEST_CASE("wildcard: the literal * owner answers as an ordinary name") {
    const Snapshot snap = wild_snapshot();
    auto a = ask(snap, make_query("*.wild.w.test", LDNS_RR_TYPE_A));
    REQUIRE(ldns_pkt_ancount(a.pkt.get()) == 1);
    CHECK(owner_of(ldns_pkt_answer(a.pkt.get()), 0) == "*.wild.w.test.");
    check_nodata(ask(snap, make_query("*.wild.w.test", LDNS_RR_TYPE_MX)));
    // Below the * itself the closest encloser is *.wild, and *.*.wild does not exist.
    check_nxdomain(ask(snap, make_query("a.*.wild.w.test", LDNS_RR_TYPE_A)));
}

TEST_CASE("wildcard: a name that exists is never synthesized, not even for a type it lacks") {
    const Snapshot snap = wild_snapshot();
    auto a = ask(snap, make_query("host.wild.w.test", LDNS_RR_TYPE_A));
    CHECK(rdatas(ldns_pkt_answer(a.pkt.get())) == std::vector<std::string>{"192.0.2.78"});
    check_nodata(ask(snap, make_query("host.wild.w.test", LDNS_RR_TYPE_TXT)));
    check_nodata(ask(snap, make_query("host.wild.w.test", LDNS_RR_TYPE_AAAA)));
}

TEST_CASE("wildcard: an empty non-terminal exists: NODATA, and it is the closest encloser below") {
    const Snapshot snap = wild_snapshot();
    // ent.wild exists only because x.ent.wild does: NODATA, not the wildcard's A.
    check_nodata(ask(snap, make_query("ent.wild.w.test", LDNS_RR_TYPE_A)));
    // Its missing children: the closest encloser is ent.wild, which has no *.ent.wild.
    check_nxdomain(ask(snap, make_query("y.ent.wild.w.test", LDNS_RR_TYPE_A)));
    check_nxdomain(ask(snap, make_query("z.y.ent.wild.w.test", LDNS_RR_TYPE_A)));
    // The same below an existing name.
    check_nxdomain(ask(snap, make_query("x.host.wild.w.test", LDNS_RR_TYPE_A)));
    // The wildcard's parent itself is an empty non-terminal, not a match.
    check_nodata(ask(snap, make_query("wild.w.test", LDNS_RR_TYPE_A)));
    // Names beside the wildcard's parent get nothing from it.
    check_nxdomain(ask(snap, make_query("other.w.test", LDNS_RR_TYPE_A)));
}

TEST_CASE("wildcard: NODATA for a synthesized name without the type; ANY and DS") {
    const Snapshot snap = wild_snapshot();
    check_nodata(ask(snap, make_query("foo.wild.w.test", LDNS_RR_TYPE_MX)));
    check_nodata(ask(snap, make_query("foo.wild.w.test", LDNS_RR_TYPE_DS)));
    // RFC 8482, as for any name with data: one HINFO, at the query name.
    auto any = ask(snap, make_query("foo.wild.w.test", LDNS_RR_TYPE_ANY));
    REQUIRE(ldns_pkt_ancount(any.pkt.get()) == 1);
    CHECK(type_of(ldns_pkt_answer(any.pkt.get()), 0) == LDNS_RR_TYPE_HINFO);
    CHECK(owner_of(ldns_pkt_answer(any.pkt.get()), 0) == "foo.wild.w.test.");
}

TEST_CASE("wildcard: no synthesis at or below a zone cut, even from a * under it") {
    const Snapshot snap = wild_snapshot();
    for (const char* name : {"x.sub.w.test", "a.b.sub.w.test", "*.sub.w.test"}) {
        INFO(name);
        auto a = ask(snap, make_query(name, LDNS_RR_TYPE_A));
        INFO(to_text(a.pkt.get()));
        CHECK(ldns_pkt_get_rcode(a.pkt.get()) == LDNS_RCODE_NOERROR);
        CHECK_FALSE(ldns_pkt_aa(a.pkt.get()));
        CHECK(ldns_pkt_ancount(a.pkt.get()) == 0);
        REQUIRE(ldns_pkt_nscount(a.pkt.get()) == 1);
        CHECK(type_of(ldns_pkt_authority(a.pkt.get()), 0) == LDNS_RR_TYPE_NS);
    }
}

TEST_CASE("wildcard: a CNAME wildcard answers at the query name and is followed in the zone") {
    const Snapshot snap = wild_snapshot();
    auto a = ask(snap, make_query("foo.cw.w.test", LDNS_RR_TYPE_A));
    INFO(to_text(a.pkt.get()));
    CHECK(ldns_pkt_get_rcode(a.pkt.get()) == LDNS_RCODE_NOERROR);
    REQUIRE(ldns_pkt_ancount(a.pkt.get()) == 2);
    const ldns_rr_list* an = ldns_pkt_answer(a.pkt.get());
    CHECK(type_of(an, 0) == LDNS_RR_TYPE_CNAME);
    CHECK(owner_of(an, 0) == "foo.cw.w.test.");
    CHECK(owner_of(an, 1) == "host.wild.w.test.");
    CHECK(rdatas(an) == std::vector<std::string>{"host.wild.w.test.", "192.0.2.78"});

    auto c = ask(snap, make_query("foo.cw.w.test", LDNS_RR_TYPE_CNAME));
    REQUIRE(ldns_pkt_ancount(c.pkt.get()) == 1);
    CHECK(owner_of(ldns_pkt_answer(c.pkt.get()), 0) == "foo.cw.w.test.");

    // Out of the zone: the CNAME alone.
    auto x = ask(snap, make_query("foo.cwx.w.test", LDNS_RR_TYPE_A));
    CHECK(ldns_pkt_get_rcode(x.pkt.get()) == LDNS_RCODE_NOERROR);
    CHECK(rdatas(ldns_pkt_answer(x.pkt.get())) == std::vector<std::string>{"www.example.net."});

    // To a missing name: the CNAME, then NXDOMAIN (RFC 6604).
    auto n = ask(snap, make_query("foo.cwn.w.test", LDNS_RR_TYPE_A));
    CHECK(ldns_pkt_get_rcode(n.pkt.get()) == LDNS_RCODE_NXDOMAIN);
    CHECK(ldns_pkt_ancount(n.pkt.get()) == 1);

    // Into a wildcard pool: the CNAME, then one member at the CNAME's target.
    auto p = ask(snap, make_query("foo.cwp.w.test", LDNS_RR_TYPE_A));
    INFO(to_text(p.pkt.get()));
    REQUIRE(ldns_pkt_ancount(p.pkt.get()) == 2);
    CHECK(owner_of(ldns_pkt_answer(p.pkt.get()), 1) == "a.cdn.w.test.");
    REQUIRE(p.outcome.pool != nullptr);
    CHECK(p.outcome.pool->name == "*.cdn");
}

TEST_CASE("wildcard: a pool at *.cdn balances every missing name below cdn") {
    const Snapshot snap({compile_json(wild_zone_json())}, 1, nullptr, 1);
    AnswerContext ctx;
    std::set<std::string> seen;
    for (const char* name : {"a.cdn.w.test", "b.cdn.w.test", "x.y.cdn.w.test"}) {
        for (int i = 0; i < 3; ++i) {
            auto a = ask(snap, make_query(name, LDNS_RR_TYPE_A), Transport::udp, &ctx);
            INFO(name << "\n" << to_text(a.pkt.get()));
            REQUIRE(ldns_pkt_ancount(a.pkt.get()) == 1);
            const ldns_rr_list* an = ldns_pkt_answer(a.pkt.get());
            CHECK(owner_of(an, 0) == std::string(name) + ".");
            CHECK(ldns_rr_ttl(ldns_rr_list_rr(an, 0)) == 20);
            seen.insert(rdatas(an)[0]);
            REQUIRE(a.outcome.pool != nullptr);
            CHECK(a.outcome.pool->name == "*.cdn");
        }
    }
    // Round robin over nine queries reached every member.
    CHECK(seen == std::set<std::string>{"192.0.2.10", "192.0.2.11", "192.0.2.12"});
    CHECK(snap.pool_counter_total(0, 0, Snapshot::kPoolResponses) == 9);
    // The pool has no IPv6 member: NODATA.
    check_nodata(ask(snap, make_query("a.cdn.w.test", LDNS_RR_TYPE_AAAA)));
    // A name that exists below cdn keeps its own data.
    auto s = ask(snap, make_query("static.cdn.w.test", LDNS_RR_TYPE_A));
    CHECK(rdatas(ldns_pkt_answer(s.pkt.get())) == std::vector<std::string>{"192.0.2.200"});
    CHECK(s.outcome.pool == nullptr);
    // cdn itself is an empty non-terminal.
    check_nodata(ask(snap, make_query("cdn.w.test", LDNS_RR_TYPE_A)));
}

TEST_CASE("wildcard: a pool at *.cdn skips members that are down, and honours its fallback") {
    health::ProbeRegistry registry{16};
    const zone::LoadResult loaded = zone::parse_zone_json(R"({
  "zone": "h.test.", "soa": {"mname": "ns1", "rname": "h", "serial": 1}, "ns": ["ns1.example."],
  "checks": {"web": {"type": "tcp", "port": 80}},
  "pools": {"*.cdn": {"check": "web", "ttl": 30, "fallback": "none",
                      "members": [{"address": "192.0.2.1"}, {"address": "192.0.2.2"}]}}
})",
                                                          "h.json");
    REQUIRE(loaded.ok());
    zone::CompileResult r = zone::compile_zone(loaded.spec, &registry);
    REQUIRE(r.diags.empty());
    const Snapshot snap({r.zone}, 1, registry.table());
    const lb::Pool& pool = r.zone->pools.at(0);
    registry.states().set(pool.members[0].probe_slot, health::State::down);
    registry.states().set(pool.members[1].probe_slot, health::State::up);
    for (int i = 0; i < 4; ++i) {
        auto a = ask(snap, make_query("edge.cdn.h.test", LDNS_RR_TYPE_A));
        CHECK(rdatas(ldns_pkt_answer(a.pkt.get())) == std::vector<std::string>{"192.0.2.2"});
    }
    registry.states().set(pool.members[1].probe_slot, health::State::down);
    auto none = ask(snap, make_query("edge.cdn.h.test", LDNS_RR_TYPE_A));
    check_nodata(none);  // fallback "none": NODATA with the short SOA
    CHECK(none.outcome.fallback);
}

TEST_CASE("wildcard: * at the apex matches every missing name of the zone") {
    const Snapshot snap = wild_snapshot();
    for (const char* name : {"x.aw.test", "a.b.aw.test"}) {
        INFO(name);
        auto a = ask(snap, make_query(name, LDNS_RR_TYPE_MX));
        REQUIRE(ldns_pkt_ancount(a.pkt.get()) == 1);
        CHECK(owner_of(ldns_pkt_answer(a.pkt.get()), 0) == std::string(name) + ".");
        check_nodata(ask(snap, make_query(name, LDNS_RR_TYPE_A)));
    }
    // Existing names keep theirs; below them there is no *.
    auto m = ask(snap, make_query("mail.aw.test", LDNS_RR_TYPE_A));
    CHECK(rdatas(ldns_pkt_answer(m.pkt.get())) == std::vector<std::string>{"192.0.2.25"});
    check_nodata(ask(snap, make_query("mail.aw.test", LDNS_RR_TYPE_MX)));
    check_nxdomain(ask(snap, make_query("x.mail.aw.test", LDNS_RR_TYPE_MX)));
}
