// geo selection: region preference lists, fallthrough to the next region, rotation or weights
// inside a region, the ECS scope.
#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "lb_fixture.h"
#include "steerdns/lb/policy_geo.h"

using namespace steerdns;
using namespace steerdns::test;

namespace {

enum : uint16_t { eu, us, ap, sa, kRegions };

// "regions": { "eu": ["eu", "us"], "us": ["us", "eu"], "ap": ["ap", "us", "eu"] }; sa missing.
lb::RegionPreferences contract_preferences() {
    const std::vector<std::vector<uint16_t>> lists = {{eu, us}, {us, eu}, {ap, us, eu}};
    return lb::RegionPreferences::build(kRegions, lists);
}

std::vector<uint32_t> geo(const Family& f, const std::vector<uint32_t>& eligible,
                          uint16_t client_region, uint32_t answers = 1, uint64_t rotation = 0,
                          uint64_t seed = 1) {
    const lb::RegionPreferences prefs = contract_preferences();
    lb::Rng rng(seed);
    lb::Selection s;
    lb::select_geo(f.only(eligible), prefs, {client_region, 21}, answers, rotation, rng, s);
    CHECK(s.ecs_scope == 21);
    return positions(s);
}

}  // namespace

TEST_CASE("geo preferences: listed orders, and [region] then every other for a missing one") {
    const lb::RegionPreferences prefs = contract_preferences();
    auto order = [&](uint16_t r) {
        const auto o = prefs.order(r);
        return std::vector<uint16_t>(o.begin(), o.end());
    };
    CHECK(order(eu) == std::vector<uint16_t>{eu, us});
    CHECK(order(ap) == std::vector<uint16_t>{ap, us, eu});
    CHECK(order(sa) == std::vector<uint16_t>{sa, eu, us, ap});
    CHECK(prefs.rank(ap, eu) == 2);
    CHECK(prefs.rank(eu, ap) == lb::RegionPreferences::kUnranked);
    const std::vector<std::vector<uint16_t>> twice = {{us, us, eu}};
    CHECK(lb::RegionPreferences::build(2, twice).order(eu).size() == 2);
    CHECK(lb::RegionPreferences::build(2, twice).order(7).empty());
}

TEST_CASE("policy geo: the contract pool answers from the client's first region that is up") {
    // 192.0.2.20 eu, .21 us, .22 ap weight 2: a weight is given, so regions draw by weight.
    const Family f =
        make_family({{"192.0.2.20", 1, 0, eu}, {"192.0.2.21", 1, 0, us}, {"192.0.2.22", 2, 0, ap}});
    CHECK(geo(f, f.all, eu) == std::vector<uint32_t>{0});
    CHECK(geo(f, f.all, us) == std::vector<uint32_t>{1});
    CHECK(geo(f, f.all, ap) == std::vector<uint32_t>{2});
    CHECK(geo(f, {1, 2}, eu) == std::vector<uint32_t>{1});    // eu down: us
    CHECK(geo(f, {0, 2}, us) == std::vector<uint32_t>{0});    // us down: eu
    CHECK(geo(f, {0, 1}, ap) == std::vector<uint32_t>{1});    // ap down: us
    CHECK(geo(f, {0}, ap) == std::vector<uint32_t>{0});       // then eu
    CHECK(geo(f, {2}, eu).empty());                           // eu's list has no ap
    CHECK(geo(f, {2}, sa) == std::vector<uint32_t>{2});       // sa: sa, then every region
    CHECK(geo(f, f.all, sa) == std::vector<uint32_t>{0});     // ... in id order: eu first
    CHECK(geo(f, f.all, eu, 3) == std::vector<uint32_t>{0});  // one region answers, not more
    // No region for the client (the rules gave no default): any member.
    CHECK(geo(f, f.all, lb::kNoRegion, 3).size() == 3);
}

TEST_CASE("policy geo: equal weights rotate inside the region") {
    const Family f = make_family({{"192.0.2.1", 1, 0, us},
                                  {"192.0.2.2", 1, 0, eu},
                                  {"192.0.2.3", 1, 0, us},
                                  {"192.0.2.4", 1, 0, eu},
                                  {"192.0.2.5", 1, 0, eu}});
    CHECK(geo(f, f.all, eu, 1, 0) == std::vector<uint32_t>{1});
    CHECK(geo(f, f.all, eu, 1, 1) == std::vector<uint32_t>{3});
    CHECK(geo(f, f.all, eu, 1, 2) == std::vector<uint32_t>{4});
    CHECK(geo(f, f.all, eu, 0, 1) == std::vector<uint32_t>{3, 4, 1});
    CHECK(geo(f, {0, 2, 3}, eu, 0, 5) == std::vector<uint32_t>{3});
    CHECK(geo(f, {0, 2}, eu, 0, 1) == std::vector<uint32_t>{2, 0});
}

