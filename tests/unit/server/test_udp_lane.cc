// A UDP lane on a real loopback socket: answers, counts, takes a new snapshot (even while
// idle, so a replaced zone's memory is freed), and stops although blocked in recvmmsg.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "helpers.h"
#include "steerdns/server/shared_limits.h"
#include "steerdns/server/socket.h"
#include "steerdns/server/udp_lane.h"

using namespace steerdns;
using namespace steerdns::test;

namespace {

std::string zone_answering(const std::string& address) {
    return R"({"zone": "lane.test", "soa": {"mname": "ns", "rname": "h", "serial": 1},
        "ns": ["ns"], "records": ["ns A 192.0.2.1"],
        "pools": {"www": {"members": [{"address": ")" +
           address + R"("}]}}})";
}

SnapshotPtr snapshot_of(const std::string& address) {
    return std::make_shared<const Snapshot>(
        std::vector<zone::ZonePtr>{compile_json(zone_answering(address))});
}

// A client socket asking the lane; the answer's last four bytes are the A record's address.
struct Client {
    server::Fd fd{socket(AF_INET, SOCK_DGRAM, 0)};
    sockaddr_in to{};

    explicit Client(uint16_t port) {
        to.sin_family = AF_INET;
        to.sin_port = htons(port);
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    // The answer's address ("" when none came within 2 s).
    std::string ask() {
        const auto q = make_query("www.lane.test", LDNS_RR_TYPE_A);
        sendto(fd.get(), q.data(), q.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
        pollfd p{fd.get(), POLLIN, 0};
        if (poll(&p, 1, 2000) != 1) return "";
        uint8_t buf[512];
        const ssize_t n = recv(fd.get(), buf, sizeof buf, 0);
        if (n < 16) return "";
        char text[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, buf + n - 4, text, sizeof text);
        return text;
    }
};

template <typename F>
bool eventually(F cond) {
    for (int i = 0; i < 200; ++i) {  // 2 s
        if (cond()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return cond();
}

}  // namespace

TEST_CASE("udp lane: answers on its socket, takes a new snapshot, stops while blocked") {
    server::ServeOptions opts;
    server::ListenAddr at;
    std::string error;
    REQUIRE(util::parse_listen("127.0.0.1:0", at, error));
    server::Fd fd = server::bind_socket(at, SOCK_DGRAM);
    sockaddr_in bound{};
    socklen_t len = sizeof bound;
    REQUIRE(getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len) == 0);

    server::SnapshotSlot slot;
    slot.publish(snapshot_of("192.0.2.10"));
    server::SharedLimits limits(opts);
    server::UdpLane lane(3, opts, slot, limits, std::move(fd), at);
    CHECK(lane.responder().row() == 3);
    lane.start(-1);

    Client client(ntohs(bound.sin_port));
    CHECK(client.ask() == "192.0.2.10");
    CHECK(client.ask() == "192.0.2.10");
    CHECK(lane.responder().stats().udp_queries.load() == 2);

    // A reload: the lane is idle (blocked in recvmmsg), yet it lets go of the old snapshot
    // within its idle wake-up, so the control thread can free it without waiting for traffic.
    std::weak_ptr<const Snapshot> old = slot.get();
    slot.publish(snapshot_of("192.0.2.20"));
    lane.adopt_snapshot();
    CHECK(eventually([&] { return old.expired(); }));
    CHECK(client.ask() == "192.0.2.20");

    // Blocked in recvmmsg with nothing coming: stop() still ends the thread.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    lane.stop();
    lane.join();
    CHECK(lane.responder().stats().udp_queries.load() == 3);
}
