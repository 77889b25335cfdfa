// The query path allocates nothing, whatever the policy: answer_query() over every steering
// policy, with and without ECS, with a GeoIP database when the test one can be written. The
// global operator new of this test program counts allocations; only the loop below is measured.
#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "helpers.h"
#include "probed_zone.h"
#include "steerdns/dns/nsid.h"
#include "steerdns/dnssec/keygen.h"
#include "steerdns/server/query_log.h"

namespace {

std::atomic<uint64_t> g_allocations{0};

// Every non-aligned form is replaced, so that no pointer from the library's operator new
// reaches the free() below (ASan reports such a mismatch).
void* counted_malloc(std::size_t size) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(size == 0 ? 1 : size);
}

}  // namespace

void* operator new(std::size_t size) {
    if (void* p = counted_malloc(size)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
    if (void* p = counted_malloc(size)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    return counted_malloc(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
    return counted_malloc(size);
}
// g++ 12 at -O2 inlines these into callers and, knowing the standard operator new, reports
// free() of its result as mismatched (-Wmismatched-new-delete); here new is malloc.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
#pragma GCC diagnostic pop

using namespace steerdns;
using namespace steerdns::test;

namespace {

// 300 members: above lb::kHashTableMinMembers, so "hb" answers from its bucket table.
std::string big_hash_members() {
    std::string members;
    for (int i = 0; i < 300; ++i) {
        if (i != 0) members += ", ";
        members.append(R"({"address": "10.1.)").append(std::to_string(i / 200));
        members.append(".").append(std::to_string(i % 200 + 1)).append(R"("})");
    }
    return members;
}

std::string zone_text(const std::string& database) {
    std::string geo = R"("geo": {)";
    if (!database.empty()) geo += R"("database": ")" + database + R"(", )";
    geo +=
        R"("rules": [{"net": "198.51.100.0/24", "region": "eu"}, {"country": "US", "region": "us"}, {"continent": "AS", "region": "ap"}], "default": "us"},)";
    return R"({
  "zone": "lb.example.test.",
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1},
  "ns": ["ns1"],
  "records": ["ns1 A 192.0.2.53", "via CNAME h", "*.wc CNAME x.cdn", "*.wild A 192.0.2.7"],
  )" + geo +
           R"(
  "pools": {
    "rr": {"members": [{"address": "192.0.2.1"}, {"address": "192.0.2.2"}]},
    "w": {"policy": "weighted", "answers": 2, "members": [{"address": "192.0.2.1", "weight": 3}, {"address": "192.0.2.2"}, {"address": "192.0.2.3", "weight": 5}]},
    "f": {"policy": "failover", "members": [{"address": "192.0.2.1", "priority": 2}, {"address": "192.0.2.2", "priority": 1}]},
    "h": {"policy": "hash", "members": [{"address": "192.0.2.1"}, {"address": "192.0.2.2", "weight": 4}, {"address": "2001:db8::1"}]},
    "a": {"policy": "all", "members": [{"address": "192.0.2.1"}, {"address": "192.0.2.2"}]},
    "g": {"policy": "geo", "regions": {"eu": ["eu", "us"]}, "members": [{"address": "192.0.2.20", "region": "eu"}, {"address": "192.0.2.21", "region": "us"}, {"address": "192.0.2.22", "region": "ap"}]},
    "gw": {"policy": "geo", "fallback": "none", "regions": {"ap": ["ap"]}, "members": [{"address": "192.0.2.20", "region": "eu", "weight": 2}, {"address": "192.0.2.21", "region": "us"}, {"address": "192.0.2.23", "region": "ap", "enabled": false}]},
    "*.cdn": {"policy": "hash", "members": [{"address": "192.0.2.1"}, {"address": "192.0.2.2"}]},
    "hb": {"policy": "hash", "answers": 2, "members": [)" +
           big_hash_members() + R"(]}
  }
})";
}

QueryOptions ecs(uint16_t family, uint8_t source, std::vector<uint8_t> address) {
    QueryOptions o;
    o.edns = true;
    o.ecs = true;
    o.ecs_family = family;
    o.ecs_source = source;
    o.ecs_address = std::move(address);
    return o;
}

}  // namespace

