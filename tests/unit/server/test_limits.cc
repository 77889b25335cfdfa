// The abuse limits as pure logic: response rate limiting (rate, slip sequence, prefix
// grouping, response classes, table collisions), the slip answer, TCP connection caps,
// reflection sources, zone size caps.
#include <arpa/inet.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "helpers.h"
#include "steerdns/server/connection_limiter.h"
#include "steerdns/server/rrl.h"
#include "steerdns/server/shared_limits.h"
#include "steerdns/zone/limits.h"

using namespace steerdns;
using server::RateLimiter;
using server::RrlClass;
using server::RrlConfig;
using server::RrlVerdict;

namespace {

RrlConfig rrl(uint32_t rate, uint32_t slip, uint32_t table = 1024) {
    RrlConfig c;
    c.responses_per_second = rate;
    c.slip = slip;
    c.table_size = table;
    return c;
}

// Verdicts of `n` responses to `who` at `now_ms`, as a string: s(end), d(rop), t(c slip).
std::string run(RateLimiter& l, const std::string& who, int n, uint64_t now_ms,
                RrlClass cls = RrlClass::answer) {
    std::string out;
    const lb::Client c = test::client_at(who);
    for (int i = 0; i < n; ++i) {
        switch (l.check(c, cls, now_ms)) {
            case RrlVerdict::send:
                out += 's';
                break;
            case RrlVerdict::drop:
                out += 'd';
                break;
            case RrlVerdict::slip:
                out += 't';
                break;
        }
    }
    return out;
}

}  // namespace

TEST_CASE("rrl: off by default sends everything and allocates no table") {
    RateLimiter l(RrlConfig{}, 1);
    CHECK_FALSE(l.enabled());
    CHECK(run(l, "192.0.2.1", 1000, 5000) == std::string(1000, 's'));
}

