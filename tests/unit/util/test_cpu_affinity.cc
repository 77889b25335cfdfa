#include <doctest/doctest.h>

#include "steerdns/util/cpu_affinity.h"

using steerdns::util::parse_cpu_list;

TEST_CASE("CPU lists are read as taskset -c writes them") {
    std::vector<unsigned> cpus;
    std::string error;
    CHECK(parse_cpu_list("1", cpus, error));
    CHECK(cpus == std::vector<unsigned>{1});
    CHECK(parse_cpu_list("0,2-4,7", cpus, error));
    CHECK(cpus == std::vector<unsigned>{0, 2, 3, 4, 7});
    for (const char* bad : {"", "x", "1,", "3-1", "1-", "-1", "1 2", "99999"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_cpu_list(bad, cpus, error));
        CHECK_FALSE(error.empty());
    }
}
