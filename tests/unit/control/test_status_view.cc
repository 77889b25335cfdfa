// GET /status for the status page: the query string (zone, pool, state, since), pool states
// from the answer path's own health data, the revisions ?since= patches from, the answer
// history sampled every 10 s, and the documents, including the size of a 10 000-member
// refresh.
#include <doctest/doctest.h>

#include <set>

#include "probed_zone.h"
#include "steerdns/control/answer_history.h"
#include "steerdns/control/routes.h"
#include "steerdns/control/status_json.h"
#include "steerdns/control/status_query.h"
#include "steerdns/control/status_revisions.h"
#include "steerdns/control/status_view.h"
#include "steerdns/health/registry.h"
#include "steerdns/zone/compile.h"
#include "steerdns/zone/zone_spec.h"

using namespace steerdns;
using control::StatusQuery;
using json = nlohmann::ordered_json;

namespace {

StatusQuery query(const std::string& text) {
    StatusQuery q;
    std::string error;
    REQUIRE_MESSAGE(control::parse_status_query(text, q, error), error);
    return q;
}

std::string query_error(const std::string& text) {
    StatusQuery q;
    std::string error;
    CHECK_FALSE(control::parse_status_query(text, q, error));
    return error;
}

// A zone compiled with probes, so pool states come from a real HealthTable.
struct Compiled : test::ProbedZone {
    using test::ProbedZone::ProbedZone;
    std::string state(const std::string& name) const {
        return control::pool_state(pool(name), snap->health());
    }
};

constexpr const char* kPools = R"({
  "zone": "lb.example.test.", "ttl": 300, "soa": {"mname": "ns1", "rname": "h", "serial": 1},
  "ns": ["ns1.example."],
  "checks": {"web": {"type": "tcp", "port": 80}},
  "pools": {
    "open": {"check": "web", "members": [{"address": "192.0.2.1"}, {"address": "192.0.2.2"}]},
    "none": {"check": "web", "fallback": "none", "members": [{"address": "192.0.2.3"}]},
    "chain": {"check": "web", "fallback": "open", "members": [{"address": "192.0.2.4"}]},
    "mixed": {"check": "web", "ttl": 5, "ttl_degraded": 2, "members": [{"address": "192.0.2.5"},
                                                      {"address": "2001:db8::5"}]},
    "drained": {"members": [{"address": "192.0.2.6", "enabled": false}]}
  }
})";

// A model of `zones` zones x `pools` pools x `members` members, as build_status makes them.
control::StatusModel synthetic(int zones, int pools, int members, int64_t now = 1795796060000) {
    control::StatusModel model;
    model.version = "9.9.9";
    model.now_unix_ms = now;
    model.started_unix_ms = now - 3600000;
    for (int z = 0; z < zones; ++z) {
        control::ZoneStatus zs;
        zs.zone = "z" + std::to_string(z) + ".example.test.";
        zs.file = "zones/" + zs.zone + "json";
        zs.serial = 1;
        zs.loaded_unix_ms = now - 3600000;
        for (int p = 0; p < pools; ++p) {
            control::PoolStatus ps;
            ps.name = "pool" + std::to_string(p);
            ps.policy = "round-robin";
            ps.ttl = 30;
            ps.fallback = "all";
            ps.state = "ok";
            for (int m = 0; m < members; ++m) {
                const int i = (z * pools + p) * members + m;
                control::MemberStatus ms;
                ms.address = "10." + std::to_string(i / 65536) + "." +
                             std::to_string((i / 256) % 256) + "." + std::to_string(i % 256);
                ms.state = "up";
                ms.since_unix_ms = now - 3600000;
                ms.check = "tcp";
                ms.health = "up";
                ms.last_ok = true;
                ms.last_reason = "tcp connect: ok";
                ms.last_probe_unix_ms = now - 1000;
                ms.latency_seconds = 0.000412345;
                ps.members.push_back(ms);
            }
            ps.up = static_cast<uint32_t>(members);
            zs.pools.push_back(std::move(ps));
        }
        model.zones.push_back(std::move(zs));
    }
    return model;
}