TEST_CASE("rrl: at most the rate per second, a fresh budget the next second") {
    RateLimiter l(rrl(5, 0), 42);
    CHECK(run(l, "192.0.2.1", 8, 10'000) == "sssssddd");
    CHECK(run(l, "192.0.2.1", 2, 10'999) == "dd");  // same second
    CHECK(run(l, "192.0.2.1", 7, 11'000) == "sssssdd");
    CHECK(run(l, "192.0.2.1", 6, 15'500) == "sssssd");  // an idle gap changes nothing
}

TEST_CASE("rrl: slip sends every Nth limited response as TC") {
    RateLimiter two(rrl(1, 2), 7);
    CHECK(run(two, "192.0.2.1", 7, 1000) == "sdtdtdt");
    RateLimiter three(rrl(1, 3), 7);
    CHECK(run(three, "192.0.2.1", 8, 1000) == "sddtddtd");
    RateLimiter one(rrl(2, 1), 7);
    CHECK(run(one, "192.0.2.1", 5, 1000) == "ssttt");
    RateLimiter zero(rrl(2, 0), 7);
    CHECK(run(zero, "192.0.2.1", 5, 1000) == "ssddd");
}

TEST_CASE("rrl: clients are grouped by prefix (IPv4 /24, IPv6 /56 by default)") {
    RateLimiter l(rrl(3, 0), 9);
    CHECK(run(l, "192.0.2.1", 2, 1000) == "ss");
    CHECK(run(l, "192.0.2.200", 2, 1000) == "sd");  // same /24: one budget
    CHECK(run(l, "192.0.3.1", 3, 1000) == "sss");   // next /24: its own
    CHECK(run(l, "2001:db8:0:ff::1", 2, 1000) == "ss");
    CHECK(run(l, "2001:db8:0:1::99", 2, 1000) == "sd");  // same /56
    CHECK(run(l, "2001:db8:0:100::1", 3, 1000) == "sss");

    RrlConfig narrow = rrl(1, 0);
    narrow.ipv4_prefix = 32;
    narrow.ipv6_prefix = 128;
    RateLimiter hosts(narrow, 9);
    CHECK(run(hosts, "192.0.2.1", 2, 1000) == "sd");
    CHECK(run(hosts, "192.0.2.2", 2, 1000) == "sd");
    CHECK(run(hosts, "2001:db8::1", 2, 1000) == "sd");
    CHECK(run(hosts, "2001:db8::2", 1, 1000) == "s");
}

TEST_CASE("rrl: NXDOMAIN, errors and answers have separate budgets") {
    RateLimiter l(rrl(2, 0), 11);
    CHECK(run(l, "192.0.2.1", 3, 1000, RrlClass::nxdomain) == "ssd");
    CHECK(run(l, "192.0.2.1", 3, 1000, RrlClass::answer) == "ssd");
    CHECK(run(l, "192.0.2.1", 3, 1000, RrlClass::error) == "ssd");
    CHECK(server::rrl_class(dns::Rcode::noerror) == RrlClass::answer);
    CHECK(server::rrl_class(dns::Rcode::nxdomain) == RrlClass::nxdomain);
    CHECK(server::rrl_class(dns::Rcode::refused) == RrlClass::error);
    CHECK(server::rrl_class(dns::Rcode::formerr) == RrlClass::error);
}

TEST_CASE("rrl: table collisions evict the entry used longest ago, never block") {
    // One set of two ways: a third prefix must take the place of one of the first two.
    RateLimiter tiny(rrl(2, 0, 2), 5);
    CHECK(tiny.entries() == 2);
    CHECK(run(tiny, "192.0.2.1", 3, 1000) == "ssd");
    CHECK(run(tiny, "198.51.100.1", 3, 2000) == "ssd");
    // 192.0.2.0/24 was used longest ago: the newcomer takes its entry...
    CHECK(run(tiny, "203.0.113.1", 3, 2000) == "ssd");
    // ...so it starts over (a collision costs a limit, never an answer), while the prefix
    // that kept its entry stays limited.
    CHECK(run(tiny, "198.51.100.1", 1, 2000) == "d");
    CHECK(run(tiny, "192.0.2.1", 3, 2000) == "ssd");

    // A table with room keeps every prefix's count.
    RateLimiter roomy(rrl(2, 0, 1 << 16), 5);
    CHECK(run(roomy, "192.0.2.1", 3, 1000) == "ssd");
    for (int i = 0; i < 200; ++i) run(roomy, "10.0." + std::to_string(i) + ".1", 1, 1000);
    CHECK(run(roomy, "192.0.2.1", 1, 1000) == "d");
}

TEST_CASE("rrl: the table size is rounded up to a power of two") {
    CHECK(RateLimiter(rrl(1, 0, 1000), 1).entries() == 1024);
    CHECK(RateLimiter(rrl(1, 0, 2), 1).entries() == 2);
    CHECK(RateLimiter(rrl(1, 0, 1), 1).entries() == 2);
}

TEST_CASE("rrl: a slip answer is the header and question with TC set") {
    auto snap = std::make_shared<Snapshot>(
        std::vector<zone::ZonePtr>{test::compile_json(test::example_zone_json())}, 1, nullptr);
    test::QueryOptions o;
    o.edns = true;
    const auto q = test::make_query("www.lb.example.test.", 1, o);
    test::Answered a = test::ask(*snap, q);
    REQUIRE(a.wire.size() > q.size());
    std::vector<uint8_t> msg = a.wire;
    const size_t len = server::slip_response(msg, msg.size());
    msg.resize(len);
    const zone::PktPtr p = test::decode(msg);
    REQUIRE(p);
    CHECK(ldns_pkt_tc(p.get()));
    CHECK(ldns_pkt_qr(p.get()));
    CHECK_FALSE(ldns_pkt_aa(p.get()));
    CHECK(ldns_pkt_id(p.get()) == 0x1234);
    CHECK(ldns_pkt_qdcount(p.get()) == 1);
    CHECK(ldns_pkt_ancount(p.get()) == 0);
    CHECK(ldns_pkt_nscount(p.get()) == 0);
    CHECK(ldns_pkt_arcount(p.get()) == 0);
    CHECK(len == 12 + 21 + 4);  // header, www.lb.example.test., type and class
}

TEST_CASE("tcp caps: total and per client, released on close") {
    server::ConnectionLimiter l(5, 2, 3);
    using A = server::ConnectionLimiter::Admit;
    const lb::Client a = test::client_at("192.0.2.1");
    const lb::Client b = test::client_at("192.0.2.2");
    const lb::Client v6a = test::client_at("2001:db8:1:2::1");
    const lb::Client v6b = test::client_at("2001:db8:1:2::ffff");  // same /64
    uint32_t s[8];
    CHECK(l.acquire(a, s[0]) == A::ok);
    CHECK(l.acquire(a, s[1]) == A::ok);
    CHECK(l.acquire(a, s[2]) == A::client_full);
    CHECK(l.acquire(v6a, s[3]) == A::ok);
    CHECK(l.acquire(v6b, s[4]) == A::ok);
    CHECK(l.acquire(v6b, s[5]) == A::client_full);
    CHECK(l.acquire(b, s[6]) == A::ok);
    CHECK(l.open() == 5);
    CHECK(l.acquire(test::client_at("192.0.2.3"), s[7]) == A::total_full);
    l.release(s[0]);
    CHECK(l.open() == 4);
    CHECK(l.acquire(a, s[0]) == A::ok);
    for (int i : {0, 1, 3, 4, 6}) l.release(s[i]);
    CHECK(l.open() == 0);
}

namespace {
sockaddr_storage sa(const std::string& ip, uint16_t port) {
    sockaddr_storage ss{};
    if (ip.find(':') != std::string::npos) {
        auto& a = reinterpret_cast<sockaddr_in6&>(ss);
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(port);
        inet_pton(AF_INET6, ip.c_str(), &a.sin6_addr);
    } else {
        auto& a = reinterpret_cast<sockaddr_in&>(ss);
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    }
    return ss;
}
util::ListenAddr listen_at(const std::string& text) {
    util::ListenAddr at;
    std::string error;
    REQUIRE(util::parse_listen(text, at, error));
    return at;
}
}  // namespace

TEST_CASE("reflection: reflector ports and our own address:port are never answered") {
    const std::vector<util::ListenAddr> ours = {listen_at("127.0.0.1:5300"), listen_at("[::]:53")};
    for (uint16_t p : {7, 13, 17, 19, 37, 111, 123, 137, 161, 389, 1900, 11211})
        CHECK(server::is_reflection_source(sa("192.0.2.1", p), nullptr, ours));
    for (uint16_t p : {53, 1024, 5300, 5353, 33333, 65535})
        CHECK_FALSE(server::is_reflection_source(sa("192.0.2.1", p), nullptr, ours));
    CHECK(server::is_reflection_source(sa("127.0.0.1", 5300), nullptr, ours));
    CHECK_FALSE(server::is_reflection_source(sa("127.0.0.2", 5300), nullptr, ours));
    // A wildcard listener: our address is the one the datagram was sent to.
    const sockaddr_storage local = sa("2001:db8::53", 53);
    CHECK(server::is_reflection_source(sa("2001:db8::53", 53), &local, ours));
    CHECK_FALSE(server::is_reflection_source(sa("2001:db8::54", 53), &local, ours));
    CHECK_FALSE(server::is_reflection_source(sa("2001:db8::53", 54), &local, ours));
}

namespace {

std::string zone_with(int records, int pools, int members_per_pool) {
    std::string z = R"({"zone": "big.test.", "soa": {"mname": "ns1", "rname": "h", "serial": 1},
 "ns": ["ns1"],
 "records": [)";
    for (int i = 0; i < records; ++i) {
        z += i ? ",\n  " : "\n  ";
        z += "\"r" + std::to_string(i) + " A 192.0.2.1\"";
    }
    z += "],\n \"pools\": {";
    int m = 0;
    for (int p = 0; p < pools; ++p) {
        z += p ? ",\n  " : "\n  ";
        z += "\"p" + std::to_string(p) + "\": {\"members\": [";
        for (int i = 0; i < members_per_pool; ++i, ++m) {
            z += i ? ", " : "";
            z += "{\"address\": \"10." + std::to_string(m / 62500) + "." +
                 std::to_string(m / 250 % 250) + "." + std::to_string(m % 250 + 1) + "\"}";
        }
        z += "]}";
    }
    return z + "}}\n";
}

std::vector<std::string> limit_problems(const std::string& text, const zone::ZoneLimits& lim) {
    const zone::LoadResult r = zone::parse_zone_json(text, "big.json");
    REQUIRE(r.diags.empty());
    std::vector<std::string> out;
    for (const zone::Diagnostic& d : zone::check_zone_limits(r.spec, lim))
        out.push_back(d.to_string());
    return out;
}

}  // namespace

TEST_CASE("zone limits: records, pools and members, located at the first one over") {
    zone::ZoneLimits lim;
    lim.max_records = 3;
    lim.max_pools = 2;
    lim.max_members = 5;
    const std::string text = zone_with(4, 3, 2);
    const std::vector<std::string> got = limit_problems(text, lim);
    REQUIRE(got.size() == 3);
    CHECK(got[0] ==
          "big.json:7:3: records[3]: 4 records, more than the limit of 3 (--max-zone-records)");
    CHECK(got[1] ==
          "big.json:11:3: pools.p2: 3 pools, more than the limit of 2 (--max-zone-pools)");
    CHECK(got[2] ==
          "big.json:11:47: pools.p2.members[1]: 6 members in the zone, more than the limit of 5 "
          "(--max-zone-members)");
    CHECK(limit_problems(text, zone::ZoneLimits{}).empty());
    lim.max_records = 4;
    lim.max_pools = 3;
    lim.max_members = 6;
    CHECK(limit_problems(text, lim).empty());
}

TEST_CASE("zone limits: the defaults take 10 000 pools and 100 000 members in one zone") {
    const zone::ZoneLimits def;
    CHECK(def.max_pools >= 10000);
    CHECK(def.max_members >= 100000);
    const std::string text = zone_with(10, 10000, 10);
    CHECK(limit_problems(text, def).empty());
}

TEST_CASE("zone limits: a file over the size limit is not read") {
    char path[] = "/tmp/steerdns-limits-XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    const std::string text = zone_with(20, 1, 1);
    std::ofstream(path) << text;
    const zone::ZoneLimits saved = zone::zone_limits();
    zone::ZoneLimits lim;
    lim.max_file_bytes = text.size() - 1;
    zone::set_zone_limits(lim);
    zone::LoadResult r = zone::load_zone_file(path);
    REQUIRE(r.diags.size() == 1);
    CHECK(r.diags[0].to_string() == std::string(path) + ": more than " +
                                        std::to_string(text.size() - 1) +
                                        " bytes, the limit (--max-zone-file-size)");
    lim.max_file_bytes = text.size();
    zone::set_zone_limits(lim);
    CHECK(zone::load_zone_file(path).diags.empty());
    zone::set_zone_limits(saved);
    std::remove(path);
}
