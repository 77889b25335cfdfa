// --nsid: the NSID option (RFC 5001) and CH TXT id.server. / hostname.bind. (RFC 4892).
#include <doctest/doctest.h>
#include <unistd.h>

#include <climits>
#include <string>

#include "helpers.h"
#include "steerdns/dns/nsid.h"
#include "steerdns/dns/query.h"
#include "steerdns/dns/wire.h"

using namespace steerdns;
using namespace steerdns::test;

namespace {

Snapshot example_snapshot() {
    return Snapshot({compile_json(example_zone_json())});
}

AnswerContext context_with_nsid(const std::string& spec) {
    AnswerContext ctx;
    std::string error;
    REQUIRE_MESSAGE(dns::parse_nsid(spec, ctx.nsid, error), error);
    return ctx;
}

// The NSID option's data in the response's OPT; `found` false when there is none.
std::string nsid_option(const Answered& a, bool& found) {
    found = false;
    const ldns_rdf* data = ldns_pkt_edns_data(a.pkt.get());
    if (data == nullptr) return {};
    const uint8_t* p = ldns_rdf_data(data);
    const size_t n = ldns_rdf_size(data);
    for (size_t i = 0; i + 4 <= n;) {
        const uint16_t code = dns::load_u16(p + i);
        const uint16_t len = dns::load_u16(p + i + 2);
        REQUIRE(i + 4 + len <= n);
        if (code == dns::kOptionNsid) {
            found = true;
            return std::string(reinterpret_cast<const char*>(p + i + 4), len);
        }
        i += 4 + len;
    }
    return {};
}

// Out of line: GCC 12 reports a QueryOptions built inside a test body as maybe-uninitialized
// (a false positive in copying ecs_address's default).
[[gnu::noinline]] QueryOptions options(bool edns, bool nsid, uint16_t qclass = LDNS_RR_CLASS_IN) {
    QueryOptions o;
    o.edns = edns;
    o.nsid = nsid;
    o.qclass = qclass;
    return o;
}

QueryOptions edns_nsid() {
    return options(true, true);
}

}  // namespace

TEST_CASE("parse_nsid: text, 0x hex, hostname; empty, odd or bad hex and too long refused") {
    dns::Nsid n;
    std::string error;
    REQUIRE(dns::parse_nsid("ns1.fra", n, error));
    CHECK(n.set);
    CHECK(std::string(n.data, n.data + n.len) == "ns1.fra");

    REQUIRE(dns::parse_nsid("0x6E7331", n, error));
    CHECK(std::string(n.data, n.data + n.len) == "ns1");
    REQUIRE(dns::parse_nsid("0x00ff", n, error));
    REQUIRE(n.len == 2);
    CHECK(n.data[0] == 0x00);
    CHECK(n.data[1] == 0xff);

    char host[HOST_NAME_MAX + 1] = {};
    REQUIRE(gethostname(host, sizeof host - 1) == 0);
    REQUIRE(dns::parse_nsid("hostname", n, error));
    CHECK(std::string(n.data, n.data + n.len) == host);

    for (const char* bad : {"", "0x", "0x123", "0xzz", "0x6g"}) {
        CAPTURE(bad);
        CHECK_FALSE(dns::parse_nsid(bad, n, error));
        CHECK_FALSE(n.set);
        CHECK_FALSE(error.empty());
    }
    CHECK(dns::parse_nsid(std::string(255, 'a'), n, error));
    CHECK_FALSE(dns::parse_nsid(std::string(256, 'a'), n, error));
    CHECK_FALSE(dns::parse_nsid("0x" + std::string(512, 'a'), n, error));
}

TEST_CASE("parse_query notes an NSID option, beside ECS or alone") {
    dns::Query q;
    REQUIRE(dns::parse_query(make_query("a.test", 1, edns_nsid()), q) == dns::ParseResult::ok);
    CHECK(q.edns.nsid);
    QueryOptions both = edns_nsid();
    both.ecs = true;
    REQUIRE(dns::parse_query(make_query("a.test", 1, both), q) == dns::ParseResult::ok);
    CHECK(q.edns.nsid);
    CHECK(q.edns.ecs.present);
    const QueryOptions none = options(true, false);
    REQUIRE(dns::parse_query(make_query("a.test", 1, none), q) == dns::ParseResult::ok);
    CHECK_FALSE(q.edns.nsid);
}