json view(const control::StatusModel& m, const control::StatusRevisions& r,
          const control::AnswerHistory& h, const std::string& q) {
    return control::status_view(m, r, h, query(q));
}

std::vector<std::string> addresses(const json& doc) {
    std::vector<std::string> out;
    for (const auto& z : doc["zones"])
        for (const auto& p : z.value("pools", json::array()))
            for (const auto& m : p.value("members", json::array()))
                out.push_back(m["address"].get<std::string>());
    return out;
}

}  // namespace

TEST_CASE("status query: parameters, decoding and errors") {
    CHECK_FALSE(query("").since);
    CHECK_FALSE(query("").filtered());
    StatusQuery q = query("zone=LB.Example.Test&pool=WWW&state=down&since=17");
    CHECK(q.zone == "lb.example.test.");
    CHECK(q.pool == "www");
    CHECK(q.state == "down");
    CHECK(q.since == uint64_t{17});
    CHECK(query("zone=lb%2Eexample.test.&&").zone == "lb.example.test.");
    CHECK(query("pool=a+b").pool == "a b");
    CHECK(query("since=0").since == uint64_t{0});
    CHECK(query_error("bogus=1").find("unknown parameter \"bogus\"") == 0);
    CHECK(query_error("bogus=1").find("state=up|down|suppressed|draining|drained") !=
          std::string::npos);
    CHECK(query_error("zone=a&zone=b") == "parameter \"zone\" given twice");
    CHECK(query_error("state=sideways") ==
          "state=sideways: expected up, down, suppressed, pending, standby, draining or drained");
    CHECK(query_error("since=-1").find("since=-1: expected a revision") == 0);
    CHECK(query_error("since=12x").find("expected a revision") != std::string::npos);
    CHECK(query_error("zone=").find("needs a value") != std::string::npos);
    CHECK(query_error("zone=%4").find("percent-encoding") != std::string::npos);
}

TEST_CASE("pool state: ok, degraded, failing open, empty, from the answer path's health") {
    Compiled c(kPools);
    CHECK(c.state("open") == "ok");  // no result yet: unknown counts as up, as in answers
    c.set("open", 0, health::State::down);
    CHECK(c.state("open") == "degraded");
    c.set("open", 1, health::State::down);
    CHECK(c.state("open") == "failing open");  // fallback "all" answers the down members
    c.set("none", 0, health::State::down);
    CHECK(c.state("none") == "empty");  // fallback "none": NODATA
    c.set("chain", 0, health::State::down);
    CHECK(c.state("chain") == "empty");    // another pool answers
    CHECK(c.state("drained") == "empty");  // no enabled member
    // Families apart: IPv6 up, IPv4 none up: A queries fail open.
    c.set("mixed", 0, health::State::down);
    CHECK(c.state("mixed") == "failing open");
    c.set("mixed", 0, health::State::up);
    CHECK(c.state("mixed") == "ok");
    CHECK(control::pool_state(c.pool("open"), nullptr) == "ok");  // no health table: all up

    // And in the model: fallback, its pool, TTL, counts.
    control::StatusInputs in;
    in.snapshot = c.snap.get();
    const control::StatusModel model = control::build_status(in);
    std::map<std::string, const control::PoolStatus*> pools;
    for (const auto& p : model.zones.at(0).pools) pools[p.name] = &p;
    CHECK(pools["chain"]->state == "empty");
    CHECK(pools["chain"]->fallback == "pool");
    CHECK(pools["chain"]->fallback_pool == "open");
    CHECK(pools["open"]->fallback == "all");
    CHECK(pools["mixed"]->ttl == 5);
    CHECK(pools["mixed"]->ttl_degraded == uint32_t{2});
    CHECK_FALSE(pools["open"]->ttl_degraded);  // none set: off
    CHECK(pools["open"]->down == 2);
    CHECK(pools["drained"]->drained == 1);
    const json doc = control::status_json(model);
    const json& chain = doc["zones"][0]["pools"][2];
    CHECK(chain["name"] == "chain");
    CHECK(chain["state"] == "empty");
    CHECK(chain["fallback_pool"] == "open");
    CHECK(chain["answers_last_minute"].is_null());  // nothing sampled
    CHECK(chain["ttl_degraded"].is_null());
    CHECK(doc["zones"][0]["pools"][3]["ttl_degraded"] == 2);
}

