// hash: rendezvous stability, movement when a member goes down or leaves the file, weights,
// the client subnet and the ECS scope.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <set>

#include "lb_fixture.h"
#include "steerdns/lb/hash_rank.h"
#include "steerdns/lb/policy_hash.h"
#include "steerdns/lb/rng.h"

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

namespace {

// A hash pool's family: the bucket table is built for hash pools only.
Family hash_family(const std::vector<MemberSpec>& specs) {
    Family f = make_family(specs);
    f.pool.policy = lb::Policy::hash;
    f.table = lb::MemberTable::build(f.pool, f.pool.v4);
    return f;
}

// n members 10.0.x.y, weights cycling through `weights`.
std::vector<MemberSpec> big_pool(uint32_t n, std::vector<uint32_t> weights = {1}) {
    auto v = numbered_members(n);
    for (uint32_t i = 0; i < n; ++i) v[i].weight = weights[i % weights.size()];
    return v;
}

// The full bucket ranking of `eligible` for subnet i: what the table must agree with.
std::vector<uint32_t> full_bucket_ranking(const Family& f, const std::vector<uint32_t>& eligible,
                                          uint32_t i, uint32_t limit) {
    const lb::ClientNet net = subnet(i);
    const uint64_t key = lb::hash_address(net.family, net.prefix, net.address);
    std::array<lb::hash_rank::Scored, lb::kMaxAnswers> top;
    const uint32_t count =
        lb::hash_rank::rank_bucket(f.table, eligible, lb::hash_rank::bucket_of(key), limit, top);
    std::vector<uint32_t> v;
    for (uint32_t k = 0; k < count; ++k) v.push_back(top[k].position);
    return v;
}

}  // namespace

TEST_CASE("policy hash: the bucket table is built for hash families of 256 members and more") {
    CHECK(hash_family(big_pool(255)).table.hash_buckets.empty());
    CHECK(!hash_family(big_pool(256)).table.hash_buckets.empty());
    CHECK(make_family(big_pool(300)).table.hash_buckets.empty());  // not a hash pool
    // Weight 0 members do not count.
    CHECK(hash_family(big_pool(300, {1, 1, 0})).table.hash_buckets.empty());
    CHECK(hash_family(big_pool(1000)).table.hash_buckets.bytes() == 65536 * 8 * 2);
}

TEST_CASE("policy hash: the bucket table answers what the full bucket ranking does") {
    for (const auto& weights : {std::vector<uint32_t>{1}, std::vector<uint32_t>{1, 2, 3, 7}}) {
        const Family f = hash_family(big_pool(1000, weights));
        REQUIRE(!f.table.hash_buckets.empty());
        lb::Rng rng(3);
        for (const uint32_t percent : {100u, 90u, 50u, 5u, 0u}) {
            std::vector<uint32_t> up;
            for (uint32_t p = 0; p < 1000; ++p)
                if (rng.bounded(100) < percent) up.push_back(p);
            const auto candidates = f.only(up);
            lb::Selection s;
            for (uint32_t answers : {1u, 3u, 8u, 12u}) {
                for (uint32_t i = 0; i < 3000; i += 3) {
                    lb::select_hash(candidates, answers, subnet(i), s);
                    INFO("weights " << weights.size() << " up " << percent << "% answers "
                                    << answers << " subnet " << i);
                    REQUIRE(positions(s) == full_bucket_ranking(f, up, i, answers));
                }
            }
        }
        // A bucket whose whole table row is down falls back to the full ranking.
        const lb::ClientNet net = subnet(5);
        const uint16_t* row = f.table.hash_buckets.bucket(
            lb::hash_rank::bucket_of(lb::hash_address(net.family, net.prefix, net.address)));
        std::vector<uint32_t> up;
        for (uint32_t p = 0; p < 1000; ++p)
            if (std::find(row, row + lb::HashBuckets::kDepth, p) == row + lb::HashBuckets::kDepth)
                up.push_back(p);
        lb::Selection s;
        lb::select_hash(f.only(up), 2, net, s);
        CHECK(s.count == 2);
        CHECK(positions(s) == full_bucket_ranking(f, up, 5, 2));
        // And the table's row is the start of the full ranking with everyone up.
        const auto full = full_bucket_ranking(f, f.all, 5, lb::HashBuckets::kDepth);
        CHECK(std::vector<uint32_t>(row, row + lb::HashBuckets::kDepth) == full);
    }
}