TEST_CASE("NSID: answered when asked and configured, absent otherwise") {
    const Snapshot snap = example_snapshot();
    AnswerContext ctx = context_with_nsid("ns1.fra");
    bool found = false;

    auto asked = ask(snap, make_query("www.lb.example.test", LDNS_RR_TYPE_A, edns_nsid()),
                     Transport::udp, &ctx);
    CHECK(nsid_option(asked, found) == "ns1.fra");
    CHECK(found);
    CHECK(ldns_pkt_ancount(asked.pkt.get()) > 0);

    const QueryOptions plain_edns = options(true, false);
    auto not_asked = ask(snap, make_query("www.lb.example.test", LDNS_RR_TYPE_A, plain_edns),
                         Transport::udp, &ctx);
    nsid_option(not_asked, found);
    CHECK_FALSE(found);

    AnswerContext off;  // no --nsid: nothing changes
    auto not_set = ask(snap, make_query("www.lb.example.test", LDNS_RR_TYPE_A, edns_nsid()),
                       Transport::udp, &off);
    CHECK(ldns_pkt_edns(not_set.pkt.get()));
    nsid_option(not_set, found);
    CHECK_FALSE(found);

    // With ECS too: both options, ECS still echoed with its scope.
    QueryOptions both = edns_nsid();
    both.ecs = true;
    auto with_ecs =
        ask(snap, make_query("www.lb.example.test", LDNS_RR_TYPE_A, both), Transport::udp, &ctx);
    CHECK(nsid_option(with_ecs, found) == "ns1.fra");
    CHECK(found);
    const ldns_rdf* data = ldns_pkt_edns_data(with_ecs.pkt.get());
    REQUIRE(data != nullptr);
    CHECK(dns::load_u16(ldns_rdf_data(data)) == dns::kOptionEcs);

    // Hex-configured bytes go out as they are.
    AnswerContext hex = context_with_nsid("0x00017f");
    auto raw = ask(snap, make_query("www.lb.example.test", LDNS_RR_TYPE_A, edns_nsid()),
                   Transport::udp, &hex);
    CHECK(nsid_option(raw, found) == std::string("\x00\x01\x7f", 3));
}