TEST_CASE("answer history: per-member differences every sample, in a ring of 60") {
    Compiled c(kPools);
    control::ResponseTotals totals;
    const auto member = [&](const std::string& pool, const std::string& address) -> uint64_t& {
        return totals.members[{"lb.example.test.", pool, address}];
    };
    member("open", "192.0.2.1") = 7;  // answered before the first sample
    control::AnswerHistory h;
    h.sample(*c.snap, totals, 100);
    const control::AnswerHistory::Pool* open = h.pool("lb.example.test.", "open");
    REQUIRE(open != nullptr);
    CHECK(open->addresses == std::vector<std::string>{"192.0.2.1", "192.0.2.2"});
    CHECK(control::AnswerHistory::count(*open, 0, 0) == 7);  // the first sample counts it all
    member("open", "192.0.2.1") = 10;
    member("open", "192.0.2.2") = 4;
    h.sample(*c.snap, totals, 101);
    open = h.pool("lb.example.test.", "open");
    CHECK(control::AnswerHistory::count(*open, 0, 1) == 3);
    CHECK(control::AnswerHistory::count(*open, 1, 1) == 4);
    CHECK(h.last_minute(*open, 0) == 10);
    CHECK(h.revision_of(1) == 101);
    // 70 samples later only 60 are kept, and the last minute is the last 6 of them.
    for (uint64_t n = 2; n < 72; ++n) {
        member("open", "192.0.2.1") += n;
        h.sample(*c.snap, totals, 100 + n);
    }
    open = h.pool("lb.example.test.", "open");
    CHECK(h.samples() == 72);
    CHECK(h.first_kept() == 12);
    CHECK(control::AnswerHistory::count(*open, 0, 71) == 71);
    CHECK(control::AnswerHistory::count(*open, 0, 12) == 12);
    CHECK(h.last_minute(*open, 0) == 66 + 67 + 68 + 69 + 70 + 71);
    CHECK(h.last_minute(*open, 1) == 0);
    // A member new to a pool after the first sample starts from its total: no spike.
    Compiled more(
        std::string(kPools).replace(std::string(kPools).find("{\"address\": \"192.0.2.2\"}"), 24,
                                    "{\"address\": \"192.0.2.2\"}, {\"address\": \"192.0.2.9\"}"));
    member("open", "192.0.2.9") = 1000;
    member("open", "192.0.2.1") += 5;
    h.sample(*more.snap, totals, 200);
    open = h.pool("lb.example.test.", "open");
    REQUIRE(open->addresses.size() == 3);
    CHECK(control::AnswerHistory::count(*open, 0, 72) == 5);
    CHECK(control::AnswerHistory::count(*open, 2, 72) == 0);
    CHECK(control::AnswerHistory::count(*open, 0, 71) == 71);  // the ring moved with it
    CHECK(control::AnswerHistory::align(*open, {"192.0.2.9", "192.0.2.77", "192.0.2.1"}) ==
          std::vector<int32_t>{2, -1, 0});
}

TEST_CASE("answer history: 16-bit samples, scaled past 65 535 and exact again after") {
    control::AnswerHistory::Ring r;
    r.put(0, 7);
    r.put(1, 65534);
    CHECK(r.get(0) == 7);
    CHECK(r.get(1) == 65534);
    r.put(2, 1000000);  // 16 answers a unit now: every sample rounded to the nearest
    CHECK(r.get(2) == 1000000);
    CHECK(r.get(1) == 65536);
    CHECK(r.get(0) == 16);  // a member that answered is never shown at 0
    r.put(3, 0);
    CHECK(r.get(3) == 0);
    r.put(4, 4294967295u);  // the largest: 16 bits of it
    CHECK(r.get(4) == 4294901760u);
    CHECK(r.get(2) == 983040);  // 1000000 to within 1 part in 65 536 of the largest
    // Once the large samples are replaced, the range shrinks back.
    r.put(1, 0);
    r.put(2, 0);
    r.put(4, 3);
    CHECK(r.get(0) == 65536);  // rounded while the range was large: stays as it was kept
    CHECK(r.get(4) == 4);      // 2 answers a unit while that one is kept
    r.put(0, 5);
    CHECK(r.get(0) == 5);  // no large sample left: exact again
    r.put(4, 3);
    CHECK(r.get(4) == 3);
}

