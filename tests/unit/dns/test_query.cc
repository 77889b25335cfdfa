// parse_query against well-formed and malformed packets.
#include <doctest/doctest.h>

#include "helpers.h"
#include "steerdns/dns/query.h"

using namespace steerdns;
using namespace steerdns::test;
using dns::ParseResult;

namespace {
ParseResult parse(const std::vector<uint8_t>& p) {
    dns::Query q;
    return dns::parse_query(p, q);
}
}  // namespace

TEST_CASE("a plain query parses, qname lowercased") {
    auto p = make_query("WWW.Example.TEST", LDNS_RR_TYPE_AAAA);
    dns::Query q;
    REQUIRE(dns::parse_query(p, q) == ParseResult::ok);
    CHECK(q.qtype == LDNS_RR_TYPE_AAAA);
    CHECK(q.qclass == LDNS_RR_CLASS_IN);
    CHECK(q.qname_len == 18);
    CHECK(std::memcmp(q.qname, "\3www\7example\4test", 18) == 0);
    CHECK_FALSE(q.edns.present);
}

TEST_CASE("drop: short packets and responses") {
    CHECK(parse({1, 2, 3}) == ParseResult::drop);
    auto p = make_query("a.test", 1);
    p[2] |= 0x80;
    CHECK(parse(p) == ParseResult::drop);
}

TEST_CASE("NOTIMP for opcodes other than QUERY") {
    for (uint8_t op : {1, 2, 4, 5, 15}) {
        auto p = make_query("a.test", 1);
        p[2] = static_cast<uint8_t>((p[2] & 0x87) | (op << 3));
        CHECK(parse(p) == ParseResult::notimp);
    }
}

TEST_CASE("FORMERR for malformed questions") {
    auto base = make_query("a.test", 1);
    SUBCASE("qdcount 0") {
        base[5] = 0;
        CHECK(parse(base) == ParseResult::formerr);
    }
    SUBCASE("qdcount 2") {
        base[5] = 2;
        CHECK(parse(base) == ParseResult::formerr);
    }
    SUBCASE("ancount 1") {
        base[7] = 1;
        CHECK(parse(base) == ParseResult::formerr);
    }
    SUBCASE("truncated question") {
        base.resize(base.size() - 2);
        CHECK(parse(base) == ParseResult::formerr);
    }
    SUBCASE("trailing garbage") {
        base.push_back(0);
        CHECK(parse(base) == ParseResult::formerr);
    }
    SUBCASE("compression pointer in the question") {
        std::vector<uint8_t> p(base.begin(), base.begin() + 12);
        p.insert(p.end(), {0xC0, 0x0C, 0, 1, 0, 1});
        CHECK(parse(p) == ParseResult::formerr);
    }
    SUBCASE("label longer than 63") {
        std::vector<uint8_t> p(base.begin(), base.begin() + 12);
        p.push_back(64);
        p.insert(p.end(), 64, 'a');
        p.insert(p.end(), {0, 0, 1, 0, 1});
        CHECK(parse(p) == ParseResult::formerr);
    }
    SUBCASE("name longer than 255") {
        std::vector<uint8_t> p(base.begin(), base.begin() + 12);
        for (int i = 0; i < 5; ++i) {
            p.push_back(60);
            p.insert(p.end(), 60, 'a');
        }
        p.insert(p.end(), {0, 0, 1, 0, 1});
        CHECK(parse(p) == ParseResult::formerr);
    }
}

