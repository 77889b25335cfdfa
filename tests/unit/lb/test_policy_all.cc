// all: every eligible member, capped (default 8), rotating.
#include <doctest/doctest.h>

#include <set>

#include "lb_fixture.h"
#include "steerdns/lb/policy_all.h"

using namespace steerdns;
using namespace steerdns::test;

TEST_CASE("policy all: every up member, capped at 8 by default") {
    const Family f = make_family(numbered_members(12));
    lb::Selection s;
    lb::select_all(f.everyone(), 0, 0, s);
    CHECK(positions(s) == std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7});
    CHECK(s.ecs_scope == 0);
    lb::select_all(f.everyone(), 0, 10, s);
    CHECK(positions(s) == std::vector<uint32_t>{10, 11, 0, 1, 2, 3, 4, 5});
    lb::select_all(f.everyone(), 3, 4, s);
    CHECK(positions(s) == std::vector<uint32_t>{4, 5, 6});
    lb::select_all(f.everyone(), 64, 4, s);
    CHECK(s.count == 12);
    const auto got = positions(s);
    CHECK(std::set<uint32_t>(got.begin(), got.end()).size() == 12);
}

TEST_CASE("policy all: members down are left out") {
    const Family f = make_family(numbered_members(5));
    lb::Selection s;
    lb::select_all(f.only({0, 2, 4}), 0, 0, s);
    CHECK(positions(s) == std::vector<uint32_t>{0, 2, 4});
    lb::select_all(f.only({0, 2, 4}), 0, 1, s);
    CHECK(positions(s) == std::vector<uint32_t>{2, 4, 0});
    lb::select_all(f.only({0, 2, 4}), 2, 2, s);
    CHECK(positions(s) == std::vector<uint32_t>{4, 0});
    lb::select_all(f.only({}), 0, 0, s);
    CHECK(s.count == 0);
}