TEST_CASE("query path: no allocation in any policy, with or without ECS and a database") {
    {
        // The counter sees what it must.
        const uint64_t before = g_allocations.load();
        std::vector<char> probe(64, 'x');
        CHECK(g_allocations.load() > before);
        CHECK(probe[63] == 'x');
    }
    std::vector<std::string> databases = {""};
    if (!test_mmdb().empty()) databases.push_back(test_mmdb());
    for (const std::string& database : databases) {
        INFO("database: " << (database.empty() ? "none" : database));
        // Two rows of response counters, as two workers have: counting allocates nothing.
        const Snapshot snap({compile_json(zone_text(database))}, 1, nullptr, 2);
        std::vector<std::vector<uint8_t>> queries;
        // Wildcards too: a synthesized name, a pool at *.cdn, a CNAME wildcard into it, and
        // a miss next to a wildcard (the probe for *.<closest encloser> builds its name on
        // the stack).
        for (const char* name : {"rr", "w", "f", "h", "hb", "a", "g", "gw", "via", "x.wild",
                                 "x.y.cdn", "z.wc", "q.x.rr"}) {
            const std::string qname = std::string(name) + ".lb.example.test";
            queries.push_back(make_query(qname, LDNS_RR_TYPE_A));
            queries.push_back(make_query(qname, LDNS_RR_TYPE_AAAA));
            queries.push_back(make_query(qname, LDNS_RR_TYPE_A, ecs(1, 24, {203, 0, 113})));
            queries.push_back(make_query(qname, LDNS_RR_TYPE_A, ecs(1, 32, {192, 0, 2, 9})));
            queries.push_back(make_query(qname, LDNS_RR_TYPE_A, ecs(1, 24, {198, 51, 100})));
            queries.push_back(make_query(qname, LDNS_RR_TYPE_A, ecs(1, 0, {})));
            queries.push_back(make_query(qname, LDNS_RR_TYPE_AAAA,
                                         ecs(2, 48, {0x20, 0x01, 0x0d, 0xb8, 0x02, 0x00})));
        }
        std::vector<lb::Client> clients = {client_at("127.0.0.1"), client_at("192.0.2.9"),
                                           client_at("::ffff:203.0.113.5"),
                                           client_at("2001:db8:200::1")};
        AnswerContext ctx;
        ctx.worker = 1;
        std::vector<uint8_t> out(65535);
        size_t answered = 0;
        const uint64_t before = g_allocations.load();
        for (int round = 0; round < 3; ++round)
            for (const auto& q : queries)
                for (const lb::Client& c : clients)
                    answered += answer_query(&snap, q, c, Transport::udp, ctx, out) > 0 ? 1 : 0;
        const uint64_t allocations = g_allocations.load() - before;
        CHECK(answered == 3 * queries.size() * clients.size());
        CHECK(allocations == 0);
        CHECK(snap.pool_counter_total(0, 0, Snapshot::kPoolResponses) > 0);  // it did count
    }
}

TEST_CASE("query path with the query log on: pushing records allocates nothing") {
    const Snapshot snap({compile_json(zone_text(""))});
    std::vector<std::vector<uint8_t>> queries;
    for (const char* name : {"rr", "w", "f", "h", "a", "g", "via", "nope", "x.cdn"}) {
        const std::string qname = std::string(name) + ".lb.example.test";
        queries.push_back(make_query(qname, LDNS_RR_TYPE_A));
        queries.push_back(make_query(qname, LDNS_RR_TYPE_A, ecs(1, 24, {203, 0, 113})));
    }
    const lb::Client client = client_at("192.0.2.9");
    server::QueryLogRing ring(server::QueryLog::kRingRecords);
    server::QueryLogTap tap;
    tap.attach(&ring, 1);
    server::WorkerStats stats;
    AnswerContext ctx;
    std::vector<uint8_t> out(65535);
    size_t logged = 0;
    const uint64_t before = g_allocations.load();
    // Twice round a ring that fills up: pushes, then drops once it is full.
    for (size_t round = 0; round < 2 * server::QueryLog::kRingRecords / queries.size(); ++round) {
        for (const auto& q : queries) {
            const size_t len = answer_query(&snap, q, client, Transport::udp, ctx, out);
            REQUIRE(len > 0);
            if (tap.on())
                tap.record(client, 40000, Transport::udp, {out.data(), len}, ctx.last, stats);
            ++logged;
        }
    }
    const uint64_t allocations = g_allocations.load() - before;
    CHECK(allocations == 0);
    CHECK(stats.query_log_dropped.load() == logged - server::QueryLog::kRingRecords);
    CHECK(ring.consume([](const server::QueryLogRecord&) {}) == server::QueryLog::kRingRecords);
}

// Built out of line: GCC 12 takes a QueryOptions constructed in the test body for one read
// of an uninitialized array (-Wmaybe-uninitialized, a false positive).
[[gnu::noinline]] static QueryOptions nsid_options(bool with_ecs) {
    QueryOptions o = with_ecs ? ecs(1, 24, {203, 0, 113}) : QueryOptions{};
    o.edns = true;
    o.nsid = true;
    return o;
}

