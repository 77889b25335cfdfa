// What a responder does around answer_query() for every query, UDP or TCP
// (Responder::answer): counters, rate limiting, the query log; a UDP lane answering on a real
// socket; and the PKTINFO round trip of a wildcard socket.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "helpers.h"
#include "steerdns/control/counters.h"
#include "steerdns/server/pktinfo.h"
#include "steerdns/server/query_log.h"
#include "steerdns/server/responder.h"
#include "steerdns/server/shared_limits.h"
#include "steerdns/server/snapshot_slot.h"

using namespace steerdns;
using namespace steerdns::test;
using server::Peer;
using server::Responder;
using server::WorkerStats;

namespace {

// 50 AAAA members: more than a UDP answer holds, everything over TCP.
std::string big_zone() {
    std::string members;
    for (int i = 0; i < 50; ++i)
        members += std::string(i ? "," : "") +
                   "{\"address\": \"2001:db8::" + std::to_string(i + 1) + "\"}";
    return R"({"zone": "big.test", "soa": {"mname": "ns", "rname": "h", "serial": 1},
        "ns": ["ns"], "records": ["ns A 192.0.2.1"], "pools": {"many": {"answers": 50,
        "members": [)" +
           members + "]}, \"www\": {\"members\": [{\"address\": \"192.0.2.10\"}]}}}";
}

struct Fixture {
    server::ServeOptions opts;
    server::SnapshotSlot slot;
    std::unique_ptr<server::SharedLimits> limits;
    std::unique_ptr<Responder> worker;
    std::vector<uint8_t> out = std::vector<uint8_t>(4096);
    Peer peer;

    explicit Fixture(uint32_t rrl_rate = 0) {
        opts.rrl_responses_per_second = rrl_rate;
        slot.publish(
            std::make_shared<const Snapshot>(std::vector<zone::ZonePtr>{compile_json(big_zone())}));
        limits = std::make_unique<server::SharedLimits>(opts);
        worker = std::make_unique<Responder>(0, opts, slot, *limits);
        peer.client = client_at("192.0.2.7");
        peer.port = 40000;
    }
    size_t ask(const std::vector<uint8_t>& query, Transport t) {
        return worker->answer(query, peer, t, out, 0);
    }
    uint64_t queries(Transport t, uint16_t qtype, dns::Rcode rcode) const {
        return worker->stats()
            .queries[t == Transport::tcp ? 1 : 0][control::qtype_slot(qtype)]
                    [static_cast<size_t>(rcode) % WorkerStats::kRcodeSlots]
            .load();
    }
};

}  // namespace

TEST_CASE("Responder::answer counts UDP and TCP queries alike; TC is a UDP counter") {
    Fixture f;
    const WorkerStats& st = f.worker->stats();
    CHECK(f.ask(make_query("www.big.test", LDNS_RR_TYPE_A), Transport::udp) > 0);
    CHECK(f.ask(make_query("www.big.test", LDNS_RR_TYPE_A), Transport::tcp) > 0);
    CHECK(f.ask(make_query("nope.big.test", LDNS_RR_TYPE_A), Transport::tcp) > 0);
    CHECK(f.queries(Transport::udp, LDNS_RR_TYPE_A, dns::Rcode::noerror) == 1);
    CHECK(f.queries(Transport::tcp, LDNS_RR_TYPE_A, dns::Rcode::noerror) == 1);
    CHECK(f.queries(Transport::tcp, LDNS_RR_TYPE_A, dns::Rcode::nxdomain) == 1);

    const auto many = make_query("many.big.test", LDNS_RR_TYPE_AAAA);
    CHECK(f.ask(many, Transport::udp) <= 512);
    CHECK(st.truncated.load() == 1);
    CHECK(f.ask(many, Transport::tcp) > 1232);
    CHECK(st.truncated.load() == 1);
    CHECK(f.queries(Transport::udp, LDNS_RR_TYPE_AAAA, dns::Rcode::noerror) == 1);
    CHECK(f.queries(Transport::tcp, LDNS_RR_TYPE_AAAA, dns::Rcode::noerror) == 1);

    // A response sent to us (QR=1): nothing to send, counted as a malformed drop only.
    auto response = make_query("www.big.test", LDNS_RR_TYPE_A);
    response[2] |= 0x80;
    for (Transport t : {Transport::udp, Transport::tcp}) CHECK(f.ask(response, t) == 0);
    CHECK(st.dropped.load() == 2);
    CHECK(st.dropped_malformed.load() == 2);
    CHECK(f.queries(Transport::udp, LDNS_RR_TYPE_A, dns::Rcode::noerror) == 1);
    CHECK(f.queries(Transport::tcp, LDNS_RR_TYPE_A, dns::Rcode::noerror) == 1);
}

TEST_CASE("Responder::answer rate limits UDP only; a limited response is dropped or slipped") {
    Fixture f(1);
    const WorkerStats& st = f.worker->stats();
    const auto query = make_query("www.big.test", LDNS_RR_TYPE_A);
    int sent = 0;
    for (int i = 0; i < 10; ++i) sent += f.ask(query, Transport::udp) > 0 ? 1 : 0;
    CHECK(st.rrl_dropped.load() > 0);
    CHECK(st.rrl_slipped.load() > 0);
    CHECK(st.rrl_dropped.load() + static_cast<uint64_t>(sent) == 10);
    // Dropped responses are not counted as answered; slipped ones (TC=1, sent) are.
    CHECK(f.queries(Transport::udp, LDNS_RR_TYPE_A, dns::Rcode::noerror) ==
          static_cast<uint64_t>(sent));
    for (int i = 0; i < 10; ++i) CHECK(f.ask(query, Transport::tcp) > 0);
    CHECK(st.rrl_dropped.load() + static_cast<uint64_t>(sent) == 10);
    CHECK(f.queries(Transport::tcp, LDNS_RR_TYPE_A, dns::Rcode::noerror) == 10);
}

TEST_CASE("Responder::answer logs the response it returns, with the peer's port and transport") {
    Fixture f(1);
    server::QueryLogRing ring(64);
    f.worker->set_query_log(&ring, 1);
    const auto query = make_query("www.big.test", LDNS_RR_TYPE_A);
    std::vector<size_t> sizes;
    for (int i = 0; i < 4; ++i) {
        const size_t n = f.ask(query, Transport::udp);
        if (n > 0) sizes.push_back(n);  // the first answered, then rate limited
    }
    sizes.push_back(f.ask(make_query("many.big.test", LDNS_RR_TYPE_AAAA), Transport::tcp));
    std::vector<server::QueryLogRecord> logged;
    ring.consume([&](const server::QueryLogRecord& r) { logged.push_back(r); });
    REQUIRE(logged.size() == sizes.size());
    for (size_t i = 0; i < logged.size(); ++i) {
        CHECK(logged[i].client_port == 40000);
        CHECK(logged[i].size == sizes[i]);
    }
    CHECK(logged.front().transport == Transport::udp);
    CHECK(logged.front().answers == 1);
    CHECK((logged[1].flags & server::QueryLogRecord::kTruncated) != 0);  // the slip
    CHECK(logged.back().transport == Transport::tcp);
    CHECK(logged.back().answers == 50);
}

TEST_CASE("peer_from: address and port; port 0 is refused") {
    sockaddr_storage ss{};
    auto& in = reinterpret_cast<sockaddr_in&>(ss);
    in.sin_family = AF_INET;
    in.sin_port = htons(5353);
    inet_pton(AF_INET, "192.0.2.7", &in.sin_addr);
    Peer p;
    CHECK(server::peer_from(ss, p));
    CHECK(p.port == 5353);
    CHECK(p.client.family == 4);
    CHECK(std::memcmp(p.client.address, &in.sin_addr, 4) == 0);
    auto& in6 = reinterpret_cast<sockaddr_in6&>(ss);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = 0;
    inet_pton(AF_INET6, "2001:db8::7", &in6.sin6_addr);
    CHECK_FALSE(server::peer_from(ss, p));
    CHECK(p.client.family == 6);
    CHECK(std::memcmp(p.client.address, &in6.sin6_addr, 16) == 0);
}

namespace {

// Receives one datagram sent over loopback to a socket with PKTINFO on, reads its PKTINFO,
// and replies with the control message write_reply_pktinfo() makes: the reply must arrive
// from the address the query was sent to.
void pktinfo_round_trip(int family, const char* address) {
    const socklen_t len = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    sockaddr_storage at{};
    at.ss_family = static_cast<sa_family_t>(family);
    void* addr = family == AF_INET
                     ? static_cast<void*>(&reinterpret_cast<sockaddr_in&>(at).sin_addr)
                     : static_cast<void*>(&reinterpret_cast<sockaddr_in6&>(at).sin6_addr);
    REQUIRE(inet_pton(family, address, addr) == 1);
    const int server = socket(family, SOCK_DGRAM, 0);
    const int client = socket(family, SOCK_DGRAM, 0);
    REQUIRE(server >= 0);
    REQUIRE(client >= 0);
    const int on = 1;
    if (family == AF_INET)
        REQUIRE(setsockopt(server, IPPROTO_IP, IP_PKTINFO, &on, sizeof on) == 0);
    else
        REQUIRE(setsockopt(server, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) == 0);
    if (bind(server, reinterpret_cast<sockaddr*>(&at), len) != 0 ||
        bind(client, reinterpret_cast<sockaddr*>(&at), len) != 0) {
        MESSAGE("skipped: cannot bind " << address);
        close(server);
        close(client);
        return;
    }
    sockaddr_storage server_at{};
    socklen_t server_len = sizeof server_at;
    getsockname(server, reinterpret_cast<sockaddr*>(&server_at), &server_len);
    REQUIRE(sendto(client, "q", 1, 0, reinterpret_cast<sockaddr*>(&server_at), server_len) == 1);

    char byte = 0;
    iovec iov{&byte, 1};
    sockaddr_storage from{};
    alignas(cmsghdr) uint8_t control[64];
    msghdr rx{};
    rx.msg_name = &from;
    rx.msg_namelen = sizeof from;
    rx.msg_iov = &iov;
    rx.msg_iovlen = 1;
    rx.msg_control = control;
    rx.msg_controllen = sizeof control;
    REQUIRE(recvmsg(server, &rx, 0) == 1);

    server::PacketInfo info;
    REQUIRE(server::read_pktinfo(rx, info));
    CHECK(info.family == family);
    sockaddr_storage dest;
    server::destination_of(info, dest);
    CHECK(dest.ss_family == family);
    CHECK(std::memcmp(
              family == AF_INET
                  ? static_cast<const void*>(&reinterpret_cast<sockaddr_in&>(dest).sin_addr)
                  : static_cast<const void*>(&reinterpret_cast<sockaddr_in6&>(dest).sin6_addr),
              addr, family == AF_INET ? 4 : 16) == 0);

    alignas(cmsghdr) uint8_t reply_control[64];
    CHECK(server::write_reply_pktinfo(info, reply_control, 8) == 0);  // no room
    const size_t clen = server::write_reply_pktinfo(info, reply_control, sizeof reply_control);
    REQUIRE(clen > 0);
    msghdr tx{};
    tx.msg_name = &from;
    tx.msg_namelen = rx.msg_namelen;
    tx.msg_iov = &iov;
    tx.msg_iovlen = 1;
    tx.msg_control = reply_control;
    tx.msg_controllen = clen;
    REQUIRE(sendmsg(server, &tx, 0) == 1);
    sockaddr_storage reply_from{};
    socklen_t reply_len = sizeof reply_from;
    REQUIRE(recvfrom(client, &byte, 1, 0, reinterpret_cast<sockaddr*>(&reply_from), &reply_len) ==
            1);
    CHECK(std::memcmp(&reply_from, &server_at, server_len) == 0);
    close(server);
    close(client);
}

}  // namespace

TEST_CASE("PKTINFO: one walk gives the destination address and the reply's control message") {
    pktinfo_round_trip(AF_INET, "127.0.0.1");
    pktinfo_round_trip(AF_INET6, "::1");

    msghdr none{};  // a datagram without control messages
    server::PacketInfo info;
    CHECK_FALSE(server::read_pktinfo(none, info));
}