TEST_CASE("policy geo: weights inside a region, weight 0 never, distinct answers") {
    const Family f = make_family({{"192.0.2.1", 1, 0, eu},
                                  {"192.0.2.2", 3, 0, eu},
                                  {"192.0.2.3", 0, 0, eu},
                                  {"192.0.2.4", 5, 0, us}});
    const lb::RegionPreferences prefs = contract_preferences();
    lb::Rng rng(8);
    lb::Selection s;
    std::map<uint32_t, int> first;
    constexpr int kDraws = 100000;
    for (int i = 0; i < kDraws; ++i) {
        lb::select_geo(f.everyone(), prefs, {eu, 24}, 2, 0, rng, s);
        REQUIRE(s.count == 2);
        CHECK(s.index[0] != s.index[1]);
        ++first[s.index[0]];
    }
    CHECK(first.size() == 2);
    CHECK(std::abs(100.0 * first[0] / kDraws - 25.0) < 1.0);
    CHECK(std::abs(100.0 * first[1] / kDraws - 75.0) < 1.0);
    // Only weight 0 left in eu: eu counts as empty, us answers.
    lb::select_geo(f.only({2, 3}), prefs, {eu, 24}, 2, 0, rng, s);
    CHECK(positions(s) == std::vector<uint32_t>{3});
}

TEST_CASE("policy geo: every member up (region slices) answers as the walk does") {
    // 20 members over 3 regions (sa has none); the last member, alone in ap, is the one taken
    // down to force the walking path, so clients of eu and us see the same candidates.
    std::vector<MemberSpec> specs;
    for (uint32_t i = 0; i < 19; ++i)
        specs.push_back({"192.0.2." + std::to_string(i + 1), 1, 0, i % 3 == 0 ? eu : us});
    specs.push_back({"192.0.2.100", 1, 0, ap});
    const Family f = make_family(specs);
    std::vector<uint32_t> but_last(f.all.begin(), f.all.end() - 1);
    for (uint16_t region : {eu, us, sa}) {
        for (uint32_t answers : {0u, 1u, 3u}) {
            for (uint64_t r = 0; r < 15; ++r) {
                INFO("region " << region << " answers " << answers << " rotation " << r);
                CHECK(geo(f, f.all, region, answers, r) == geo(f, but_last, region, answers, r));
            }
        }
    }
}

TEST_CASE("policy geo: weighted draws agree in distribution on both paths") {
    const Family f = make_family({{"192.0.2.1", 1, 0, eu},
                                  {"192.0.2.2", 3, 0, eu},
                                  {"192.0.2.3", 0, 0, ap},
                                  {"192.0.2.4", 0, 0, us},
                                  {"192.0.2.5", 2, 0, us}});
    const lb::RegionPreferences prefs = contract_preferences();
    auto check_shares = [&](const lb::Candidates& candidates) {
        lb::Rng rng(21);
        lb::Selection s;
        std::map<uint32_t, int> first;
        constexpr int kDraws = 100000;
        for (int i = 0; i < kDraws; ++i) {
            lb::select_geo(candidates, prefs, {eu, 24}, 0, 0, rng, s);
            REQUIRE(s.count == 2);  // answers 0: the region's two drawable members
            CHECK(s.index[0] != s.index[1]);
            ++first[s.index[0]];
        }
        CHECK(std::abs(100.0 * first[0] / kDraws - 25.0) < 1.0);
        CHECK(std::abs(100.0 * first[1] / kDraws - 75.0) < 1.0);
    };
    check_shares(f.everyone());
    check_shares(f.only({0, 1, 3, 4}));  // ap down: not in eu's list, but forces the walk
    // A region whose members all weigh 0 is passed over on both paths.
    const Family zero =
        make_family({{"192.0.2.1", 0, 0, eu}, {"192.0.2.2", 2, 0, us}, {"192.0.2.3", 1, 0, ap}});
    CHECK(geo(zero, zero.all, eu, 0) == std::vector<uint32_t>{1});
    CHECK(geo(zero, {0, 1}, eu, 0) == std::vector<uint32_t>{1});
}
