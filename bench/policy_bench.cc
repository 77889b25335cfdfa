// Microbenchmark of the selection policies, run by hand (not a test: timings on a shared
// 2-core machine are noisy). Also counts heap allocations during the timed loops, which must be
// zero. Build (an optional target, off by default) and run:
//
//   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DSTEERDNS_BENCH=ON -DSTEERDNS_TESTS=OFF
//   cmake --build build-bench -j2 --target policy_bench
//   build-bench/policy_bench [test.mmdb]
//
// (write test.mmdb with tests/data/write_test_mmdb.pl to time GeoIp lookups too).
#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "steerdns/lb/geoip.h"
#include "steerdns/lb/policy_all.h"
#include "steerdns/lb/policy_failover.h"
#include "steerdns/lb/policy_geo.h"
#include "steerdns/lb/policy_hash.h"
#include "steerdns/lb/policy_weighted.h"

namespace {

size_t g_allocations = 0;

}  // namespace

// g++ 12 inlines these into std::allocator and then mistakes free() for a mismatch.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(size_t size) {
    ++g_allocations;
    if (void* p = std::malloc(size)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, size_t) noexcept {
    std::free(p);
}

using namespace steerdns;

namespace {

struct Family {
    lb::Pool pool;
    lb::MemberTable table;
};

// n IPv4 members; weight/priority/region from the position. A hash pool's families above
// lb::kHashTableMinMembers also get their bucket table (timed: the table is built at load).
Family make_family(uint32_t n, bool weighted, uint16_t regions,
                   lb::Policy policy = lb::Policy::round_robin) {
    Family f;
    f.pool.policy = policy;
    std::vector<uint16_t> region;
    for (uint32_t i = 0; i < n; ++i) {
        lb::Member m;
        m.family = 4;
        m.address[0] = 10;
        m.address[1] = static_cast<uint8_t>(i >> 16);
        m.address[2] = static_cast<uint8_t>(i >> 8);
        m.address[3] = static_cast<uint8_t>(i);
        m.weight = weighted ? 1 + i % 7 : 1;
        m.priority = static_cast<int32_t>(i % 3);
        f.pool.v4.members.push_back(i);
        f.pool.members.push_back(m);
        region.push_back(regions ? static_cast<uint16_t>(i % regions) : lb::kNoRegion);
    }
    const auto t0 = std::chrono::steady_clock::now();
    f.table = lb::MemberTable::build(f.pool, f.pool.v4, region);
    const auto t1 = std::chrono::steady_clock::now();
    if (policy == lb::Policy::hash)
        std::printf("hash table build n=%u %s: %.1f ms, %zu bytes\n", n,
                    weighted ? "weights 1-7" : "equal weights",
                    std::chrono::duration<double, std::milli>(t1 - t0).count(),
                    f.table.hash_buckets.bytes());
    return f;
}

// Every position whose (position * 7919) % 100 < percent: a spread-out subset.
std::vector<uint32_t> up_fraction(uint32_t n, uint32_t percent) {
    std::vector<uint32_t> v;
    for (uint32_t i = 0; i < n; ++i)
        if ((i * 7919u) % 100 < percent) v.push_back(i);
    return v;
}

uint64_t g_sink = 0;

template <class F>
void bench(const char* what, F&& select_once) {
    constexpr int kWarm = 2000;
    for (int i = 0; i < kWarm; ++i) select_once(i);
    // Enough iterations for ~50 ms whatever the cost.
    int iterations = 1000;
    double ns = 0;
    size_t allocations = 0;
    for (;;) {
        const size_t before = g_allocations;
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < iterations; ++i) select_once(i);
        const auto t1 = std::chrono::steady_clock::now();
        allocations = g_allocations - before;
        ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
        if (ns > 5e7 || iterations > (1 << 26)) break;
        iterations *= 4;
    }
    std::printf("%-58s %9.1f ns  allocs %zu\n", what, ns / iterations, allocations);
}

lb::ClientNet subnet_of(int i) {
    lb::ClientNet net;
    net.family = 4;
    net.prefix = 24;
    net.address[0] = 100;
    net.address[1] = static_cast<uint8_t>(i >> 8);
    net.address[2] = static_cast<uint8_t>(i);
    return net;
}

}  // namespace