TEST_CASE("status revisions: changes, probe refreshes, structure") {
    control::StatusModel m = synthetic(1, 2, 3);
    control::StatusRevisions r(1000);
    CHECK_FALSE(r.can_patch(1000));  // nothing observed yet
    r.observe(m);
    const uint64_t first = r.current();
    CHECK(first == 1001);
    CHECK(r.structure() == first);
    CHECK(r.can_patch(first));
    CHECK_FALSE(r.can_patch(0));
    CHECK_FALSE(r.can_patch(first + 1));  // from the future (another run of the daemon)
    r.observe(m);
    CHECK(r.current() == first);  // nothing changed, no new revision

    // One member goes down: it and its pool are news, nothing else.
    m.zones[0].pools[1].members[2].state = "down";
    m.zones[0].pools[1].state = "degraded";
    r.observe(m);
    CHECK(r.current() == first + 1);
    CHECK(r.member(0, 1, 2) == first + 1);
    CHECK(r.member(0, 1, 1) == first);
    CHECK(r.pool(0, 1) == first + 1);
    CHECK(r.pool(0, 0) == first);
    CHECK(r.zone(0) == first);

    // Probe times move on every probe: a member's are news once per refresh period, spread.
    std::set<uint64_t> refreshed_at;
    for (int64_t t = 1000; t <= control::kProbeRefreshMs; t += 1000) {
        m.now_unix_ms = 1795796060000 + t;
        for (auto& p : m.zones[0].pools)
            for (auto& mm : p.members) mm.last_probe_unix_ms = m.now_unix_ms - 500;
        const uint64_t before = r.current();
        r.observe(m);
        for (size_t p = 0; p < 2; ++p)
            for (size_t i = 0; i < 3; ++i)
                if (r.probe(0, p, i) > before) refreshed_at.insert(r.probe(0, p, i));
    }
    // Within one period each member is refreshed at most once (phases differ, so not all at
    // once), and the member revisions did not move.
    size_t refreshes = 0;
    for (size_t p = 0; p < 2; ++p)
        for (size_t i = 0; i < 3; ++i) refreshes += r.probe(0, p, i) > first + 1 ? 1 : 0;
    CHECK(refreshes == 6);
    CHECK(refreshed_at.size() > 1);
    CHECK(r.member(0, 0, 0) == first);

    // A member added: the structure changed, older revisions can no longer be patched.
    const uint64_t before = r.current();
    m.zones[0].pools[0].members.push_back(m.zones[0].pools[0].members[0]);
    m.zones[0].pools[0].members.back().address = "10.9.9.9";
    r.observe(m);
    CHECK(r.structure() == before + 1);
    CHECK_FALSE(r.can_patch(before));
    CHECK(r.can_patch(before + 1));

    // Rejected files are news too.
    m.rejected.push_back({"zones/bad.json", "", {"zones/bad.json:1:1: syntax error"}});
    r.observe(m);
    CHECK(r.rejected() == r.current());
}

