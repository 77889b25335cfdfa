// Probe phases: stable per key, spread over the interval, deadlines on a fixed grid.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "steerdns/health/phase.h"

namespace steerdns::test {

TEST_CASE("probe phase: the same key gives the same phase, always within the interval") {
    const std::string key = "127.0.0.1|tcp|2:80";
    CHECK(health::probe_phase_ms(key, 1000) == health::probe_phase_ms(key, 1000));
    for (uint64_t interval : {1ull, 2ull, 7ull, 100ull, 1000ull, 5000ull, 3600000ull})
        CHECK(health::probe_phase_ms(key, interval) < interval);
    CHECK(health::probe_phase_ms(key, 0) == 0);
    CHECK(health::probe_phase_ms("other", 1000) != health::probe_phase_ms(key, 1000));
}

TEST_CASE("probe phase: 10 000 keys differing only in the address spread evenly") {
    // Ten buckets of 100 ms: each should hold about 1 000 of them.
    constexpr uint64_t kInterval = 1000;
    std::vector<int> buckets(10);
    for (int i = 0; i < 10000; ++i) {
        std::string key = "10.";
        key.append(std::to_string(i / 256)).append(".").append(std::to_string(i % 256));
        key.append(".1|tcp|2:80");
        ++buckets[health::probe_phase_ms(key, kInterval) / 100];
    }
    for (int b : buckets) {
        CHECK(b > 850);
        CHECK(b < 1150);
    }
    // And no single millisecond holds a burst: about 10 each.
    std::vector<int> ms(kInterval);
    for (int i = 0; i < 10000; ++i)
        ++ms[health::probe_phase_ms(std::string("m").append(std::to_string(i)), kInterval)];
    CHECK(*std::max_element(ms.begin(), ms.end()) < 35);
}

TEST_CASE("probe phase: the next deadline is the phase in the next slot of the interval") {
    // interval 1000, phase 250: deadlines at ..., 1250, 2250, 3250, ...
    CHECK(health::next_probe_in_ms(1000, 250, 1000) == 250);
    CHECK(health::next_probe_in_ms(1249, 250, 1000) == 1);
    CHECK(health::next_probe_in_ms(1250, 250, 1000) == 1000);  // on time: the next one
    CHECK(health::next_probe_in_ms(1300, 250, 1000) == 950);   // late by 50: no drift
    CHECK(health::next_probe_in_ms(1999, 250, 1000) == 251);
    CHECK(health::next_probe_in_ms(2000, 0, 1000) == 1000);
    CHECK(health::next_probe_in_ms(123, 0, 1) == 1);
    // Always within (0, interval], whatever the clock says.
    for (uint64_t now = 0; now < 3000; now += 37) {
        const uint64_t d = health::next_probe_in_ms(now, 480, 700);
        CHECK(d >= 1);
        CHECK(d <= 700);
        CHECK((now + d) % 700 == 480);
    }
    // A reload that adds a probe starts it at its own place, not now: two keys added at the
    // same moment fire at their own phases.
    const uint64_t pa = health::probe_phase_ms("a", 5000);
    const uint64_t pb = health::probe_phase_ms("b", 5000);
    CHECK(health::next_probe_in_ms(77777, pa, 5000) != health::next_probe_in_ms(77777, pb, 5000));
}

}  // namespace steerdns::test