int main(int argc, char** argv) {
    lb::Rng rng(1);
    lb::Selection out;

    for (uint32_t n : {10u, 100u, 1000u, 5000u}) {
        const Family uniform = make_family(n, false, 0);
        const Family weighted = make_family(n, true, 0);
        std::vector<uint32_t> all(n);
        for (uint32_t i = 0; i < n; ++i) all[i] = i;
        const auto most = up_fraction(n, 90);
        const auto few = up_fraction(n, 30);
        char label[128];
        for (uint32_t answers : {1u, 2u}) {
            std::snprintf(label, sizeof label, "weighted n=%u answers=%u all up", n, answers);
            bench(label, [&](int) {
                lb::select_weighted({&weighted.table, all}, answers, rng, out);
                g_sink += out.index[0];
            });
            std::snprintf(label, sizeof label, "weighted n=%u answers=%u 90%% up", n, answers);
            bench(label, [&](int) {
                lb::select_weighted({&weighted.table, most}, answers, rng, out);
                g_sink += out.index[0];
            });
            std::snprintf(label, sizeof label, "weighted n=%u answers=%u 30%% up (walk)", n,
                          answers);
            bench(label, [&](int) {
                lb::select_weighted({&weighted.table, few}, answers, rng, out);
                g_sink += out.index[0];
            });
        }
        std::snprintf(label, sizeof label, "failover n=%u answers=2 all up", n);
        bench(label, [&](int i) {
            lb::select_failover({&uniform.table, all}, 2, static_cast<uint64_t>(i), out);
            g_sink += out.index[0];
        });
        std::snprintf(label, sizeof label, "all n=%u answers=8 all up", n);
        bench(label, [&](int i) {
            lb::select_all({&uniform.table, all}, 0, static_cast<uint64_t>(i), out);
            g_sink += out.index[0];
        });
        const Family geo_pool = make_family(n, false, 3);
        const Family geo_weighted = make_family(n, true, 3);
        const std::vector<std::vector<uint16_t>> lists = {{0, 1}, {1, 0}, {2, 1, 0}};
        const auto prefs = lb::RegionPreferences::build(3, lists);
        std::snprintf(label, sizeof label, "geo select n=%u 3 regions, rotate", n);
        bench(label, [&](int i) {
            lb::select_geo({&geo_pool.table, all}, prefs, {static_cast<uint16_t>(i % 3), 24}, 1,
                           static_cast<uint64_t>(i), rng, out);
            g_sink += out.index[0];
        });
        std::snprintf(label, sizeof label, "geo select n=%u 3 regions, weighted", n);
        bench(label, [&](int i) {
            lb::select_geo({&geo_weighted.table, all}, prefs, {static_cast<uint16_t>(i % 3), 24}, 1,
                           static_cast<uint64_t>(i), rng, out);
            g_sink += out.index[0];
        });
    }

    // hash: the bucket table above lb::kHashTableMinMembers, the full walk below it and when a
    // bucket's ranked members are down (the "90% up" rows walk the table with binary searches).
    for (uint32_t n : {100u, 300u, 1000u, 10000u, 65535u}) {
        const Family uniform = make_family(n, false, 0, lb::Policy::hash);
        const Family weighted = make_family(n, true, 0, lb::Policy::hash);
        std::vector<uint32_t> all(n);
        for (uint32_t i = 0; i < n; ++i) all[i] = i;
        const auto most = up_fraction(n, 90);
        char label[128];
        std::snprintf(label, sizeof label, "hash n=%u answers=1 equal weights", n);
        bench(label, [&](int i) {
            lb::select_hash({&uniform.table, all}, 1, subnet_of(i), out);
            g_sink += out.index[0];
        });
        std::snprintf(label, sizeof label, "hash n=%u answers=1 weights 1-7", n);
        bench(label, [&](int i) {
            lb::select_hash({&weighted.table, all}, 1, subnet_of(i), out);
            g_sink += out.index[0];
        });
        std::snprintf(label, sizeof label, "hash n=%u answers=2 weights 1-7", n);
        bench(label, [&](int i) {
            lb::select_hash({&weighted.table, all}, 2, subnet_of(i), out);
            g_sink += out.index[0];
        });
        std::snprintf(label, sizeof label, "hash n=%u answers=1 equal weights 90%% up", n);
        bench(label, [&](int i) {
            lb::select_hash({&uniform.table, most}, 1, subnet_of(i), out);
            g_sink += out.index[0];
        });
        // Before the table: the per-client walk over every member.
        lb::MemberTable walk = uniform.table;
        walk.hash_buckets = {};
        std::snprintf(label, sizeof label, "hash n=%u answers=1 equal weights, walk", n);
        bench(label, [&](int i) {
            lb::select_hash({&walk, all}, 1, subnet_of(i), out);
            g_sink += out.index[0];
        });
        walk = weighted.table;
        walk.hash_buckets = {};
        std::snprintf(label, sizeof label, "hash n=%u answers=1 weights 1-7, walk", n);
        bench(label, [&](int i) {
            lb::select_hash({&walk, all}, 1, subnet_of(i), out);
            g_sink += out.index[0];
        });
        // Weight fidelity: each weight class's share of the buckets' first answers against
        // its share of the total weight, and the busiest member's share against the mean.
        if (!weighted.table.hash_buckets.empty()) {
            double share[7] = {};
            std::vector<uint32_t> heads(n, 0);
            for (uint32_t b = 0; b < 65536; ++b) {
                const uint16_t p = weighted.table.hash_buckets.bucket(b)[0];
                share[weighted.table.weight[p] - 1] += 1.0 / 65536;
                ++heads[p];
            }
            const double total = static_cast<double>(weighted.table.total_weight());
            std::printf("  weight class share (measured/expected):");
            for (uint32_t w = 1; w <= 7; ++w) {
                double class_weight = 0;
                for (uint32_t p = 0; p < n; ++p)
                    if (weighted.table.weight[p] == w) class_weight += w;
                std::printf(" w%u %.4f/%.4f", w, share[w - 1], class_weight / total);
            }
            std::vector<uint32_t> uniform_heads(n, 0);
            for (uint32_t b = 0; b < 65536; ++b)
                ++uniform_heads[uniform.table.hash_buckets.bucket(b)[0]];
            const uint32_t most_heads =
                *std::max_element(uniform_heads.begin(), uniform_heads.end());
            const auto idle = std::count(uniform_heads.begin(), uniform_heads.end(), 0u);
            std::printf(
                "\n  equal weights: busiest member heads %u buckets (mean %.1f), %ld head none\n",
                most_heads, 65536.0 / n, static_cast<long>(idle));
        }
    }

    // Net rules: 10 000 random /16-/28 nets.
    std::vector<lb::NetRule> rules;
    lb::Rng pick(7);
    for (int i = 0; i < 10000; ++i) {
        lb::NetRule r;
        r.net.prefix = static_cast<uint8_t>(16 + pick.bounded(13));
        const uint32_t a = static_cast<uint32_t>(pick.next()) & ~(0xFFFFFFFFu >> r.net.prefix);
        for (int b = 0; b < 4; ++b) r.net.address[b] = static_cast<uint8_t>(a >> (24 - 8 * b));
        r.region = static_cast<uint16_t>(i % 3);
        bool duplicate = false;
        for (const auto& o : rules) duplicate = duplicate || o.net == r.net;
        if (!duplicate) rules.push_back(r);
    }
    lb::GeoRules geo_rules;
    geo_rules.nets = std::move(lb::GeoMap::build(rules).map);
    geo_rules.add_country("US", 1);
    geo_rules.add_continent("EU", 0);
    geo_rules.add_continent("AS", 2);
    geo_rules.default_region = 1;
    std::printf("geo map: %zu nets -> %zu ranges\n", rules.size(), geo_rules.nets.range_count(4));
    bench("geo resolve_region, 10k net rules, no database", [&](int i) {
        lb::ClientNet c = subnet_of(i * 7919);
        c.address[0] = static_cast<uint8_t>(i);
        const auto m = lb::resolve_region(geo_rules, c, static_cast<const lb::GeoIp*>(nullptr));
        g_sink += m.region;
    });
    if (argc > 1) {
        std::string error;
        lb::GeoIp db;
        if (!db.open(argv[1], error)) {
            std::fprintf(stderr, "%s\n", error.c_str());
            return 1;
        }
        uint8_t hit[4] = {203, 0, 113, 7};
        bench("GeoIp lookup (test mmdb, hit)", [&](int) {
            lb::GeoLocation where;
            g_sink += db.lookup(4, hit, where) ? where.prefix : 0;
        });
        lb::GeoRules plain = geo_rules;
        plain.nets = lb::GeoMap();
        bench("geo resolve_region with GeoIp (country hit)", [&](int) {
            lb::ClientNet c;
            c.prefix = 24;
            std::memcpy(c.address, hit, 4);
            g_sink += lb::resolve_region(plain, c, &db).region;
        });
    }
    std::printf("(sink %llu)\n", static_cast<unsigned long long>(g_sink));
}
