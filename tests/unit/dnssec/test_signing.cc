// Zone signing: canonical name order (RFC 4034 6.1), NSEC type bitmaps (RFC 4034 4.3), the
// signed zone's NSEC chain and precomputed pool answer sets, and compile errors for key problems.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "helpers.h"
#include "probed_zone.h"
#include "steerdns/dns/name.h"
#include "steerdns/dnssec/keygen.h"
#include "steerdns/dnssec/ldns_ptr.h"
#include "steerdns/zone/compile.h"
#include "steerdns/zone/signing.h"

using namespace steerdns;
using namespace steerdns::test;

namespace {

std::vector<uint8_t> wire(const std::string& text) {
    const zone::RdfPtr name(ldns_dname_new_frm_str(text.c_str()));
    REQUIRE(name);
    ldns_dname2canonical(name.get());
    const uint8_t* p = ldns_rdf_data(name.get());
    return {p, p + ldns_rdf_size(name.get())};
}

std::string make_keys(const TempDir& dir, const std::string& zone) {
    dnssec::KeygenRequest r;
    r.zone = zone;
    r.dir = dir.file("keys-" + zone);
    r.now = 1796558400;  // 2026-12-06: active from then on
    std::vector<std::string> written;
    std::string error;
    REQUIRE_MESSAGE(dnssec::create_keys(r, written, error), error);
    return r.dir;
}

std::string signed_zone(const std::string& keys) {
    return R"({"zone": "lb.example.test.", "ttl": 300,
        "soa": {"mname": "ns1", "rname": "h", "serial": 1}, "ns": ["ns1"],
        "records": ["ns1 A 192.0.2.53", "a.ent TXT \"x\"", "sub NS ns.sub", "ns.sub A 192.0.2.8"],
        "dnssec": {"keys": ")" +
           keys + R"("},
        "pools": {
          "www": {"answers": 2, "members": [{"address": "192.0.2.1"}, {"address": "192.0.2.2"},
                                            {"address": "192.0.2.3"}, {"address": "2001:db8::1"}]},
          "big": {"members": [)" +
           [] {
               std::string m;
               for (int i = 1; i <= 9; ++i)
                   m.append(i > 1 ? ", " : "")
                       .append(R"({"address": "192.0.2.)")
                       .append(std::to_string(100 + i))
                       .append(R"("})");
               return m;
           }() +
           R"(]}}})";
}

}  // namespace

TEST_CASE("canonical_compare: the order of RFC 4034 6.1") {
    const std::vector<std::string> ordered = {
        "example.",         "a.example.",      "yljkjljk.a.example.",
        "Z.a.example.",     "zABC.a.EXAMPLE.", "z.example.",
        "\\001.z.example.", "*.z.example.",    "\\200.z.example."};
    for (size_t i = 0; i < ordered.size(); ++i) {
        for (size_t j = 0; j < ordered.size(); ++j) {
            CAPTURE(ordered[i]);
            CAPTURE(ordered[j]);
            const int c = dns::canonical_compare(wire(ordered[i]), wire(ordered[j]));
            CHECK((i < j ? c < 0 : i == j ? c == 0 : c > 0));
        }
    }
}

TEST_CASE("nsec_rdata: the bitmap of RFC 4034 4.3's example") {
    // host.example.com. NSEC host.example.com. A MX RRSIG NSEC TYPE1234
    const std::vector<uint8_t> next = wire("host.example.com.");
    const std::string rdata = zone::nsec_rdata(next, {1234, 47, 46, 15, 1});
    std::string want(next.begin(), next.end());
    // Window 0: A, MX, RRSIG, NSEC in 6 bytes; window 4: 1234 = 4 * 256 + 210, bit 210 in
    // byte 26 of 27.
    const uint8_t window0[] = {0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03, 0x04, 0x1b};
    want.append(reinterpret_cast<const char*>(window0), sizeof window0);
    want.append(26, '\0');
    want.push_back(0x20);
    CHECK(rdata == want);
}

TEST_CASE("a signed zone: NSEC chain in canonical order, pool answer sets signed at compile") {
    TempDir dir;
    const zone::ZonePtr z = compile_json(signed_zone(make_keys(dir, "lb.example.test")));
    REQUIRE(z);
    CHECK(z->dnssec);
    // apex, big, ns1, sub (a cut), www, a.ent: the empty non-terminal ent and glue have none.
    std::vector<std::string> chain;
    for (uint32_t n : z->nsec_order) chain.push_back(dns::name_to_text(z->node_name(z->nodes[n])));
    CHECK(chain == std::vector<std::string>{"lb.example.test.", "big.lb.example.test.",
                                            "a.ent.lb.example.test.", "ns1.lb.example.test.",
                                            "sub.lb.example.test.", "www.lb.example.test."});
    // www: 3 A members, 2 answers: 3 sets of one and 3 of two; 1 AAAA member: 1 set.
    size_t www = 0, big = 0;
    for (size_t i = 0; i < z->pools.size(); ++i) (z->pools[i].name == "www" ? www : big) = i;
    CHECK(z->pool_signatures[www].v4[0].size() == 6);
    CHECK(z->pool_signatures[www].v6[0].size() == 1);
    // big: 9 members, all answered: 511 possible sets, more than 256: none at compile.
    CHECK(z->pool_signatures[big].v4[0].empty());
    CHECK(z->soa_sig_count == 1);
}

TEST_CASE("signed zones: key problems are errors at dnssec.keys") {
    TempDir dir;
    auto errors_of = [](const std::string& json) {
        const zone::LoadResult loaded = zone::parse_zone_json(json, "z.json");
        REQUIRE(loaded.ok());
        std::string all;
        for (const zone::Diagnostic& d : zone::compile_zone(loaded.spec).diags)
            all.append(d.to_string()).append("\n");
        return all;
    };
    CHECK(errors_of(signed_zone(dir.file("none"))).find("cannot read the key directory") !=
          std::string::npos);
    CHECK(errors_of(signed_zone(make_keys(dir, "other.test")))
              .find("a key for other.test., not for lb.example.test.") != std::string::npos);
    const std::string e = errors_of(signed_zone(dir.file("none")));
    CHECK(e.rfind("z.json:4:", 0) == 0);  // the line of "keys"
    CHECK(e.find(": dnssec.keys: ") != std::string::npos);
}

namespace {

// The records of `type` in the answer section of `a`, as a list ldns owns.
dnssec::RrListPtr answer_records(const Answered& a, ldns_rr_type type) {
    dnssec::RrListPtr out(ldns_rr_list_new());
    const ldns_rr_list* answer = ldns_pkt_answer(a.pkt.get());
    for (size_t i = 0; i < ldns_rr_list_rr_count(answer); ++i) {
        const ldns_rr* rr = ldns_rr_list_rr(answer, i);
        if (ldns_rr_get_type(rr) == type) ldns_rr_list_push_rr(out.get(), ldns_rr_clone(rr));
    }
    return out;
}

}  // namespace

TEST_CASE("signed balanced answers: own sets, degraded, and the fallback pool's sets verify") {
    TempDir dir;
    const std::string keys = make_keys(dir, "lb.example.test");
    ProbedZone z(R"({"zone": "lb.example.test.", "ttl": 300,
        "soa": {"mname": "ns1", "rname": "h", "serial": 1}, "ns": ["ns1.example."],
        "checks": {"web": {"type": "tcp", "port": 80}},
        "dnssec": {"keys": ")" +
                 keys + R"("},
        "pools": {
          "one": {"ttl": 30, "ttl_degraded": 5, "check": "web", "fallback": "two",
            "members": [{"address": "192.0.2.1"}, {"address": "192.0.2.2"}]},
          "two": {"ttl": 60, "answers": 1, "members": [{"address": "192.0.2.7"},
                                                       {"address": "192.0.2.8"}]}}})");
    QueryOptions with_do;
    with_do.edns = true;
    with_do.do_bit = true;
    const Answered keyset =
        ask(*z.snap, make_query("lb.example.test", LDNS_RR_TYPE_DNSKEY, with_do));
    const dnssec::RrListPtr dnskeys = answer_records(keyset, LDNS_RR_TYPE_DNSKEY);
    REQUIRE(ldns_rr_list_rr_count(dnskeys.get()) == 1);
    auto verify = [&](const Answered& a) {
        const dnssec::RrListPtr rrset = answer_records(a, LDNS_RR_TYPE_A);
        const dnssec::RrListPtr sigs = answer_records(a, LDNS_RR_TYPE_RRSIG);
        REQUIRE(ldns_rr_list_rr_count(rrset.get()) > 0);
        REQUIRE(ldns_rr_list_rr_count(sigs.get()) == 1);
        return ldns_verify(rrset.get(), sigs.get(), dnskeys.get(), nullptr);
    };
    const auto www = make_query("one.lb.example.test", LDNS_RR_TYPE_A, with_do);
    for (int i = 0; i < 3; ++i) CHECK(verify(ask(*z.snap, www)) == LDNS_STATUS_OK);  // ttl 30
    z.set("one", 0, health::State::down);
    CHECK(verify(ask(*z.snap, www)) == LDNS_STATUS_OK);  // one member, ttl_degraded 5
    z.set("one", 1, health::State::down);
    // Every member down: pool "two" answers at one.lb.example.test with its own records.
    const Answered fb = ask(*z.snap, www);
    const dnssec::RrListPtr a = answer_records(fb, LDNS_RR_TYPE_A);
    REQUIRE(ldns_rr_list_rr_count(a.get()) == 1);
    CHECK(ldns_rr_ttl(ldns_rr_list_rr(a.get(), 0)) == 60);
    CHECK(verify(fb) == LDNS_STATUS_OK);
}

