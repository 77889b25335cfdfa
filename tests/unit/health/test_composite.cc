// Composite checks (health/composite.h): the up/down/unknown rule for "require" all, any and
// N, parts that say nothing (no result yet), and the reason text a composite change logs.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "steerdns/health/composite.h"

using namespace steerdns;
using health::composite_reason;
using health::composite_state;
using health::State;

namespace {
constexpr State U = State::up;
constexpr State D = State::down;
constexpr State N = State::unknown;

State of(std::vector<State> parts, uint32_t require) {
    return composite_state(parts, require);
}
}  // namespace

TEST_CASE("composite require all: up only when every part is up, down on the first down") {
    CHECK(of({U, U}, 2) == U);
    CHECK(of({U, D}, 2) == D);
    CHECK(of({D, U}, 2) == D);
    CHECK(of({U, N}, 2) == N);  // the unprobed part may still come up
    CHECK(of({N, D}, 2) == D);  // ... but one down part is already too many
    CHECK(of({N, N}, 2) == N);
}

TEST_CASE("composite require any: up on one up part, down only when every part is down") {
    CHECK(of({U, D}, 1) == U);
    CHECK(of({D, U}, 1) == U);
    CHECK(of({D, D}, 1) == D);
    CHECK(of({D, N}, 1) == N);
    CHECK(of({N, N}, 1) == N);
}

TEST_CASE("composite require 2 of 3") {
    CHECK(of({U, U, D}, 2) == U);
    CHECK(of({U, D, D}, 2) == D);
    CHECK(of({U, D, N}, 2) == N);
    CHECK(of({D, N, N}, 2) == N);
    CHECK(of({D, D, N}, 2) == D);
    CHECK(of({U, U, U}, 2) == U);
}

TEST_CASE("composite with no parts or require 0 says nothing") {
    CHECK(of({}, 1) == N);
    CHECK(of({U}, 0) == N);
}

TEST_CASE("composite reason names each part and the require") {
    const std::vector<std::string> names{"web", "api"};
    const std::vector<State> parts{U, D};
    CHECK(composite_reason(names, parts, 2) == "web up, api down (require all)");
    CHECK(composite_reason(names, parts, 1) == "web up, api down (require any)");
    const std::vector<std::string> three{"a", "b", "c"};
    const std::vector<State> p3{U, N, D};
    CHECK(composite_reason(three, p3, 2) == "a up, b unknown, c down (require 2)");
}