TEST_CASE("EDNS: one OPT, owned by the root, version checked, ECS validated") {
    QueryOptions o;
    o.edns = true;
    auto ok = make_query("a.test", 1, o);
    dns::Query q;
    REQUIRE(dns::parse_query(ok, q) == ParseResult::ok);
    CHECK(q.edns.present);
    CHECK(q.edns.udp_size == 1232);

    auto two = ok;
    two[11] = 2;
    two.insert(two.end(), ok.end() - 11, ok.end());
    CHECK(parse(two) == ParseResult::formerr);

    o.version = 1;
    CHECK(parse(make_query("a.test", 1, o)) == ParseResult::badvers);
    o.version = 0;

    o.ecs = true;
    REQUIRE(dns::parse_query(make_query("a.test", 1, o), q) == ParseResult::ok);
    CHECK(q.edns.ecs.present);
    CHECK(q.edns.ecs.source_prefix == 24);
    CHECK(q.edns.ecs.address[2] == 100);

    SUBCASE("source prefix longer than IPv4 allows") {
        o.ecs_source = 33;
        o.ecs_address = {1, 2, 3, 4, 5};
        CHECK(parse(make_query("a.test", 1, o)) == ParseResult::formerr);
    }
    SUBCASE("unknown family") {
        o.ecs_family = 3;
        CHECK(parse(make_query("a.test", 1, o)) == ParseResult::formerr);
    }
    SUBCASE("too many address octets") {
        o.ecs_source = 16;
        CHECK(parse(make_query("a.test", 1, o)) == ParseResult::formerr);
    }
    SUBCASE("bits set past the prefix") {
        o.ecs_source = 20;
        o.ecs_address = {198, 51, 0x6F};
        CHECK(parse(make_query("a.test", 1, o)) == ParseResult::formerr);
    }
    SUBCASE("IPv6 /56") {
        o.ecs_family = 2;
        o.ecs_source = 56;
        o.ecs_address = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 1};
        CHECK(parse(make_query("a.test", 1, o)) == ParseResult::ok);
    }
}

TEST_CASE("parse_client_subnet: the option data alone, nothing kept when it is malformed") {
    dns::ClientSubnet ecs;
    const uint8_t v4[] = {0, 1, 24, 0, 198, 51, 100};
    REQUIRE(dns::parse_client_subnet(v4, ecs));
    CHECK(ecs.present);
    CHECK(ecs.family == 1);
    CHECK(ecs.source_prefix == 24);
    CHECK(ecs.address[0] == 198);
    CHECK(ecs.address[3] == 0);

    const uint8_t zero[] = {0, 2, 0, 0};  // ::/0: "no information", still well-formed
    CHECK(dns::parse_client_subnet(zero, ecs));

    dns::ClientSubnet bad;
    const uint8_t host_bits[] = {0, 1, 20, 0, 198, 51, 0x6F};
    CHECK_FALSE(dns::parse_client_subnet(host_bits, bad));
    CHECK_FALSE(bad.present);
    const uint8_t short_option[] = {0, 1, 24};
    CHECK_FALSE(dns::parse_client_subnet(short_option, bad));
    const uint8_t scope_too_long[] = {0, 1, 0, 33};
    CHECK_FALSE(dns::parse_client_subnet(scope_too_long, bad));
    CHECK_FALSE(bad.present);
}

TEST_CASE("parse_query agrees with ldns on what is a well-formed query") {
    // Differential: every query ldns itself renders must parse to the same name and type.
    const char* names[] = {"a.test", "www.lb.example.test", "x", "_srv._tcp.example.org"};
    for (const char* n : names) {
        for (uint16_t t : {1, 28, 16, 255, 6}) {
            ldns_pkt* pkt = nullptr;
            REQUIRE(ldns_pkt_query_new_frm_str(&pkt, n, static_cast<ldns_rr_type>(t),
                                               LDNS_RR_CLASS_IN, LDNS_RD) == LDNS_STATUS_OK);
            zone::PktPtr owned(pkt);
            uint8_t* wire = nullptr;
            size_t len = 0;
            REQUIRE(ldns_pkt2wire(&wire, pkt, &len) == LDNS_STATUS_OK);
            std::vector<uint8_t> bytes(wire, wire + len);
            free(wire);
            dns::Query q;
            REQUIRE(dns::parse_query(bytes, q) == ParseResult::ok);
            CHECK(q.qtype == t);
            ldns_rdf* owner = ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(pkt), 0));
            CHECK(q.qname_len == ldns_rdf_size(owner));
        }
    }
}