TEST_CASE("status view: filters, full and partial documents, answer columns") {
    control::StatusModel m = synthetic(2, 2, 3);
    m.zones[1].pools[0].members[1].state = "down";
    m.zones[1].pools[1].members[0].state = "drained";
    control::StatusRevisions r(5000);
    r.observe(m);
    control::AnswerHistory h;

    // Plain /status: everything, with the revision, and no answer series.
    json doc = view(m, r, h, "");
    CHECK(doc["revision"] == r.current());
    CHECK_FALSE(doc.contains("full"));
    CHECK(addresses(doc).size() == 12);
    CHECK_FALSE(doc["zones"][0]["pools"][0].contains("answers"));
    CHECK(doc["zones"][0]["pools"][0]["members"][0].contains("answers_last_minute"));

    // Filters.
    doc = view(m, r, h, "zone=Z1.example.test");
    REQUIRE(doc["zones"].size() == 1);
    CHECK(doc["zones"][0]["zone"] == "z1.example.test.");
    CHECK(addresses(doc).size() == 6);
    doc = view(m, r, h, "pool=pool1");
    CHECK(doc["zones"].size() == 2);
    CHECK(doc["zones"][0]["pools"].size() == 1);
    CHECK(addresses(doc).size() == 6);
    doc = view(m, r, h, "state=down");
    CHECK(addresses(doc) == std::vector<std::string>{"10.0.0.7"});
    CHECK(doc["zones"].size() == 1);  // zones and pools without such a member are left out
    doc = view(m, r, h, "zone=z0.example.test.&state=drained");
    CHECK(doc["zones"].empty());
    CHECK(control::unknown_selection(m, query("zone=nope.")) ==
          "zone nope. not found (zones served: z0.example.test., z1.example.test.)");
    CHECK(control::unknown_selection(m, query("zone=z0.example.test.&pool=www")) ==
          "pool \"www\" not found in zone z0.example.test.");
    CHECK(control::unknown_selection(m, query("pool=www")) == "pool \"www\" not found in any zone");
    CHECK_FALSE(control::unknown_selection(m, query("pool=POOL1&state=drained")));

    // since=0: everything, flagged full, compact series columns (none sampled yet).
    doc = view(m, r, h, "since=0");
    CHECK(doc["full"] == true);
    CHECK(doc["sample_interval_seconds"] == 10);
    CHECK(doc["zones"][0]["pools"][0]["answers"] == json::array());

    // Nothing changed: nothing but the head.
    const uint64_t rev = r.current();
    doc = view(m, r, h, "since=" + std::to_string(rev));
    CHECK(doc["full"] == false);
    CHECK(doc["zones"].empty());
    CHECK(doc["rejected_files"].empty());

    // One member changes, one probe time moves, and a sample is taken.
    m.zones[0].pools[1].members[2].state = "down";
    m.zones[0].pools[1].members[2].last_reason = "tcp connect: connection refused";
    m.zones[0].pools[1].state = "degraded";
    m.now_unix_ms += 3 * control::kProbeRefreshMs;  // every member's refresh is due
    m.zones[1].pools[0].members[0].last_probe_unix_ms = m.now_unix_ms - 200;
    m.zones[1].pools[0].members[0].latency_seconds = 0.0012345678;
    r.observe(m);
    Compiled c(kPools);  // a zone the sample does not know: columns of 0 for the model's
    h.sample(*c.snap, control::ResponseTotals{}, r.bump());
    doc = view(m, r, h, "since=" + std::to_string(rev));
    CHECK(doc["full"] == false);
    CHECK(doc["revision"] == r.current());
    REQUIRE(doc["zones"].size() == 2);
    const json& z0 = doc["zones"][0];
    CHECK_FALSE(z0.contains("serial"));  // the zone itself did not change
    REQUIRE(z0["pools"].size() == 2);
    CHECK_FALSE(z0["pools"][0].contains("state"));
    CHECK_FALSE(z0["pools"][0].contains("members"));
    CHECK(z0["pools"][0]["answers"] == json::parse("[[0,0,0]]"));
    const json& changed = z0["pools"][1];
    CHECK(changed["state"] == "degraded");
    REQUIRE(changed["members"].size() == 1);
    CHECK(changed["members"][0]["address"] == "10.0.0.5");
    CHECK(changed["members"][0]["reason"] == "tcp connect: connection refused");
    const json& probes = doc["zones"][1]["pools"][0]["probes"];
    CHECK(probes["10.0.0.6"] == json::parse(R"(["2026-11-27T16:15:49Z", 0.001235])"));
    // A state filter lists every changed member (one leaving the state is news) and no columns.
    doc = view(m, r, h, "since=" + std::to_string(rev) + "&state=up");
    CHECK(addresses(doc) == std::vector<std::string>{"10.0.0.5"});
    CHECK_FALSE(doc["zones"][0]["pools"][0].contains("answers"));
    // A revision from before a structure change, or from another run: everything again.
    CHECK(view(m, r, h, "since=4999")["full"] == true);
    CHECK(view(m, r, h, "since=" + std::to_string(r.current() + 1))["full"] == true);
}