[[gnu::noinline]] static QueryOptions chaos_options() {
    QueryOptions o;
    o.qclass = LDNS_RR_CLASS_CH;
    return o;
}

TEST_CASE("query path with --nsid: the NSID option and CH TXT id.server. allocate nothing") {
    const Snapshot snap({compile_json(zone_text(""))});
    const QueryOptions nsid = nsid_options(false);
    const QueryOptions nsid_ecs = nsid_options(true);
    const QueryOptions chaos = chaos_options();
    const std::vector<std::vector<uint8_t>> queries = {
        make_query("rr.lb.example.test", LDNS_RR_TYPE_A, nsid),
        make_query("g.lb.example.test", LDNS_RR_TYPE_A, nsid_ecs),
        make_query("id.server", LDNS_RR_TYPE_TXT, chaos),
        make_query("hostname.bind", LDNS_RR_TYPE_ANY, chaos),
        make_query("version.bind", LDNS_RR_TYPE_TXT, chaos),
    };
    AnswerContext ctx;
    std::string error;
    REQUIRE(dns::parse_nsid("ns1.example", ctx.nsid, error));
    const lb::Client client = client_at("192.0.2.9");
    std::vector<uint8_t> out(65535);
    const uint64_t before = g_allocations.load();
    size_t answered = 0;
    for (int round = 0; round < 3; ++round)
        for (const auto& q : queries)
            answered += answer_query(&snap, q, client, Transport::udp, ctx, out) > 0 ? 1 : 0;
    const uint64_t allocations = g_allocations.load() - before;
    CHECK(answered == 3 * queries.size());
    CHECK(allocations == 0);
}

TEST_CASE("query path with members down: degraded answers at ttl_degraded allocate nothing") {
    // Probed pools with a member down (ttl_degraded), every member down (fail open), and a
    // fallback pool answering: the answer path reads health and picks the degraded images.
    ProbedZone z(R"({"zone": "lb.example.test.", "ttl": 300,
        "soa": {"mname": "ns1", "rname": "h", "serial": 1}, "ns": ["ns1.example."],
        "checks": {"web": {"type": "tcp", "port": 80}},
        "pools": {
          "one": {"ttl": 30, "ttl_degraded": 5, "check": "web", "members": [
            {"address": "192.0.2.1"}, {"address": "192.0.2.2"}, {"address": "2001:db8::1"}]},
          "dead": {"ttl": 30, "ttl_degraded": 5, "check": "web", "members": [
            {"address": "192.0.2.3"}]},
          "next": {"ttl": 30, "ttl_degraded": 7, "check": "web", "fallback": "one",
            "members": [{"address": "192.0.2.4"}]}}})");
    z.set("one", 1, health::State::down);
    z.set("dead", 0, health::State::down);
    z.set("next", 0, health::State::down);
    std::vector<std::vector<uint8_t>> queries;
    for (const char* name : {"one", "dead", "next"}) {
        const std::string qname = std::string(name) + ".lb.example.test";
        queries.push_back(make_query(qname, LDNS_RR_TYPE_A));
        queries.push_back(make_query(qname, LDNS_RR_TYPE_AAAA));
    }
    const lb::Client client = client_at("192.0.2.9");
    AnswerContext ctx;
    std::vector<uint8_t> out(65535);
    // One answer read back: the degraded TTL is what is being measured.
    const Answered first = ask(*z.snap, queries[0]);
    REQUIRE(ldns_pkt_ancount(first.pkt.get()) == 1);
    CHECK(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(first.pkt.get()), 0)) == 5);
    size_t answered = 0;
    const uint64_t before = g_allocations.load();
    for (int round = 0; round < 3; ++round)
        for (const auto& q : queries)
            answered += answer_query(z.snap.get(), q, client, Transport::udp, ctx, out) > 0 ? 1 : 0;
    const uint64_t allocations = g_allocations.load() - before;
    CHECK(answered == 3 * queries.size());
    CHECK(allocations == 0);
}

