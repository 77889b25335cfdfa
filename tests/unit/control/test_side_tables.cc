// The control thread's per-member side tables kept by position across reloads: response
// totals (carried to /metrics and the answer history) and when each member's file state
// began. A member that stays keeps its numbers wherever it moves in its pool; one removed is
// kept by name and gets them back when it returns; the string-keyed maps stay empty while
// every member stays.
#include <doctest/doctest.h>

#include "probed_zone.h"
#include "steerdns/control/member_since.h"
#include "steerdns/control/response_totals.h"

using namespace steerdns;

namespace {

std::string zone_json(const std::string& www, const std::string& extra_pool) {
    return R"({"zone": "lb.example.test.", "ttl": 300,
  "soa": {"mname": "ns1", "rname": "h", "serial": 1}, "ns": ["ns1.example."],
  "pools": {"www": {"members": [)" +
           www + "]}" + extra_pool + "}}";
}

size_t pool_at(const zone::Zone& z, const std::string& name) {
    for (size_t i = 0; i < z.pools.size(); ++i)
        if (z.pools[i].name == name) return i;
    FAIL("no pool " << name);
    return 0;
}

size_t member_at(const lb::Pool& p, const std::string& address) {
    for (size_t i = 0; i < p.members.size(); ++i)
        if (p.members[i].address_text == address) return i;
    FAIL("no member " << address);
    return 0;
}

// Counts `n` answers for a member (and `n` responses for its pool) in worker row 0.
void answer(const test::ProbedZone& z, const std::string& pool, const std::string& address,
            uint64_t n) {
    const size_t pi = pool_at(*z.zone, pool);
    const size_t mi = member_at(z.zone->pools[pi], address);
    std::atomic<uint64_t>* c = z.snap->pool_counters(0, 0, pi);
    REQUIRE(c != nullptr);
    for (uint64_t i = 0; i < n; ++i) {
        count_one(c[Snapshot::kPoolResponses]);
        count_one(c[Snapshot::kPoolMembers + mi]);
    }
}

uint64_t total(const control::ResponseTotals& t, const test::ProbedZone& z, const std::string& pool,
               const std::string& address) {
    const size_t pi = pool_at(*z.zone, pool);
    return t.member(*z.zone, pi, member_at(z.zone->pools[pi], address));
}

constexpr const char* kOld = R"(, "old": {"members": [{"address": "192.0.2.9"}]})";

}  // namespace

TEST_CASE("response totals: by position across reloads, by name for members that left") {
    test::ProbedZone v1(zone_json(
        R"({"address": "192.0.2.1"}, {"address": "192.0.2.2"}, {"address": "192.0.2.3"})", kOld));
    control::ResponseTotals carried;
    carried.align(*v1.snap);  // published
    answer(v1, "www", "192.0.2.1", 5);
    answer(v1, "www", "192.0.2.2", 3);
    answer(v1, "old", "192.0.2.9", 2);
    // A reload that changes nothing: the counts stay by position, no string-keyed entry.
    test::ProbedZone same(zone_json(
        R"({"address": "192.0.2.1"}, {"address": "192.0.2.2"}, {"address": "192.0.2.3"})", kOld));
    carried.align(*same.snap);
    carried.add(*v1.snap);  // v1 retired
    CHECK(carried.members.empty());
    CHECK(carried.pools.empty());
    CHECK(total(carried, same, "www", "192.0.2.1") == 5);
    CHECK(total(carried, same, "old", "192.0.2.9") == 2);
    answer(same, "www", "192.0.2.1", 1);

    // Reordered, .2 and the pool "old" removed, .4 added.
    test::ProbedZone v2(zone_json(
        R"({"address": "192.0.2.3"}, {"address": "192.0.2.1"}, {"address": "192.0.2.4"})", ""));
    carried.align(*v2.snap);
    carried.add(*same.snap);  // retired after the publish: its counts follow by name
    CHECK(carried.layout.size() == 1);
    CHECK(carried.layout[0] == v2.zone);
    CHECK(total(carried, v2, "www", "192.0.2.1") == 6);
    CHECK(total(carried, v2, "www", "192.0.2.3") == 0);
    CHECK(total(carried, v2, "www", "192.0.2.4") == 0);
    const size_t www = pool_at(*v2.zone, "www");
    CHECK(carried.counts[0][www][Snapshot::kPoolResponses] == 9);
    // What left is kept by name, as /metrics has always shown it.
    CHECK(carried.members.size() == 2);
    CHECK(carried.members.at({"lb.example.test.", "www", "192.0.2.2"}) == 3);
    CHECK(carried.members.at({"lb.example.test.", "old", "192.0.2.9"}) == 2);
    CHECK(carried.pools.at({"lb.example.test.", "old"})[0] == 2);

    // Live counts add on top, as Server::response_totals() does for /metrics.
    answer(v2, "www", "192.0.2.4", 7);
    control::ResponseTotals now = carried;
    now.add(*v2.snap);
    CHECK(total(now, v2, "www", "192.0.2.4") == 7);
    CHECK(total(now, v2, "www", "192.0.2.1") == 6);

    // .2 and "old" come back: their counts return to their places.
    test::ProbedZone v3(zone_json(R"({"address": "192.0.2.2"}, {"address": "192.0.2.1"})", kOld));
    carried.align(*v3.snap);
    carried.add(*v2.snap);
    CHECK(carried.pools.empty());
    CHECK(carried.members.count({"lb.example.test.", "www", "192.0.2.2"}) == 0);
    CHECK(carried.members.count({"lb.example.test.", "old", "192.0.2.9"}) == 0);
    // .3 and .4 left in turn.
    CHECK(carried.members.size() == 2);
    CHECK(carried.members.at({"lb.example.test.", "www", "192.0.2.4"}) == 7);
    CHECK(total(carried, v3, "www", "192.0.2.2") == 3);
    CHECK(total(carried, v3, "www", "192.0.2.1") == 6);
    CHECK(total(carried, v3, "old", "192.0.2.9") == 2);
    CHECK(carried.counts[0][pool_at(*v3.zone, "www")][Snapshot::kPoolResponses] == 16);
    // A zone not in the layout is looked up by name.
    CHECK(total(carried, v2, "www", "192.0.2.1") == 0);  // v2's www is by position in v3 only
}

TEST_CASE("response totals: IPv6 members follow their canonical address") {
    test::ProbedZone v1(zone_json(R"({"address": "2001:DB8::1"}, {"address": "192.0.2.1"})", ""));
    control::ResponseTotals carried;
    carried.align(*v1.snap);
    answer(v1, "www", "2001:DB8::1", 4);
    test::ProbedZone v2(zone_json(R"({"address": "192.0.2.1"}, {"address": "2001:db8:0::1"})", ""));
    carried.align(*v2.snap);
    carried.add(*v1.snap);
    CHECK(carried.members.empty());
    CHECK(total(carried, v2, "www", "2001:db8:0::1") == 4);
}

TEST_CASE("member since: kept while a member stays as the file has it, reset otherwise") {
    test::ProbedZone v1(zone_json(
        R"({"address": "192.0.2.1"}, {"address": "192.0.2.2"}, {"address": "192.0.2.3"})", ""));
    control::MemberSinceTable since;
    since.update(*v1.snap, 1000);
    const size_t www1 = pool_at(*v1.zone, "www");
    CHECK(since.since(*v1.zone, www1, member_at(v1.zone->pools[www1], "192.0.2.2")) == 1000);
    // .1 moves, .2 is disabled in the file, .3 leaves, .4 arrives.
    test::ProbedZone v2(zone_json(R"({"address": "192.0.2.4"}, {"address": "192.0.2.2",
        "enabled": false}, {"address": "192.0.2.1"})",
                                  ""));
    since.update(*v2.snap, 2000);
    const size_t www = pool_at(*v2.zone, "www");
    const lb::Pool& p = v2.zone->pools[www];
    CHECK(since.since(*v2.zone, www, member_at(p, "192.0.2.1")) == 1000);
    CHECK(since.since(*v2.zone, www, member_at(p, "192.0.2.2")) == 2000);
    CHECK(since.since(*v2.zone, www, member_at(p, "192.0.2.4")) == 2000);
    CHECK_FALSE(since.since(*v1.zone, www1, 0).has_value());  // not a zone served
    // .3 returns: it was forgotten, so its time starts again.
    test::ProbedZone v3(zone_json(R"({"address": "192.0.2.3"}, {"address": "192.0.2.1"})", ""));
    since.update(*v3.snap, 3000);
    const size_t www3 = pool_at(*v3.zone, "www");
    CHECK(since.since(*v3.zone, www3, member_at(v3.zone->pools[www3], "192.0.2.3")) == 3000);
    CHECK(since.since(*v3.zone, www3, member_at(v3.zone->pools[www3], "192.0.2.1")) == 1000);
}
