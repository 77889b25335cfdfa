// failover: highest priority with an eligible member, rotation among equals, fallthrough.
#include <doctest/doctest.h>

#include <map>

#include "lb_fixture.h"
#include "steerdns/lb/policy_failover.h"

using namespace steerdns;
using namespace steerdns::test;

namespace {

Family failover_pool() {
    // Member order deliberately not sorted by priority.
    return make_family({{"192.0.2.10", 1, 50},
                        {"192.0.2.11", 1, 100},
                        {"192.0.2.12", 1, 10},
                        {"192.0.2.13", 1, 100},
                        {"192.0.2.14", 1, 50},
                        {"192.0.2.15", 1, 100}});
}

std::vector<uint32_t> failover(const Family& f, const std::vector<uint32_t>& eligible,
                               uint32_t answers, uint64_t rotation) {
    lb::Selection s;
    lb::select_failover(f.only(eligible), answers, rotation, s);
    CHECK(s.ecs_scope == 0);
    CHECK_FALSE(s.rotated);
    return positions(s);
}

}  // namespace

TEST_CASE("policy failover: the highest priority answers, rotated among equals") {
    const Family f = failover_pool();
    CHECK(failover(f, f.all, 0, 0) == std::vector<uint32_t>{1, 3, 5});
    CHECK(failover(f, f.all, 0, 1) == std::vector<uint32_t>{3, 5, 1});
    CHECK(failover(f, f.all, 0, 2) == std::vector<uint32_t>{5, 1, 3});
    CHECK(failover(f, f.all, 0, 3) == std::vector<uint32_t>{1, 3, 5});
    CHECK(failover(f, f.all, 2, 2) == std::vector<uint32_t>{5, 1});
    // Over as many queries as equals, each is first exactly once, whatever the counter's start.
    std::map<uint32_t, int> first;
    for (uint64_t r = 1000; r < 1003; ++r) ++first[failover(f, f.all, 1, r).at(0)];
    CHECK(first == std::map<uint32_t, int>{{1, 1}, {3, 1}, {5, 1}});
}

TEST_CASE("policy failover: falls through to the next priority only when the top is all down") {
    const Family f = failover_pool();
    CHECK(failover(f, {0, 1, 2, 4}, 0, 7) == std::vector<uint32_t>{1});  // one 100 left
    CHECK(failover(f, {0, 2, 4}, 0, 0) == std::vector<uint32_t>{0, 4});  // every 100 down
    CHECK(failover(f, {0, 2, 4}, 0, 1) == std::vector<uint32_t>{4, 0});
    CHECK(failover(f, {2}, 0, 5) == std::vector<uint32_t>{2});  // last resort
    CHECK(failover(f, {}, 0, 0).empty());
}

TEST_CASE("policy failover: negative and equal priorities") {
    const Family f =
        make_family({{"2001:db8::1", 1, -5}, {"2001:db8::2", 1, -1}, {"2001:db8::3", 1, -1}});
    CHECK(failover(f, f.all, 0, 0) == std::vector<uint32_t>{1, 2});
    CHECK(failover(f, {0}, 0, 0) == std::vector<uint32_t>{0});
    const Family flat = make_family(numbered_members(100));
    lb::Selection s;
    lb::select_failover(flat.everyone(), 0, 99, s);
    CHECK(s.count == lb::kMaxAnswers);  // a group larger than one answer: capped
    CHECK(s.index[0] == 99);
    CHECK(s.index[1] == 0);
}

TEST_CASE("policy failover: every member up (precomputed group) answers as the walk does") {
    const Family f = failover_pool();
    // Position 2 (priority 10) down changes nothing at the top but takes the walking path.
    for (uint32_t answers : {0u, 1u, 2u, 3u}) {
        for (uint64_t r = 0; r < 7; ++r) {
            INFO("answers " << answers << " rotation " << r);
            CHECK(failover(f, f.all, answers, r) == failover(f, {0, 1, 3, 4, 5}, answers, r));
        }
    }
}