TEST_CASE("query path with members pending or awaiting failback: no allocation") {
    // A failover pool whose primary is in standby (failback), a pool whose only up member is
    // pending beside a standby one (the second pass of lb::Eligible), and one of only standby
    // members (answered all the same: failback never empties a pool).
    ProbedZone z(R"({"zone": "lb.example.test.", "ttl": 300,
        "soa": {"mname": "ns1", "rname": "h", "serial": 1}, "ns": ["ns1.example."],
        "checks": {"web": {"type": "tcp", "port": 80}},
        "pools": {
          "fo": {"policy": "failover", "ttl": 30, "ttl_degraded": 5, "check": "web",
            "failback": "manual", "members": [
            {"address": "192.0.2.1", "priority": 10}, {"address": "192.0.2.2", "priority": 5}]},
          "mix": {"ttl": 30, "check": "web", "failback": {"delay": 30}, "members": [
            {"address": "192.0.2.3"}, {"address": "192.0.2.4"}]},
          "held": {"ttl": 30, "check": "web", "failback": "manual", "members": [
            {"address": "192.0.2.5"}]}}})");
    z.set("fo", 0, health::State::standby);
    z.set("fo", 1, health::State::up);
    z.set("mix", 0, health::State::standby);
    z.set("mix", 1, health::State::pending);
    z.set("held", 0, health::State::standby);
    std::vector<std::vector<uint8_t>> queries;
    for (const char* name : {"fo", "mix", "held"})
        queries.push_back(make_query(std::string(name) + ".lb.example.test", LDNS_RR_TYPE_A));
    const lb::Client client = client_at("192.0.2.9");
    AnswerContext ctx;
    std::vector<uint8_t> out(65535);
    // The backup answers, at the degraded TTL: the primary awaits failback.
    const Answered first = ask(*z.snap, queries[0]);
    REQUIRE(ldns_pkt_ancount(first.pkt.get()) == 1);
    CHECK(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(first.pkt.get()), 0)) == 5);
    CHECK(rdatas(ldns_pkt_answer(first.pkt.get())) == std::vector<std::string>{"192.0.2.2"});
    size_t answered = 0;
    const uint64_t before = g_allocations.load();
    for (int round = 0; round < 3; ++round)
        for (const auto& q : queries)
            answered += answer_query(z.snap.get(), q, client, Transport::udp, ctx, out) > 0 ? 1 : 0;
    const uint64_t allocations = g_allocations.load() - before;
    CHECK(answered == 3 * queries.size());
    CHECK(allocations == 0);
}

