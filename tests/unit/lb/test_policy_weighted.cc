// weighted: shares of first places against weight shares, distinctness, weight 0, members down.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "lb_fixture.h"
#include "steerdns/lb/policy_weighted.h"

using namespace steerdns;
using namespace steerdns::test;

namespace {

constexpr int kDraws = 100000;

// Largest |share of first places - expected share| over the members, in percentage points.
double max_share_error(const Family& f, const std::vector<uint32_t>& eligible, uint32_t answers,
                       uint64_t seed) {
    lb::Rng rng(seed);
    std::vector<int> first(f.table.size(), 0);
    lb::Selection s;
    const auto candidates = f.only(eligible);
    for (int i = 0; i < kDraws; ++i) {
        lb::select_weighted(candidates, answers, rng, s);
        REQUIRE(s.count >= 1);
        ++first[s.index[0]];
    }
    uint64_t total = 0;
    for (uint32_t p : eligible) total += f.table.weight[p];
    double worst = 0;
    for (uint32_t p = 0; p < f.table.size(); ++p) {
        const bool up = std::binary_search(eligible.begin(), eligible.end(), p);
        const double expected = up ? 100.0 * f.table.weight[p] / static_cast<double>(total) : 0;
        const double got = 100.0 * first[p] / kDraws;
        if (!up) CHECK(first[p] == 0);
        worst = std::max(worst, std::abs(got - expected));
    }
    return worst;
}

}  // namespace

TEST_CASE("policy weighted: weights 1/2/3/4, first places within 1 point over 100 000 draws") {
    const Family f =
        make_family({{"192.0.2.1", 1}, {"192.0.2.2", 2}, {"192.0.2.3", 3}, {"192.0.2.4", 4}});
    for (uint32_t answers : {1u, 2u, 4u}) {
        const double error = max_share_error(f, f.all, answers, 42 + answers);
        MESSAGE("weights 1/2/3/4, answers " << answers << ": max error " << error << " points");
        CHECK(error < 1.0);
    }
}

TEST_CASE("policy weighted: a 5% canary gets 5% of first places") {
    const Family f =
        make_family({{"192.0.2.1", 19}, {"192.0.2.2", 19}, {"192.0.2.3", 19}, {"192.0.2.99", 3}});
    const double error = max_share_error(f, f.all, 1, 7);
    MESSAGE("canary: max error " << error << " points");
    CHECK(error < 1.0);
}

TEST_CASE("policy weighted: answers hold distinct members, weight 0 never answers") {
    const Family f = make_family({{"192.0.2.1", 0},
                                  {"192.0.2.2", 1},
                                  {"192.0.2.3", 1},
                                  {"192.0.2.4", 5},
                                  {"192.0.2.5", 0},
                                  {"192.0.2.6", 2}});
    lb::Rng rng(1);
    lb::Selection s;
    for (int i = 0; i < 10000; ++i) {
        lb::select_weighted(f.everyone(), 3, rng, s);
        REQUIRE(s.count == 3);
        CHECK_FALSE(s.rotated);
        CHECK(s.ecs_scope == 0);
        const auto got = positions(s);
        CHECK(std::set<uint32_t>(got.begin(), got.end()).size() == 3);
        for (uint32_t p : got) CHECK(f.table.weight[p] > 0);
    }
    // More answers than members of weight > 0: each of them once, in some order.
    for (uint32_t answers : {4u, 6u, 0u}) {
        lb::select_weighted(f.everyone(), answers, rng, s);
        auto got = positions(s);
        std::sort(got.begin(), got.end());
        CHECK(got == std::vector<uint32_t>{1, 2, 3, 5});
    }
}

TEST_CASE("policy weighted: members down are never drawn; the rest keep their proportions") {
    const Family f = make_family({{"192.0.2.1", 1},
                                  {"192.0.2.2", 2},
                                  {"192.0.2.3", 3},
                                  {"192.0.2.4", 4},
                                  {"192.0.2.5", 10}});
    // Most members up: the cumulative-table path, a few rejections.
    double error = max_share_error(f, {0, 1, 2, 3}, 2, 3);
    MESSAGE("heaviest member down: max error " << error << " points");
    CHECK(error < 1.0);
    // Most members down: still rejections, with a larger budget.
    error = max_share_error(f, {1, 3}, 1, 4);
    MESSAGE("three of five down: max error " << error << " points");
    CHECK(error < 1.0);

    lb::Rng rng(5);
    lb::Selection s;
    lb::select_weighted(f.only({}), 2, rng, s);
    CHECK(s.count == 0);
    const Family zero = make_family({{"192.0.2.1", 0}, {"192.0.2.2", 0}});
    lb::select_weighted(zero.everyone(), 1, rng, s);
    CHECK(s.count == 0);
}

TEST_CASE("policy weighted: large pools, every path, every answer count up to 64") {
    auto specs = numbered_members(5000);
    for (size_t i = 0; i < specs.size(); ++i) specs[i].weight = static_cast<uint32_t>(i % 10);
    const Family f = make_family(specs);
    lb::Rng rng(11);
    lb::Selection s;
    const std::vector<uint32_t> most = [&] {
        std::vector<uint32_t> v;
        for (uint32_t p : f.all)
            if (p % 7 != 0) v.push_back(p);
        return v;
    }();
    const std::vector<uint32_t> few = {3, 17, 18, 4990};
    for (const auto* eligible : {&f.all, &most, &few}) {
        for (uint32_t answers : {1u, 2u, 8u, 64u}) {
            lb::select_weighted(f.only(*eligible), answers, rng, s);
            const uint32_t positive = static_cast<uint32_t>(std::count_if(
                eligible->begin(), eligible->end(), [&](uint32_t p) { return f.table.weight[p]; }));
            CHECK(s.count == std::min(answers, positive));
            const auto got = positions(s);
            CHECK(std::set<uint32_t>(got.begin(), got.end()).size() == got.size());
            for (uint32_t p : got) {
                CHECK(std::binary_search(eligible->begin(), eligible->end(), p));
                CHECK(f.table.weight[p] > 0);
            }
        }
    }
}

TEST_CASE("policy weighted: the same seed gives the same answers") {
    const Family f = make_family({{"192.0.2.1", 1}, {"192.0.2.2", 2}, {"192.0.2.3", 3}});
    lb::Rng a(99);
    lb::Rng b(99);
    lb::Selection sa;
    lb::Selection sb;
    for (int i = 0; i < 100; ++i) {
        lb::select_weighted(f.everyone(), 2, a, sa);
        lb::select_weighted(f.everyone(), 2, b, sb);
        CHECK(positions(sa) == positions(sb));
    }
}

TEST_CASE("policy weighted: few members up, many down (walk), and a table's precomputed groups") {
    auto specs = numbered_members(400);
    for (size_t i = 0; i < specs.size(); ++i) specs[i].weight = 1 + static_cast<uint32_t>(i % 4);
    const Family f = make_family(specs);
    // 1 in 20 up: below the rejection threshold, walked.
    std::vector<uint32_t> up;
    for (uint32_t p = 0; p < 400; p += 20) up.push_back(p);
    const double error = max_share_error(f, up, 1, 17);
    MESSAGE("20 of 400 up: max error " << error << " points");
    CHECK(error < 1.0);
    CHECK(f.table.drawable == 400);
    CHECK(f.table.top_priority.size() == 400);
}
