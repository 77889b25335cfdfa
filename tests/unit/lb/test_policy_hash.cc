// hash: rendezvous stability, movement when a member goes down or leaves the file, weights,
// the client subnet and the ECS scope.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <set>

#include "lb_fixture.h"
#include "steerdns/lb/policy_hash.h"

using namespace steerdns;
using namespace steerdns::test;

namespace {

// Client subnets 100.(i / 256).(i % 256).0/24.
lb::ClientNet subnet(uint32_t i) {
    return lb::hashing_subnet(
        ipv4_client(100, static_cast<uint8_t>(i / 256), static_cast<uint8_t>(i % 256), 77));
}

// The address answering each subnet first.
std::vector<std::string> first_answers(const Family& f, const std::vector<uint32_t>& eligible,
                                       uint32_t subnets) {
    std::vector<std::string> v;
    lb::Selection s;
    const auto candidates = f.only(eligible);
    for (uint32_t i = 0; i < subnets; ++i) {
        lb::select_hash(candidates, 1, subnet(i), s);
        REQUIRE(s.count == 1);
        v.push_back(f.address_at(s.index[0]));
    }
    return v;
}

std::vector<MemberSpec> ten_members() {
    std::vector<MemberSpec> v;
    for (int i = 0; i < 10; ++i) v.push_back({"192.0.2." + std::to_string(10 + i)});
    return v;
}

}  // namespace

TEST_CASE("policy hash: a subnet keeps its answer; hosts of one /24 share it") {
    const Family f = make_family(ten_members());
    lb::Selection a;
    lb::Selection b;
    for (uint8_t host : {1, 77, 254}) {
        lb::select_hash(f.everyone(), 3, lb::hashing_subnet(ipv4_client(198, 51, 100, host)), a);
        lb::select_hash(f.everyone(), 3, lb::hashing_subnet(ipv4_client(198, 51, 100, 9)), b);
        CHECK(positions(a) == positions(b));
        CHECK(a.ecs_scope == 24);
    }
    // The first answer of three is the answer of one: answers only extends the list.
    lb::Selection one;
    std::set<uint32_t> firsts;
    for (uint32_t i = 0; i < 1000; ++i) {
        lb::select_hash(f.everyone(), 3, subnet(i), a);
        lb::select_hash(f.everyone(), 1, subnet(i), one);
        REQUIRE(a.count == 3);
        CHECK(a.index[0] == one.index[0]);
        CHECK(std::set<uint32_t>(a.index.begin(), a.index.begin() + 3).size() == 3);
        firsts.insert(one.index[0]);
    }
    CHECK(firsts.size() == 10);
}

TEST_CASE("policy hash: one of 10 members down moves only its own clients") {
    const Family f = make_family(ten_members());
    const auto before = first_answers(f, f.all, 1000);
    for (uint32_t down = 0; down < 10; ++down) {
        const auto after = first_answers(f, f.without(down), 1000);
        int moved = 0;
        int on_down = 0;
        for (size_t i = 0; i < before.size(); ++i) {
            if (before[i] == f.address_at(down)) ++on_down;
            if (before[i] != after[i]) {
                ++moved;
                CHECK(before[i] == f.address_at(down));  // every client that moved was on it
            }
        }
        CHECK(moved == on_down);  // and every one of its clients moved
        if (down == 0) MESSAGE("member down: " << moved << " of 1000 subnets changed answer");
        CHECK(moved > 50);
        CHECK(moved < 150);
    }
}

TEST_CASE("policy hash: removing a member from the file moves exactly what its going down does") {
    const Family f = make_family(ten_members());
    for (uint32_t removed : {0u, 4u, 9u}) {
        auto specs = ten_members();
        specs.erase(specs.begin() + removed);
        const Family smaller = make_family(specs);  // positions shift; address keys do not
        CHECK(first_answers(smaller, smaller.all, 1000) ==
              first_answers(f, f.without(removed), 1000));
    }
    // And adding it back restores every client.
    CHECK(first_answers(f, f.all, 1000) == first_answers(make_family(ten_members()), f.all, 1000));
}

TEST_CASE("policy hash: weights are respected; weight 0 never answers") {
    const Family f = make_family(
        {{"192.0.2.1", 1}, {"192.0.2.2", 1}, {"192.0.2.3", 2}, {"192.0.2.4", 4}, {"192.0.2.5", 0}});
    std::vector<int> first(5, 0);
    constexpr uint32_t kSubnets = 40000;
    lb::Selection s;
    for (uint32_t i = 0; i < kSubnets; ++i) {
        lb::select_hash(f.everyone(), 2, subnet(i), s);
        REQUIRE(s.count == 2);
        CHECK(s.index[0] != 4);
        CHECK(s.index[1] != 4);
        ++first[s.index[0]];
    }
    const double expected[5] = {12.5, 12.5, 25, 50, 0};
    for (int p = 0; p < 5; ++p) {
        const double share = 100.0 * first[p] / kSubnets;
        INFO("member " << p << " share " << share);
        CHECK(std::abs(share - expected[p]) < 1.5);
    }
    lb::select_hash(f.everyone(), 0, subnet(1), s);
    CHECK(s.count == 4);
}

TEST_CASE("policy hash: equal weights give the same answers on both scoring paths") {
    // A pool whose weights are all 1 orders by the raw draw; changing one member's weight
    // switches to log scores, which must not reshuffle anyone else.
    Family f = make_family(ten_members());
    const auto fast = first_answers(f, f.all, 2000);
    f.table.uniform_weight = false;
    CHECK(first_answers(f, f.all, 2000) == fast);
}

TEST_CASE("policy hash: client subnet from ECS, else /24 or /56 of the source; scope follows") {
    lb::Client v4 = ipv4_client(203, 0, 113, 200);
    lb::ClientNet net = lb::hashing_subnet(v4);
    CHECK(net.family == 4);
    CHECK(net.prefix == 24);
    CHECK(net.address[3] == 0);
    CHECK(net.address[2] == 113);

    lb::Client mapped;  // ::ffff:203.0.113.200 from a dual-stack socket is that IPv4 client
    mapped.family = 6;
    const uint8_t m[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 203, 0, 113, 200};
    std::memcpy(mapped.address, m, 16);
    lb::ClientNet mapped_net = lb::hashing_subnet(mapped);
    CHECK(mapped_net.family == 4);
    CHECK(std::memcmp(mapped_net.address, net.address, 16) == 0);

    lb::Client v6;
    v6.family = 6;
    const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    std::memcpy(v6.address, a6, 16);
    net = lb::hashing_subnet(v6);
    CHECK(net.prefix == 56);
    CHECK(net.address[6] == 3);
    CHECK(net.address[7] == 0);

    dns::ClientSubnet ecs;
    ecs.present = true;
    ecs.family = 1;
    ecs.source_prefix = 20;
    const uint8_t e[4] = {198, 51, 96, 0};
    std::memcpy(ecs.address, e, 4);
    v6.ecs = &ecs;  // ECS wins over the source, whatever the source's family
    net = lb::hashing_subnet(v6);
    CHECK(net.from_ecs);
    CHECK(net.family == 4);
    CHECK(net.prefix == 20);

    const Family f = make_family(ten_members());
    lb::Selection s;
    lb::select_hash(f.everyone(), 1, net, s);
    CHECK(s.ecs_scope == 20);
    lb::select_hash(f.everyone(), 1, lb::hashing_subnet(mapped), s);
    CHECK(s.ecs_scope == 24);
}