TEST_CASE("status view: a 10 000-member refresh stays under 100 KB") {
    // 40 pools of 250 members, every member probed every 2 s, polled every 2 s for 1 min with
    // a sample every 10 s: the largest patch, with answer counts of up to 5 digits.
    control::StatusModel m = synthetic(1, 40, 250);
    control::StatusRevisions r(1);
    r.observe(m);
    Compiled c(kPools);
    control::AnswerHistory h;
    const size_t full = view(m, r, h, "since=0").dump().size();
    uint64_t since = r.current();
    size_t largest = 0;
    for (int poll = 1; poll <= 30; ++poll) {
        m.now_unix_ms += 2000;
        for (auto& p : m.zones[0].pools)
            for (auto& mm : p.members) mm.last_probe_unix_ms = m.now_unix_ms - 700;
        r.observe(m);
        if (poll % 5 == 0) h.sample(*c.snap, control::ResponseTotals{}, r.bump());
        json doc = view(m, r, h, "since=" + std::to_string(since));
        REQUIRE(doc["full"] == false);
        // Answer columns as busy members would have them (the sample above knows no member
        // of this synthetic zone, so fill them in): 5 digits each.
        for (auto& p : doc["zones"][0]["pools"])
            if (p.contains("answers"))
                for (auto& col : p["answers"])
                    for (auto& v : col) v = 12345;
        largest = std::max(largest, doc.dump().size());
        since = doc["revision"].get<uint64_t>();
    }
    MESSAGE("10 000 members: full ", full, " bytes, largest patch ", largest, " bytes");
    CHECK(full > 2000000);
    CHECK(largest < 100000);
    CHECK(largest > 10000);  // the probe refreshes and the columns are in it
}

namespace {

struct QueryBackend : control::Backend {
    std::vector<StatusQuery> seen;
    std::string metrics() override { return ""; }
    control::HttpResponse why(const control::WhyQuery&) override { return {}; }
    control::HttpResponse events() override { return {}; }
    control::HttpResponse status(const StatusQuery& q) override {
        seen.push_back(q);
        control::HttpResponse r;
        r.body = "{}";
        return r;
    }
    void drain(const zone::DrainKey&, bool, control::Reply reply) override {
        reply(control::json_error(500, "no"));
    }
    void failback(const zone::DrainKey&, control::Reply reply) override {
        reply(control::json_error(500, "no"));
    }
    void reload(control::Reply reply) override { reply(control::json_error(500, "no")); }
};

}  // namespace

TEST_CASE("routes: /status passes its query string on, or answers 400") {
    QueryBackend b;
    control::Routes routes(b, control::AuthConfig{std::string("t")});
    const auto get = [&](const std::string& query) {
        control::HttpRequest req;
        req.method = control::Method::get;
        req.method_text = "GET";
        req.path = "/status";
        req.query = query;
        control::HttpResponse out;
        routes.handle(req, [&](control::HttpResponse r) { out = std::move(r); });
        return out;
    };
    CHECK(get("zone=lb.example.test&since=5").status == 200);
    REQUIRE(b.seen.size() == 1);
    CHECK(b.seen[0].zone == "lb.example.test.");
    CHECK(b.seen[0].since == uint64_t{5});
    const control::HttpResponse bad = get("state=broken");
    CHECK(bad.status == 400);
    CHECK(bad.body.find("expected up, down, suppressed, pending, standby, draining or drained") !=
          std::string::npos);
    CHECK(b.seen.size() == 1);
}