TEST_CASE("NSID that does not fit beside the answer is left out; the answer stays whole") {
    std::string members;
    for (int i = 0; i < 10; ++i)
        members += std::string(i ? "," : "") +
                   "{\"address\": \"2001:db8::" + std::to_string(i + 1) + "\"}";
    const auto z =
        compile_json(R"({"zone": "big.test", "soa": {"mname": "ns", "rname": "h", "serial": 1},
        "ns": ["ns"], "records": ["ns A 192.0.2.1"], "pools": {"many": {"answers": 10, "members": [)" +
                     members + "]}}}");
    const Snapshot snap({z});
    AnswerContext ctx = context_with_nsid(std::string(255, 'n'));
    QueryOptions o = edns_nsid();
    o.udp_size = 512;  // 10 AAAA (280 bytes) fit; 259 more for the NSID do not
    auto u = ask(snap, make_query("many.big.test", LDNS_RR_TYPE_AAAA, o), Transport::udp, &ctx);
    CHECK_FALSE(ldns_pkt_tc(u.pkt.get()));
    CHECK(ldns_pkt_ancount(u.pkt.get()) == 10);
    CHECK(u.wire.size() <= 512);
    CHECK(ldns_pkt_edns(u.pkt.get()));
    bool found = true;
    nsid_option(u, found);
    CHECK_FALSE(found);

    o.udp_size = 1232;  // room enough: it is there
    auto big = ask(snap, make_query("many.big.test", LDNS_RR_TYPE_AAAA, o), Transport::udp, &ctx);
    CHECK(ldns_pkt_ancount(big.pkt.get()) == 10);
    CHECK(nsid_option(big, found) == std::string(255, 'n'));
    CHECK(found);

    o.udp_size = 512;  // TCP is not bound by the UDP size
    auto t = ask(snap, make_query("many.big.test", LDNS_RR_TYPE_AAAA, o), Transport::tcp, &ctx);
    CHECK(nsid_option(t, found) == std::string(255, 'n'));
    CHECK(found);
}

TEST_CASE("CH TXT id.server. and hostname.bind. answer the NSID; version.bind stays REFUSED") {
    const Snapshot snap = example_snapshot();
    AnswerContext ctx = context_with_nsid("ns1.fra");
    const QueryOptions ch = options(false, false, LDNS_RR_CLASS_CH);
    for (const char* name : {"id.server", "ID.Server", "hostname.bind"}) {
        for (uint16_t qtype : {uint16_t{LDNS_RR_TYPE_TXT}, uint16_t{LDNS_RR_TYPE_ANY}}) {
            CAPTURE(name);
            CAPTURE(qtype);
            auto a = ask(snap, make_query(name, qtype, ch), Transport::udp, &ctx);
            CHECK(ldns_pkt_get_rcode(a.pkt.get()) == LDNS_RCODE_NOERROR);
            CHECK(ldns_pkt_aa(a.pkt.get()));
            REQUIRE(ldns_pkt_ancount(a.pkt.get()) == 1);
            const ldns_rr* rr = ldns_rr_list_rr(ldns_pkt_answer(a.pkt.get()), 0);
            CHECK(ldns_rr_get_type(rr) == LDNS_RR_TYPE_TXT);
            CHECK(ldns_rr_get_class(rr) == LDNS_RR_CLASS_CH);
            CHECK(ldns_rr_ttl(rr) == 0);
            CHECK(rdatas(ldns_pkt_answer(a.pkt.get())) == std::vector<std::string>{"\"ns1.fra\""});
            CHECK(a.outcome.rcode == dns::Rcode::noerror);
        }
    }
    // Without zones the identity still answers: it is the server's, not a zone's.
    Answered none;
    {
        std::vector<uint8_t> out(512);
        const auto q = make_query("id.server", LDNS_RR_TYPE_TXT, ch);
        const size_t n = answer_query(nullptr, q, client_at("127.0.0.1"), Transport::udp, ctx, out);
        out.resize(n);
        none.pkt = decode(out);
    }
    CHECK(ldns_pkt_ancount(none.pkt.get()) == 1);

    const auto refused = [&](const char* name, uint16_t qtype, uint16_t qclass, AnswerContext& c) {
        auto a =
            ask(snap, make_query(name, qtype, options(false, false, qclass)), Transport::udp, &c);
        CHECK(ldns_pkt_get_rcode(a.pkt.get()) == LDNS_RCODE_REFUSED);
        CHECK(ldns_pkt_ancount(a.pkt.get()) == 0);
    };
    refused("version.bind", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_CH, ctx);
    refused("authors.bind", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_CH, ctx);
    refused("id.server", LDNS_RR_TYPE_A, LDNS_RR_CLASS_CH, ctx);
    refused("id.server", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, ctx);
    refused("x.id.server", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_CH, ctx);
    AnswerContext off;  // no --nsid: CHAOS is REFUSED, as before
    refused("id.server", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_CH, off);
    refused("hostname.bind", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_CH, off);
}

TEST_CASE("nsid_text: printable bytes as they are, others as --nsid's 0x hex, unset empty") {
    dns::Nsid n;
    std::string error;
    CHECK(dns::nsid_text(n).empty());
    REQUIRE(dns::parse_nsid("ns1.fra", n, error));
    CHECK(dns::nsid_text(n) == "ns1.fra");
    REQUIRE(dns::parse_nsid("0x00ff6e", n, error));
    CHECK(dns::nsid_text(n) == "0x00ff6e");
}