TEST_CASE("signed answers with DO=1: RRSIGs and NSECs copied, nothing allocated") {
    // Keys made as `steerdns keys create` makes them; every kind of signed answer: balanced
    // (precomputed sets, in any rotation order), static, CNAME, NXDOMAIN with its two NSECs,
    // NODATA, an empty non-terminal, a referral without DS, DNSKEY.
    TempDir dir;
    dnssec::KeygenRequest keygen;
    keygen.zone = "lb.example.test";
    keygen.dir = dir.file("keys");
    keygen.now = 1796558400;
    std::vector<std::string> written;
    std::string error;
    REQUIRE_MESSAGE(dnssec::create_keys(keygen, written, error), error);
    const Snapshot snap({compile_json(R"({"zone": "lb.example.test.",
        "soa": {"mname": "ns1", "rname": "h", "serial": 1}, "ns": ["ns1"],
        "records": ["ns1 A 192.0.2.53", "static TXT \"x\"", "via CNAME rr", "a.ent A 192.0.2.9",
                    "sub NS ns.sub", "ns.sub A 192.0.2.8"],
        "dnssec": {"keys": ")" + keygen.dir +
                                      R"("},
        "pools": {
          "rr": {"answers": 2, "members": [{"address": "192.0.2.1"}, {"address": "192.0.2.2"},
                                           {"address": "192.0.2.3"}, {"address": "2001:db8::1"}]},
          "w": {"policy": "weighted", "answers": 1, "members": [
            {"address": "192.0.2.1", "weight": 3}, {"address": "192.0.2.2"}]}}})")});
    QueryOptions with_do;
    with_do.edns = true;
    with_do.do_bit = true;
    std::vector<std::vector<uint8_t>> queries;
    for (const auto& [name, type] :
         std::vector<std::pair<std::string, uint16_t>>{{"rr", LDNS_RR_TYPE_A},
                                                       {"rr", LDNS_RR_TYPE_AAAA},
                                                       {"w", LDNS_RR_TYPE_A},
                                                       {"static", LDNS_RR_TYPE_TXT},
                                                       {"via", LDNS_RR_TYPE_A},
                                                       {"nx", LDNS_RR_TYPE_A},
                                                       {"x.y.static", LDNS_RR_TYPE_A},
                                                       {"static", LDNS_RR_TYPE_MX},
                                                       {"ent", LDNS_RR_TYPE_A},
                                                       {"host.sub", LDNS_RR_TYPE_A},
                                                       {"", LDNS_RR_TYPE_DNSKEY},
                                                       {"", LDNS_RR_TYPE_SOA}})
        queries.push_back(
            make_query((name.empty() ? "" : name + ".") + "lb.example.test", type, with_do));
    // One answer read back: the RRSIG is there.
    const Answered first = ask(snap, queries[0]);
    REQUIRE(ldns_pkt_ancount(first.pkt.get()) == 3);
    const lb::Client client = client_at("192.0.2.9");
    AnswerContext ctx;
    std::vector<uint8_t> out(65535);
    size_t answered = 0;
    const uint64_t before = g_allocations.load();
    for (int round = 0; round < 3; ++round)
        for (const auto& q : queries)
            answered += answer_query(&snap, q, client, Transport::udp, ctx, out) > 0 ? 1 : 0;
    const uint64_t allocations = g_allocations.load() - before;
    CHECK(answered == 3 * queries.size());
    CHECK(allocations == 0);
}

TEST_CASE("signed answers with DO=1 from a warm signature cache allocate nothing") {
    // A pool of 24 members answering 2 has 300 possible sets, too many to sign at compile; a
    // fallback's fallback (two hops) is not signed at compile either. Both are signed on their
    // first answer (the warm-up round), then copied from this worker's cache.
    TempDir dir;
    dnssec::KeygenRequest keygen;
    keygen.zone = "lb.example.test";
    keygen.dir = dir.file("keys");
    keygen.now = 1796558400;
    std::vector<std::string> written;
    std::string error;
    REQUIRE_MESSAGE(dnssec::create_keys(keygen, written, error), error);
    std::string members;
    for (int i = 1; i <= 24; ++i) {
        if (i != 1) members += ", ";
        members += R"({"address": "192.0.2.)" + std::to_string(i) + R"("})";
    }
    ProbedZone z(R"({"zone": "lb.example.test.",
        "soa": {"mname": "ns1", "rname": "h", "serial": 1}, "ns": ["ns1"],
        "records": ["ns1 A 192.0.2.53"],
        "checks": {"web": {"type": "tcp", "port": 80}},
        "dnssec": {"keys": ")" +
                 keygen.dir +
                 R"("},
        "pools": {
          "big": {"answers": 2, "members": [)" +
                 members + R"(]},
          "first": {"check": "web", "ttl": 30, "fallback": "second",
                    "members": [{"address": "192.0.2.201"}]},
          "second": {"check": "web", "ttl": 30, "fallback": "third",
                     "members": [{"address": "192.0.2.202"}]},
          "third": {"members": [{"address": "192.0.2.99"}, {"address": "192.0.2.98"}]}}})");
    z.set("first", 0, health::State::down);
    z.set("second", 0, health::State::down);
    const Snapshot& snap = *z.snap;
    QueryOptions with_do;
    with_do.edns = true;
    with_do.do_bit = true;
    std::vector<std::vector<uint8_t>> queries;
    for (int i = 0; i < 24; ++i) queries.push_back(make_query("big.lb.example.test", 1, with_do));
    // "first" and "second" are down: "third" answers, two hops away.
    queries.push_back(make_query("first.lb.example.test", 1, with_do));
    const lb::Client client = client_at("192.0.2.9");
    AnswerContext ctx;
    ctx.signatures = std::make_unique<SignatureCache>(1000);
    std::vector<uint8_t> out(65535);
    for (const auto& q : queries) answer_query(&snap, q, client, Transport::udp, ctx, out);
    REQUIRE(ctx.signatures->size() == 25);  // 24 pairs of the rotation, the fallback's set
    const uint64_t misses = ctx.signatures->counters().misses.load();
    size_t answered = 0;
    const uint64_t before = g_allocations.load();
    for (int round = 0; round < 3; ++round)
        for (const auto& q : queries)
            answered += answer_query(&snap, q, client, Transport::udp, ctx, out) > 0 ? 1 : 0;
    const uint64_t allocations = g_allocations.load() - before;
    CHECK(answered == 3 * queries.size());
    CHECK(allocations == 0);
    CHECK(ctx.signatures->counters().misses.load() == misses);
    CHECK(ctx.signatures->counters().hits.load() == 3 * queries.size());
    // The answer carries the RRSIG: 2 A and one RRSIG.
    const size_t len = answer_query(&snap, queries[0], client, Transport::udp, ctx, out);
    ldns_pkt* pkt = nullptr;
    REQUIRE(ldns_wire2pkt(&pkt, out.data(), len) == LDNS_STATUS_OK);
    CHECK(ldns_pkt_ancount(pkt) == 3);
    ldns_pkt_free(pkt);
}
