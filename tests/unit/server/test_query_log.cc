// The query log: the single-producer ring (full means dropped and counted, never blocked),
// 1-in-N sampling, and the line a response turns into.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "helpers.h"
#include "steerdns/server/query_log.h"

using namespace steerdns;
using namespace steerdns::test;
using server::QueryLogRecord;
using server::QueryLogRing;
using server::QueryLogTap;

namespace {

// Everything a line says for `query` answered from `snap`, from `client` port 40000.
std::string line_for(const Snapshot& snap, const std::vector<uint8_t>& query,
                     const std::string& client = "192.0.2.9", Transport t = Transport::udp) {
    const lb::Client from = client_at(client);
    const Answered a = ask_from(snap, query, from);
    QueryLogRecord r;
    r.time_ns = int64_t{1767225600} * 1000000000 + 123000000;  // 2026-01-01T00:00:00.123Z
    r.client_family = from.family;
    std::memcpy(r.client, from.address, 16);
    r.client_port = 40000;
    r.transport = t;
    server::summarise_response(a.wire, static_cast<uint16_t>(a.outcome.rcode), r);
    std::string out;
    server::format_query_line(r, out);
    return out;
}

Snapshot example_snapshot() {
    return Snapshot({compile_json(example_zone_json())});
}

}  // namespace

TEST_CASE("query log ring: claims until full, then nothing; drained records come in order") {
    QueryLogRing ring(5);
    REQUIRE(ring.capacity() == 8);
    for (uint16_t i = 0; i < 8; ++i) {
        QueryLogRecord* r = ring.claim();
        REQUIRE(r != nullptr);
        r->qtype = i;
        ring.commit();
    }
    CHECK(ring.claim() == nullptr);  // full: the caller drops and counts
    std::vector<uint16_t> seen;
    CHECK(ring.consume([&](const QueryLogRecord& r) { seen.push_back(r.qtype); }) == 8);
    CHECK(seen == std::vector<uint16_t>{0, 1, 2, 3, 4, 5, 6, 7});
    // Room again, and the indices wrap around the slots.
    for (uint16_t i = 100; i < 105; ++i) {
        QueryLogRecord* r = ring.claim();
        REQUIRE(r != nullptr);
        r->qtype = i;
        ring.commit();
    }
    seen.clear();
    CHECK(ring.consume([&](const QueryLogRecord& r) { seen.push_back(r.qtype); }) == 5);
    CHECK(seen == std::vector<uint16_t>{100, 101, 102, 103, 104});
    CHECK(ring.consume([&](const QueryLogRecord&) { FAIL("empty ring handed a record"); }) == 0);
}

TEST_CASE("query log tap: 1 in N is logged, a full ring drops and counts in WorkerStats") {
    const Snapshot snap = example_snapshot();
    const Answered a = ask(snap, make_query("www.lb.example.test", LDNS_RR_TYPE_A));
    const lb::Client client = client_at("127.0.0.1");
    server::WorkerStats stats;

    SUBCASE("sampling") {
        QueryLogRing ring(1024);
        QueryLogTap tap;
        CHECK_FALSE(tap.on());
        tap.attach(&ring, 10);
        REQUIRE(tap.on());
        for (int i = 0; i < 1000; ++i)
            tap.record(client, 53000, Transport::udp, a.wire, a.outcome, stats);
        CHECK(ring.consume([](const QueryLogRecord&) {}) == 100);
        CHECK(stats.query_log_dropped.load() == 0);
    }
    SUBCASE("full ring") {
        QueryLogRing ring(16);
        QueryLogTap tap;
        tap.attach(&ring, 1);
        for (int i = 0; i < 40; ++i)
            tap.record(client, 53000, Transport::udp, a.wire, a.outcome, stats);
        CHECK(stats.query_log_dropped.load() == 24);
        size_t n = 0;
        ring.consume([&](const QueryLogRecord& r) {
            ++n;
            CHECK(r.client_port == 53000);
            CHECK(r.answers == 2);
        });
        CHECK(n == 16);
        // Drained: the next query fits again.
        tap.record(client, 53000, Transport::udp, a.wire, a.outcome, stats);
        CHECK(ring.consume([](const QueryLogRecord&) {}) == 1);
        CHECK(stats.query_log_dropped.load() == 24);
    }
}