TEST_CASE("a signed zone: balanced names' NSEC without each family they hold, ANY's HINFO") {
    TempDir dir;
    const zone::ZonePtr z = compile_json(signed_zone(make_keys(dir, "lb.example.test")));
    REQUIRE(z);
    size_t www = 0, big = 0;
    for (size_t i = 0; i < z->pools.size(); ++i) (z->pools[i].name == "www" ? www : big) = i;
    // The NSEC's bitmap (after the next name) as dnspython would print it.
    const auto types = [&z](const zone::RRset& rs) {
        const zone::RrPtr rr = [&] {
            std::vector<uint8_t> w = wire("www.lb.example.test.");
            w.insert(w.end(), z->images.begin() + rs.offset,
                     z->images.begin() + rs.offset + rs.length);
            ldns_rr* out = nullptr;
            size_t pos = 0;
            REQUIRE(ldns_wire2rr(&out, w.data(), w.size(), &pos, LDNS_SECTION_ANSWER) ==
                    LDNS_STATUS_OK);
            return zone::RrPtr(out);
        }();
        char* text = ldns_rdf2str(ldns_rr_rdf(rr.get(), 1));
        std::string s = text;
        free(text);
        return s;
    };
    // www holds A and AAAA: one NSEC without each, at the fallback NODATA TTL, signed.
    const zone::RRset& no_a = z->pool_signatures[www].nodata_nsec[0];
    const zone::RRset& no_aaaa = z->pool_signatures[www].nodata_nsec[1];
    REQUIRE(no_a.type == 47);
    REQUIRE(no_aaaa.type == 47);
    CHECK(types(no_a) == "AAAA RRSIG NSEC ");
    CHECK(types(no_aaaa) == "A RRSIG NSEC ");
    CHECK(no_a.ttl == zone::kFallbackNodataTtl);
    CHECK(no_a.sig_count == 1);
    // big holds no AAAA: its own NSEC denies that already.
    CHECK(z->pool_signatures[big].nodata_nsec[0].type == 47);
    CHECK(z->pool_signatures[big].nodata_nsec[1].type == 0);
    // ANY's HINFO: one RRSIG per key at every node with data, none at a cut or glue.
    CHECK(z->any_sig_count == 1);
    REQUIRE(z->any_sig_offset.size() == z->nodes.size());
    for (size_t i = 0; i < z->nodes.size(); ++i) {
        const zone::Node& n = z->nodes[i];
        if (n.empty() || (n.flags & (zone::node_flag::delegation | zone::node_flag::occluded)))
            continue;
        const uint8_t* sig = z->signatures.data() + z->any_sig_offset[i];
        CHECK(dns::load_u16(sig + 10) == 13);  // RRSIG rdata: type covered HINFO
    }
}