TEST_CASE("policy hash: with the table, a member down moves only its own clients") {
    const Family f = hash_family(big_pool(1000));
    REQUIRE(!f.table.hash_buckets.empty());
    constexpr uint32_t kSubnets = 30000;
    const auto before = first_answers(f, f.all, kSubnets);
    for (uint32_t down : {0u, 1u, 500u, 999u}) {
        const auto after = first_answers(f, f.without(down), kSubnets);
        int moved = 0;
        int on_down = 0;
        for (size_t i = 0; i < before.size(); ++i) {
            if (before[i] == f.address_at(down)) ++on_down;
            if (before[i] != after[i]) {
                ++moved;
                CHECK(before[i] == f.address_at(down));
            }
        }
        CHECK(moved == on_down);
        CHECK(moved < 150);  // ~30 expected
    }
    // Many members down at once: still only their clients move.
    std::vector<uint32_t> up;
    for (uint32_t p = 0; p < 1000; ++p)
        if (p % 3 != 0) up.push_back(p);
    const auto after = first_answers(f, up, kSubnets);
    for (size_t i = 0; i < before.size(); ++i) {
        if (before[i] == after[i]) continue;
        const auto it = std::find_if(f.all.begin(), f.all.end(),
                                     [&](uint32_t p) { return f.address_at(p) == before[i]; });
        CHECK(*it % 3 == 0);
    }
}

TEST_CASE("policy hash: with the table, removing a member from the file equals its going down") {
    const Family f = hash_family(big_pool(600, {1, 3}));
    for (uint32_t removed : {0u, 299u, 599u}) {
        auto specs = big_pool(600, {1, 3});
        specs.erase(specs.begin() + removed);
        const Family smaller = hash_family(specs);
        CHECK(first_answers(smaller, smaller.all, 20000) ==
              first_answers(f, f.without(removed), 20000));
    }
}

TEST_CASE("policy hash: with the table, equal weights give the same answers on both paths") {
    Family f = hash_family(big_pool(400));
    const auto fast = first_answers(f, f.all, 20000);
    f.table.uniform_weight = false;
    f.table.hash_buckets = lb::HashBuckets::build(f.table);
    CHECK(first_answers(f, f.all, 20000) == fast);
}

TEST_CASE("policy hash: with the table, weight classes get their share of the buckets") {
    // 100 members of each weight 1, 2 and 4: expected 1/7, 2/7 and 4/7 of the clients.
    const Family f = hash_family(big_pool(300, {1, 2, 4}));
    REQUIRE(!f.table.hash_buckets.empty());
    double share[3] = {};
    for (uint32_t b = 0; b < lb::hash_rank::kBuckets; ++b)
        share[f.table.hash_buckets.bucket(b)[0] % 3] += 1.0 / lb::hash_rank::kBuckets;
    const double expected[3] = {1.0 / 7, 2.0 / 7, 4.0 / 7};
    for (int k = 0; k < 3; ++k) {
        INFO("weight class " << k << " share " << share[k]);
        CHECK(std::abs(share[k] - expected[k]) < 0.01);
    }
}

TEST_CASE("policy hash: the bucket table is the same on every server (pinned answers)") {
    // Fixed constants only: ns1 and ns2 must send a client to the same member. A change here
    // moves every client of every big hash pool; do it on purpose or not at all.
    const Family f = hash_family(big_pool(1000, {1, 2}));
    const Family g = hash_family(big_pool(1000, {1, 2}));
    CHECK(f.table.hash_buckets.ranked == g.table.hash_buckets.ranked);
    CHECK(first_answers(f, f.all, 3) ==
          std::vector<std::string>{"10.0.1.186", "10.0.0.70", "10.0.3.205"});
}