TEST_CASE("query log line: the fields of a pool answer, in the client's case") {
    const Snapshot snap = example_snapshot();
    const std::string line = line_for(snap, make_query("WwW.lb.example.test", LDNS_RR_TYPE_A));
    CHECK(line ==
          "ts=2026-01-01T00:00:00.123Z msg=query client=192.0.2.9 port=40000 transport=udp "
          "qname=WwW.lb.example.test. qtype=A rcode=NOERROR answers=2 first=192.0.2.10 "
          "size=69\n");
}

TEST_CASE("query log line: CNAME then pool, over TCP from IPv6, with ECS and its scope") {
    const Snapshot snap = example_snapshot();
    QueryOptions o;
    o.edns = true;
    o.ecs = true;
    const std::string line = line_for(snap, make_query("docs.lb.example.test", LDNS_RR_TYPE_A, o),
                                      "2001:db8::53", Transport::tcp);
    INFO(line);
    CHECK(line.find(" client=2001:db8::53 port=40000 transport=tcp ") != std::string::npos);
    CHECK(line.find(" qname=docs.lb.example.test. qtype=A rcode=NOERROR answers=3 ") !=
          std::string::npos);
    // The first address after the CNAME.
    CHECK(line.find(" first=192.0.2.1") != std::string::npos);
    CHECK(line.find(" ecs=198.51.100.0/24 scope=0 ") != std::string::npos);
    CHECK(line.find(" tc=1") == std::string::npos);
}

TEST_CASE("query log line: NXDOMAIN, REFUSED, AAAA, unknown types, odd bytes in names") {
    const Snapshot snap = example_snapshot();
    std::string line = line_for(snap, make_query("nope.lb.example.test", LDNS_RR_TYPE_AAAA));
    CHECK(line.find(" qtype=AAAA rcode=NXDOMAIN answers=0 size=") != std::string::npos);
    CHECK(line.find(" first=") == std::string::npos);
    line = line_for(snap, make_query("www.lb.example.test", LDNS_RR_TYPE_AAAA));
    CHECK(line.find(" answers=1 first=2001:db8::10 ") != std::string::npos);
    line = line_for(snap, make_query("example.org", 65280));
    CHECK(line.find(" qname=example.org. qtype=TYPE65280 rcode=REFUSED ") != std::string::npos);
    // Space, quote, '=' and a dot inside a label cannot break the logfmt value.
    std::vector<uint8_t> odd = make_query("aXbYcZdWe.lb.example.test", LDNS_RR_TYPE_TXT);
    REQUIRE(odd[12] == 9);  // the first label's bytes follow at 13
    odd[14] = ' ';
    odd[16] = '"';
    odd[18] = '=';
    odd[20] = '.';
    line = line_for(snap, odd);
    INFO(line);
    CHECK(line.find(" qname=a\\032b\\034c\\061d\\.e.lb.example.test. qtype=TXT ") !=
          std::string::npos);
}

TEST_CASE("query log line: a truncated answer says tc=1; a FORMERR without question says none") {
    std::string zone = R"({"zone": "big.test.", "soa": {"mname": "ns1", "rname": "h", "serial": 1},
      "ns": ["ns1"], "records": ["ns1 A 192.0.2.1"], "pools": {"many": {"answers": 64, "members": [)";
    for (int i = 1; i <= 60; ++i) {
        if (i > 1) zone += ",";
        zone += R"({"address": "198.51.100.)" + std::to_string(i) + R"("})";
    }
    zone += "]}}}";
    const Snapshot snap({compile_json(zone)});
    std::string line = line_for(snap, make_query("many.big.test", LDNS_RR_TYPE_A));
    INFO(line);
    CHECK(line.find(" rcode=NOERROR answers=0 tc=1 size=") != std::string::npos);

    // A header and nothing else: FORMERR, no question to name.
    const std::vector<uint8_t> header_only = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    line = line_for(snap, header_only);
    INFO(line);
    CHECK(line.find(" rcode=FORMERR answers=0 size=12\n") != std::string::npos);
    CHECK(line.find("qname=") == std::string::npos);
}

TEST_CASE("query log: summarising a response never reads past its end") {
    const Snapshot snap = example_snapshot();
    QueryOptions o;
    o.edns = true;
    o.ecs = true;
    const Answered a = ask(snap, make_query("docs.lb.example.test", LDNS_RR_TYPE_A, o));
    // Every prefix of a real response, as a hostile or broken one would look.
    for (size_t len = 0; len <= a.wire.size(); ++len) {
        std::vector<uint8_t> cut(a.wire.begin(), a.wire.begin() + static_cast<long>(len));
        QueryLogRecord r;
        server::summarise_response(cut, 0, r);
        std::string out;
        server::format_query_line(r, out);
        CHECK(out.back() == '\n');
    }
}
