// The control endpoint's state and documents: drained members (keys, the state file and its
// atomic write, zones recompiled with members drained, even while their file is broken),
// response counters per worker row and their totals, /status, /metrics, the routes and the
// `steerdns status` table.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "helpers.h"
#include "steerdns/cli/status.h"
#include "steerdns/control/drain_state.h"
#include "steerdns/control/metrics.h"
#include "steerdns/control/response_totals.h"
#include "steerdns/control/routes.h"
#include "steerdns/control/status_json.h"
#include "steerdns/health/registry.h"
#include "steerdns/server/stats.h"
#include "steerdns/server/zone_dir.h"
#include "steerdns/zone/file_hash.h"

using namespace steerdns;
using namespace steerdns::test;
using zone::DrainKey;
using zone::DrainSet;

namespace {

namespace fs = std::filesystem;

DrainKey key(const std::string& zone, const std::string& pool, const std::string& address) {
    std::string error;
    DrainKey k;
    REQUIRE_MESSAGE(zone::make_drain_key(zone, pool, address, k, error), error);
    return k;
}

std::set<std::string> answered(const Snapshot& snap, const std::string& name, int times = 8) {
    std::set<std::string> out;
    for (int i = 0; i < times; ++i) {
        const Answered a = ask(snap, make_query(name, LDNS_RR_TYPE_A));
        for (const std::string& r : rdatas(ldns_pkt_answer(a.pkt.get()))) out.insert(r);
    }
    return out;
}

const lb::Member& member(const zone::Zone& z, const std::string& pool, const std::string& address) {
    for (const lb::Pool& p : z.pools)
        if (p.name == pool)
            for (const lb::Member& m : p.members)
                if (m.address_text == address) return m;
    FAIL("no member " << address);
    throw 0;
}

std::shared_ptr<const DrainSet> drains(std::initializer_list<DrainKey> keys) {
    auto s = std::make_shared<DrainSet>();
    for (const DrainKey& k : keys) s->add(k, 1795000000000);
    return s;
}

}  // namespace

TEST_CASE("drain keys are normalised") {
    CHECK(key("LB.Example.Test", "WWW", "192.0.2.11") ==
          key("lb.example.test.", "www", "192.0.2.11"));
    CHECK(key("x.", "p", "2001:DB8:0::0:10").address == "2001:db8::10");
    std::string error;
    DrainKey k;
    CHECK_FALSE(zone::make_drain_key("x.", "p", "192.0.2.300", k, error));
    CHECK(error == "\"192.0.2.300\" is not an IPv4 or IPv6 address");
    CHECK_FALSE(zone::make_drain_key("", "p", "192.0.2.1", k, error));
    CHECK_FALSE(zone::make_drain_key("x.", "", "192.0.2.1", k, error));
}

TEST_CASE("drain request body: a normalised key, or what is wrong with the body") {
    DrainKey k;
    std::string error;
    REQUIRE(control::parse_drain_body(
        R"({"zone": "LB.example.test", "pool": "WWW", "address": "2001:DB8::0:10"})", k, error));
    CHECK(k == key("lb.example.test.", "www", "2001:db8::10"));

    const std::string example =
        R"( (expected {"zone": "lb.example.test.", "pool": "www", "address": "192.0.2.11"}))";
    const auto problem = [&](std::string_view body) {
        std::string why;
        DrainKey out;
        CHECK_FALSE(control::parse_drain_body(body, out, why));
        return why;
    };
    CHECK(problem("[1]") == "request body must be a JSON object" + example);
    CHECK(problem(R"({"zone": "x.", "pool": "p", "address": "192.0.2.1", "ttl": 1})") ==
          R"(unknown key "ttl")" + example);
    CHECK(problem(R"({"zone": "x.", "address": "192.0.2.1"})") == R"(missing "pool")" + example);
    CHECK(problem(R"({"zone": "x.", "pool": 1, "address": "192.0.2.1"})") ==
          R"("pool" must be a string)");
    CHECK(problem(R"({"zone": "x.", "pool": "p", "address": "192.0.2.300"})") ==
          R"("192.0.2.300" is not an IPv4 or IPv6 address)");
    CHECK(problem("{").rfind("request body is not JSON: ", 0) == 0);
    // In words, without nlohmann's "[json.exception.parse_error.101] ..." (issue 13, item 7).
    CHECK(problem(R"({"zone": "x.", "pool": "p", "address": "192.0.2.1",})") ==
          R"(request body is not JSON: line 1:51: trailing comma before "}")" + example);
    CHECK(problem("{\"zone\": \"x.\" // lb\n}") ==
          "request body is not JSON: line 1:15: comments are not allowed in JSON" + example);
}

TEST_CASE("drain state file: round trip, errors, atomic write") {
    TempDir dir;
    const std::string path = control::state_file_path(dir.path.string());
    CHECK(path == dir.file(".steerdns-state.json"));
    // Beside a single zone file too.
    dir.write("one.json", "{}");
    CHECK(control::state_file_path(dir.file("one.json")) == path);

    DrainSet set;
    std::string error;
    CHECK(control::load_drain_state(path, set, error));  // missing: nothing drained
    CHECK(set.size() == 0);

    set.add(key("lb.example.test.", "www", "192.0.2.11"), 1795796056000);
    set.add(key("lb.example.test.", "api.eu", "2001:db8::10"), 1795796057000);
    REQUIRE(control::save_drain_state(path, set, error));
    CHECK_FALSE(fs::exists(path + ".tmp"));
    const std::string text = [&] {
        std::ifstream in(path);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }();
    CHECK(text.find("\"version\": 1") != std::string::npos);
    CHECK(text.find("\"since\": \"2026-11-27T") != std::string::npos);
    DrainSet back;
    REQUIRE(control::load_drain_state(path, back, error));
    CHECK(back == set);
    CHECK(back.since(key("lb.example.test.", "www", "192.0.2.11")) == 1795796056000);

    // A second save replaces the file whole; the old inode is never written into, so a reader
    // holding it open sees the old content complete.
    std::ifstream held(path);
    const auto inode_before = fs::status(path).type() == fs::file_type::regular ? [&] {
        struct stat st {};
        ::stat(path.c_str(), &st);
        return st.st_ino;
    }() : 0;
    set.remove(key("lb.example.test.", "www", "192.0.2.11"));
    REQUIRE(control::save_drain_state(path, set, error));
    struct stat st {};
    ::stat(path.c_str(), &st);
    CHECK(st.st_ino != inode_before);
    std::stringstream old;
    old << held.rdbuf();
    CHECK(old.str() == text);

    // A directory that cannot be written: an error, and the file as it was.
    if (geteuid() != 0) {  // root writes anywhere
        fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec);
        CHECK_FALSE(control::save_drain_state(path, back, error));
        CHECK(error.find(".tmp") != std::string::npos);
        fs::permissions(dir.path, fs::perms::owner_all);
    }
    // Invalid files are errors that name the file.
    dir.write(".steerdns-state.json", "{\"version\": 1, \"drained\": [{\"zone\": \"x.\"}]}");
    CHECK_FALSE(control::load_drain_state(path, back, error));
    CHECK(error.find(".steerdns-state.json: drained[0]: \"pool\" is empty") != std::string::npos);
    dir.write(".steerdns-state.json", "{ nope");
    CHECK_FALSE(control::load_drain_state(path, back, error));
    CHECK(error.find("json.exception") == std::string::npos);
    dir.write(".steerdns-state.json", "{\"version\": 1, \"drained\": [],\n}");
    CHECK_FALSE(control::load_drain_state(path, back, error));
    CHECK(error.find(R"(line 1:29: trailing comma before "}")") != std::string::npos);
    CHECK(error.find("json.exception") == std::string::npos);
    dir.write(".steerdns-state.json", "[]");
    CHECK_FALSE(control::load_drain_state(path, back, error));
    CHECK(error.find("not a steerdns state file") != std::string::npos);
}

TEST_CASE("zone dir: drained members leave answers, also while the file is broken") {
    TempDir dir;
    dir.write("lb.example.test.json", example_zone_json());
    dir.write(".steerdns-state.json", "{\"version\": 1, \"drained\": []}");  // hidden: not a zone
    server::ZoneDir zd(dir.path.string());
    server::ReloadReport r = zd.refresh();
    CHECK(r.loaded == 1);
    REQUIRE(zd.zones().size() == 1);
    CHECK(answered(Snapshot(zd.zones()), "www.lb.example.test") ==
          std::set<std::string>{"192.0.2.10", "192.0.2.11", "192.0.2.12"});

    // Drained: recompiled from the last good spec though the file did not change.
    zd.set_drains(drains({key("lb.example.test", "www", "192.0.2.11")}));
    r = zd.refresh();
    CHECK(r.changed);
    REQUIRE(r.files.size() == 1);
    CHECK(r.files[0].kind == server::FileOutcome::Kind::drain);
    CHECK(r.files[0].ok);
    CHECK_FALSE(member(*zd.zones()[0], "www", "192.0.2.11").enabled);
    CHECK(answered(Snapshot(zd.zones()), "www.lb.example.test") ==
          std::set<std::string>{"192.0.2.10", "192.0.2.12"});
    CHECK_FALSE(zd.refresh().changed);  // nothing new: nothing recompiled

    // The file breaks: its last good version serves on, and a new drain still applies to it.
    dir.write("lb.example.test.json", "{ \"zone\": ");
    r = zd.refresh(server::ZoneDir::Settle::no, true);
    CHECK(r.failed == 1);
    CHECK_FALSE(r.files.at(0).ok);
    CHECK(r.files.at(0).errors.at(0).find("lb.example.test.json:1:") != std::string::npos);
    zd.set_drains(drains({key("lb.example.test", "www", "192.0.2.11"),
                          key("lb.example.test", "www", "192.0.2.12")}));
    r = zd.refresh();
    CHECK(r.changed);
    CHECK(r.files.at(0).kind == server::FileOutcome::Kind::drain);
    CHECK(answered(Snapshot(zd.zones()), "www.lb.example.test") ==
          std::set<std::string>{"192.0.2.10"});

    // The file is fixed: the drains apply to the new version as it loads.
    dir.write("lb.example.test.json", example_zone_json());
    r = zd.refresh(server::ZoneDir::Settle::no, true);
    CHECK(r.loaded == 1);
    CHECK(answered(Snapshot(zd.zones()), "www.lb.example.test") ==
          std::set<std::string>{"192.0.2.10"});
    // Undrained: back in answers.
    zd.set_drains(drains({}));
    r = zd.refresh();
    CHECK(r.changed);
    CHECK(answered(Snapshot(zd.zones()), "www.lb.example.test") ==
          std::set<std::string>{"192.0.2.10", "192.0.2.11", "192.0.2.12"});
}

TEST_CASE("zone dir: a drain the zone cannot take is refused once, the zone unchanged") {
    TempDir dir;
    dir.write("w.test.json",
              R"({"zone": "w.test.", "soa": {"mname": "ns1", "rname": "h", "serial": 1},
      "ns": ["ns1.example."], "pools": {"w": {"policy": "weighted", "members": [
        {"address": "192.0.2.1", "weight": 5}, {"address": "192.0.2.2", "weight": 0}]}}})");
    server::ZoneDir zd(dir.path.string());
    zd.refresh();
    const zone::Zone* before = zd.zones().at(0).get();
    zd.set_drains(drains({key("w.test", "w", "192.0.2.1")}));
    server::ReloadReport r = zd.refresh();
    REQUIRE(r.files.size() == 1);
    CHECK_FALSE(r.files[0].ok);
    CHECK(r.files[0].errors.at(0).find("all weights are zero") != std::string::npos);
    CHECK(zd.zones().at(0).get() == before);
    CHECK(zd.refresh().files.empty());  // not tried again on every scan
}

TEST_CASE("response counters: each worker its own row, totals by name") {
    const zone::ZonePtr z = compile_json(example_zone_json());
    const Snapshot snap({z}, 1, nullptr, 2);
    CHECK(snap.counter_rows() == 2);
    AnswerContext ctx0;
    AnswerContext ctx1;
    ctx1.worker = 1;
    for (int i = 0; i < 3; ++i)
        ask(snap, make_query("www.lb.example.test", LDNS_RR_TYPE_A), Transport::udp, &ctx0);
    ask(snap, make_query("docs.lb.example.test", LDNS_RR_TYPE_A), Transport::udp,
        &ctx1);  // via CNAME
    ask(snap, make_query("www.lb.example.test", LDNS_RR_TYPE_AAAA), Transport::udp, &ctx1);
    ask(snap, make_query("static.lb.example.test", LDNS_RR_TYPE_A), Transport::udp,
        &ctx1);  // no pool
    CHECK(snap.pool_counters(0, 0, 0)[Snapshot::kPoolResponses] == 3);
    CHECK(snap.pool_counters(1, 0, 0)[Snapshot::kPoolResponses] == 2);
    CHECK(snap.pool_counter_total(0, 0, Snapshot::kPoolResponses) == 5);
    CHECK(snap.pool_counters(2, 0, 0) == nullptr);  // no such worker row
    // 4 A answers of 2 members each, 1 AAAA answer of 1.
    uint64_t members = 0;
    for (size_t m = 0; m < 4; ++m)
        members += snap.pool_counter_total(0, 0, Snapshot::kPoolMembers + m);
    CHECK(members == 9);
    CHECK(snap.pool_counter_total(0, 0, Snapshot::kPoolMembers + 3) == 1);  // 2001:db8::10

    control::ResponseTotals totals;
    totals.add(snap);
    totals.add(snap);  // a reload: the same pool in a new snapshot keeps counting on
    CHECK(totals.pools.at({"lb.example.test.", "www"})[0] == 10);
    CHECK(totals.members.at({"lb.example.test.", "www", "2001:db8::10"}) == 2);
    // Without rows (tests, `check`), nothing is counted and nothing breaks.
    const Snapshot bare({z});
    ask(bare, make_query("www.lb.example.test", LDNS_RR_TYPE_A));
    CHECK(bare.pool_counters(0, 0, 0) == nullptr);
}

namespace {

const char* kProbedZone = R"({
  "zone": "lb.example.test.",
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 42},
  "ns": ["ns1.example."],
  "checks": {"web": {"type": "http", "port": 8080}},
  "pools": {
    "www": {"check": "web", "ttl": 30, "members": [
      {"address": "192.0.2.10", "weight": 3, "priority": 7},
      {"address": "192.0.2.11"},
      {"address": "192.0.2.12", "enabled": false},
      {"address": "2001:DB8::10", "probe_address": "192.0.2.99"}]},
    "static": {"policy": "geo", "members": [{"address": "192.0.2.20", "region": "eu"}]}
  },
  "geo": {"rules": [{"net": "198.51.100.0/24", "region": "eu"}], "default": "eu"}
})";

struct StatusFixture {
    health::ProbeRegistry registry{64};
    zone::ZonePtr zone;
    std::unordered_map<uint32_t, health::ProbeStatus> probes;
    std::unordered_map<uint32_t, health::ProbeSpec> targets;
    DrainSet drains;
    std::map<std::string, control::ZoneRecord> records;
    std::unique_ptr<Snapshot> snap;

    StatusFixture() {
        const zone::LoadResult loaded = zone::parse_zone_json(kProbedZone, "z.json");
        REQUIRE(loaded.ok());
        zone::ZoneSpec spec = loaded.spec;
        spec.pools[0].members[1].enabled = false;  // as ZoneDir compiles an API drain
        zone::CompileResult r = zone::compile_zone(spec, &registry);
        REQUIRE(r.diags.empty());
        zone = r.zone;
        snap = std::make_unique<Snapshot>(std::vector<zone::ZonePtr>{zone}, 1, registry.table(), 1);
        for (health::ProbeSpec& s : registry.active()) targets.emplace(s.slot, s);
        const lb::Pool& www = zone->pools[0];
        const uint32_t s0 = www.members[0].probe_slot;
        registry.states().set(s0, health::State::down);
        health::ProbeStatus down;
        down.state = health::State::down;
        down.since_unix_ms = 1795796000000;
        down.has_result = true;
        down.last_ok = false;
        down.last_reason = "http GET /: connect: connection refused";
        down.last_unix_ms = 1795796050000;
        down.last_seconds = 0.00125;
        probes[s0] = down;
        drains.add(key("lb.example.test", "www", "192.0.2.11"), 1795796040000);
        control::ZoneRecord rec;
        rec.loaded_unix_ms = 1795795000000;
        records["lb.example.test."] = rec;
    }

    control::StatusModel model() const {
        control::StatusInputs in;
        in.snapshot = snap.get();
        in.probes = &probes;
        in.targets = &targets;
        in.drains = &drains;
        in.zones = &records;
        in.version = "9.9.9";
        in.nsid = "ns1";
        in.now_unix_ms = 1795796060000;
        in.started_unix_ms = 1795795000000;
        return control::build_status(in);
    }
};

}  // namespace

TEST_CASE("status: every member with its state, since when and why") {
    StatusFixture f;
    const nlohmann::ordered_json doc = control::status_json(f.model());
    CHECK(doc["version"] == "9.9.9");
    CHECK(doc["nsid"] == "ns1");
    CHECK(doc["now"] == "2026-11-27T16:14:20Z");
    REQUIRE(doc["zones"].size() == 1);
    const auto& z = doc["zones"][0];
    CHECK(z["zone"] == "lb.example.test.");
    CHECK(z["serial"] == 42);
    CHECK(z["file"] == "z.json");
    // The SHA-256 of the text compiled (`sha256sum z.json` on a file holding kProbedZone).
    CHECK(z["file_sha256"] == zone::text_sha256(kProbedZone));
    CHECK(zone::text_sha256("") ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(zone::text_sha256("abc") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(z["loaded_at"] == "2026-11-27T15:56:40Z");
    const auto& www = z["pools"][0];
    CHECK(www["name"] == "www");
    CHECK(www["policy"] == "round-robin");
    const auto& m = www["members"];
    REQUIRE(m.size() == 4);
    // Down, with the probe's reason and latency.
    CHECK(m[0]["address"] == "192.0.2.10");
    CHECK(m[0]["state"] == "down");
    CHECK(m[0]["since"] == "2026-11-27T16:13:20Z");
    CHECK(m[0]["check"] == "http");
    CHECK(m[0]["last_result"] == "failure");
    CHECK(m[0]["reason"] == "http GET /: connect: connection refused");
    CHECK(m[0]["latency_seconds"] == 0.00125);
    CHECK(m[0]["weight"] == 3);
    CHECK(m[0]["priority"] == 7);
    CHECK_FALSE(m[0]["drained"].get<bool>());
    // Drained through the API 20 s ago: since the drain, and draining for the rest of the
    // pool's 30 s TTL (a resolver may still hold an answer with it).
    CHECK(m[1]["state"] == "draining");
    CHECK(m[1]["safe_to_remove_at"] == "2026-11-27T16:14:30Z");
    CHECK(m[1]["drained"].get<bool>());
    CHECK(m[1]["drained_by"] == "api");
    CHECK(m[1]["since"] == "2026-11-27T16:14:00Z");
    // Drained by the file: since the zone loaded, long past its TTL.
    CHECK(m[2]["state"] == "drained");
    CHECK(m[2]["safe_to_remove_at"] == "2026-11-27T15:57:10Z");
    CHECK(m[2]["drained_by"] == "zone file");
    CHECK(m[2]["since"] == "2026-11-27T15:56:40Z");
    // Probed elsewhere, no result yet: up (answers count it up), health unknown.
    CHECK(m[3]["address"] == "2001:db8::10");
    CHECK(m[3]["state"] == "up");
    CHECK(m[3]["health"] == "unknown");
    CHECK(m[3]["probe_address"] == "192.0.2.99");
    CHECK(m[3]["last_result"].is_null());
    CHECK(m[3]["latency_seconds"].is_null());
    // No check at all: up, region shown.
    const auto& geo = z["pools"][1]["members"][0];
    CHECK(geo["state"] == "up");
    CHECK(geo["health"] == "unchecked");
    CHECK(geo["check"].is_null());
    CHECK(geo["region"] == "eu");
}

namespace {

// Every line of a Prometheus text exposition is a HELP, a TYPE or a sample of the family
// declared last; families are not repeated; counters end in _total.
void check_exposition(const std::string& text) {
    static const std::regex sample(
        R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*\})? (-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?)$)");
    static const std::regex type_line(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$)");
    std::set<std::string> families;
    std::string current;
    std::istringstream in(text);
    std::string line;
    REQUIRE(!text.empty());
    CHECK(text.back() == '\n');
    while (std::getline(in, line)) {
        INFO(line);
        std::smatch m;
        if (line.rfind("# HELP ", 0) == 0) continue;
        if (std::regex_match(line, m, type_line)) {
            current = m[1];
            CHECK(families.insert(current).second);
            if (m[2] == "counter") CHECK(current.size() > 6);
            if (m[2] == "counter") CHECK(current.substr(current.size() - 6) == "_total");
            continue;
        }
        REQUIRE(std::regex_match(line, m, sample));
        CHECK(m[1] == current);
    }
}

}  // namespace

TEST_CASE("metrics: the exposition format, names and values") {
    StatusFixture f;
    control::ResponseTotals totals;
    AnswerContext ctx;
    for (int i = 0; i < 4; ++i)
        ask(*f.snap, make_query("www.lb.example.test", LDNS_RR_TYPE_A), Transport::udp, &ctx);
    totals.add(*f.snap);
    control::ServerCounters c;
    server::WorkerStats w;
    server::count_query(w, false, 1, 0);
    server::count_query(w, false, 1, 0);
    server::count_query(w, true, 28, 3);
    server::count_query(w, false, 99, 16);
    server::WorkerStats::bump(w.truncated);
    server::WorkerStats::bump(w.dropped_malformed);
    server::add_worker(c, w);
    server::add_worker(c, w);  // two workers
    c.probe_results.success[static_cast<size_t>(health::CheckType::http)] = 5;
    c.reloads_success = 2;
    c.reloads_failure = 1;
    const std::string text = control::render_metrics(f.model(), totals, c);
    check_exposition(text);
    auto has = [&](const std::string& line) {
        INFO(line);
        CHECK(text.find("\n" + line + "\n") != std::string::npos);
    };
    has("steerdns_build_info{version=\"9.9.9\",nsid=\"ns1\"} 1");
    has("steerdns_start_time_seconds 1795795000");
    has("steerdns_queries_total{transport=\"udp\",qtype=\"A\",rcode=\"NOERROR\"} 4");
    has("steerdns_queries_total{transport=\"tcp\",qtype=\"AAAA\",rcode=\"NXDOMAIN\"} 2");
    has("steerdns_queries_total{transport=\"udp\",qtype=\"other\",rcode=\"BADVERS\"} 2");
    has("steerdns_truncated_responses_total 2");
    has("steerdns_dropped_packets_total{reason=\"malformed\"} 2");
    has("steerdns_dropped_packets_total{reason=\"oversized\"} 0");
    has("steerdns_pool_responses_total{zone=\"lb.example.test.\",pool=\"www\"} 4");
    // No IPv4 member is up (.10 down, .11 and .12 drained): fallback "all" answers with .10.
    has("steerdns_pool_fallback_responses_total{zone=\"lb.example.test.\",pool=\"www\"} 4");
    has("steerdns_member_responses_total{zone=\"lb.example.test.\",pool=\"www\",address=\"192.0.2."
        "10\"} 4");
    has("steerdns_member_up{zone=\"lb.example.test.\",pool=\"www\",address=\"192.0.2.10\"} 0");
    has("steerdns_member_up{zone=\"lb.example.test.\",pool=\"www\",address=\"2001:db8::10\"} 1");
    has("steerdns_member_drained{zone=\"lb.example.test.\",pool=\"www\",address=\"192.0.2.11\"} 1");
    has("steerdns_member_drained{zone=\"lb.example.test.\",pool=\"www\",address=\"192.0.2.10\"} 0");
    has("steerdns_probe_duration_seconds{zone=\"lb.example.test.\",pool=\"www\",address=\"192.0.2."
        "10\"} 0.00125");
    has("steerdns_probe_results_total{type=\"http\",outcome=\"success\"} 5");
    has("steerdns_probe_results_total{type=\"tcp\",outcome=\"failure\"} 0");
    has("steerdns_reloads_total{result=\"success\"} 2");
    has("steerdns_reloads_total{result=\"failure\"} 1");
    has("steerdns_zone_serial{zone=\"lb.example.test.\"} 42");
    has("# TYPE steerdns_member_up gauge");
    has("# TYPE steerdns_queries_total counter");
}

TEST_CASE("metrics: label values are escaped") {
    CHECK(control::escape_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
    control::MetricsWriter w;
    w.family("x_total", "counter", "back\\slash\nnewline");
    w.sample("x_total", {{"pool", "we\"ird"}}, uint64_t{1});
    CHECK(w.text() ==
          "# HELP x_total back\\\\slash\\nnewline\n# TYPE x_total "
          "counter\nx_total{pool=\"we\\\"ird\"} 1\n");
}

namespace {

struct FakeBackend : control::Backend {
    std::vector<std::string> calls;
    std::string metrics() override { return "m 1\n"; }
    control::HttpResponse why(const control::WhyQuery&) override { return {}; }
    control::HttpResponse events() override {
        calls.push_back("events");
        control::HttpResponse r;
        r.body = "[]";
        return r;
    }
    control::HttpResponse status(const control::StatusQuery&) override {
        control::HttpResponse r;
        r.body = "{}";
        return r;
    }
    void drain(const DrainKey& k, bool drain, control::Reply reply) override {
        calls.push_back(std::string(drain ? "drain " : "undrain ") + k.zone + " " + k.pool + " " +
                        k.address);
        reply(control::json_error(200, "ok"));
    }
    void failback(const DrainKey& k, control::Reply reply) override {
        calls.push_back("failback " + k.zone + " " + k.pool + " " + k.address);
        reply(control::json_error(200, "ok"));
    }
    void reload(control::Reply reply) override {
        calls.push_back("reload");
        reply(control::json_error(200, "ok"));
    }
};

control::HttpResponse route(control::Routes& routes, control::Method m, const std::string& path,
                            const std::string& body = "") {
    control::HttpRequest req;
    req.method = m;
    req.method_text = m == control::Method::post  ? "POST"
                      : m == control::Method::get ? "GET"
                                                  : "PUT";
    req.path = path;
    req.body = body;
    control::HttpResponse out;
    out.status = 0;
    routes.handle(req, [&](control::HttpResponse r) { out = std::move(r); });
    return out;
}

}  // namespace

TEST_CASE("routes: endpoints, methods and bodies") {
    FakeBackend b;
    control::Routes routes(b, control::AuthConfig{std::string("t")});
    using control::Method;
    auto page = route(routes, Method::get, "/");
    CHECK(page.status == 200);
    CHECK(page.content_type == "text/html; charset=utf-8");
    CHECK(page.body.find("<table") != std::string::npos);
    // Pending and standby members have colours of their own, standby shown as up, held out.
    CHECK(page.body.find("tr.state-pending .badge") != std::string::npos);
    CHECK(page.body.find("tr.state-standby .badge") != std::string::npos);
    CHECK(page.body.find("\"up (awaiting failback\"") != std::string::npos);
    CHECK(page.body.find("http://") == std::string::npos);  // no external assets
    CHECK(page.body.find("https://") == std::string::npos);
    CHECK(route(routes, Method::get, "/metrics").content_type ==
          "text/plain; version=0.0.4; charset=utf-8");
    CHECK(route(routes, Method::get, "/status").body == "{}");
    CHECK(route(routes, Method::get, "/nope").status == 404);
    auto r = route(routes, Method::get, "/\xff\xfe");  // not UTF-8: replaced in the message
    CHECK(r.status == 404);
    CHECK(r.body.find("no such endpoint: /\xef\xbf\xbd") != std::string::npos);
    r = route(routes, Method::post, "/metrics");
    CHECK(r.status == 405);
    CHECK(r.headers.at(0) == std::pair<std::string, std::string>{"Allow", "GET, HEAD"});
    CHECK(route(routes, Method::get, "/drain").status == 405);
    CHECK(route(routes, Method::other, "/reload").status == 405);
    CHECK(b.calls.empty());

    CHECK(route(routes, Method::post, "/drain",
                R"({"zone": "LB.example.test", "pool": "www", "address": "192.0.2.11"})")
              .status == 200);
    CHECK(route(routes, Method::post, "/undrain",
                R"({"zone": "lb.example.test.", "pool": "www", "address": "2001:DB8::1"})")
              .status == 200);
    CHECK(route(routes, Method::post, "/reload").status == 200);
    CHECK(route(routes, Method::get, "/failback").status == 405);
    CHECK(route(routes, Method::post, "/failback",
                R"({"zone": "lb.example.test", "pool": "www", "address": "192.0.2.10"})")
              .status == 200);
    CHECK(route(routes, Method::post, "/failback", R"({"zone": "x."})").status == 400);
    CHECK(b.calls == std::vector<std::string>{"drain lb.example.test. www 192.0.2.11",
                                              "undrain lb.example.test. www 2001:db8::1", "reload",
                                              "failback lb.example.test. www 192.0.2.10"});
    for (const char* bad :
         {"", "{", "[]", R"({"zone": "x.", "pool": "www"})",
          R"({"zone": "x.", "pool": "www", "address": 5})",
          R"({"zone": "x.", "pool": "www", "address": "nope"})",
          R"({"zone": "x.", "pool": "www", "address": "192.0.2.1", "adress": 1})"}) {
        INFO(bad);
        r = route(routes, Method::post, "/drain", bad);
        CHECK(r.status == 400);
        CHECK(r.body.find("\"error\"") != std::string::npos);
    }
    CHECK(b.calls.size() == 4);
}

TEST_CASE("status table: what `steerdns status` prints") {
    StatusFixture f;
    const nlohmann::json doc = nlohmann::json::parse(control::status_json(f.model()).dump());
    const std::string plain = cli::format_status_table(doc, false);
    CHECK(plain.find("\033") == std::string::npos);
    std::istringstream in(plain);
    std::string head;
    std::getline(in, head);
    CHECK(head.rfind("ZONE", 0) == 0);
    CHECK(head.find("STATE") != std::string::npos);
    CHECK(plain.find("192.0.2.10") != std::string::npos);
    CHECK(std::regex_search(
        plain,
        std::regex(
            R"(192\.0\.2\.10 +down +1m00s +http failure +1\.2ms +http GET /: connect: connection refused)")));
    CHECK(
        std::regex_search(plain, std::regex(R"(192\.0\.2\.11 +draining \(api, 10s left\) +20s)")));
    CHECK(plain.find("5 members: 2 up, 1 down, 2 drained") != std::string::npos);
    const std::string colored = cli::format_status_table(doc, true);
    CHECK(colored.find("\033[1;31mdown\033[0m") != std::string::npos);
    CHECK(colored.find("\033[33mdraining (api, 10s left)\033[0m") != std::string::npos);
}

TEST_CASE("status table: a pending member is counted apart, neither up nor down") {
    StatusFixture f;
    nlohmann::json doc = nlohmann::json::parse(control::status_json(f.model()).dump());
    doc["zones"][0]["pools"][0]["members"][0]["state"] = "pending";  // was down
    const std::string plain = cli::format_status_table(doc, false);
    CHECK(plain.find("5 members: 2 up, 0 down, 1 pending, 2 drained") != std::string::npos);
}

TEST_CASE("status: a suppressed member (flap damping) is state suppressed, counted down") {
    StatusFixture f;
    health::ProbeStatus& st = f.probes[f.zone->pools[0].members[0].probe_slot];
    st.last_ok = true;  // its probe passes; damping holds it down (the table says down)
    st.last_reason = "http GET /: status 200";
    st.suppressed = true;
    st.suppressed_reason = "flapping: 4 changes in 15s";
    st.suppressed_until_unix_ms = 1795796120000;
    const nlohmann::json doc = nlohmann::json::parse(control::status_json(f.model()).dump());
    const nlohmann::json& pool = doc["zones"][0]["pools"][0];
    const nlohmann::json& m = pool["members"][0];
    CHECK(m["state"] == "suppressed");
    CHECK(m["health"] == "down");
    CHECK(m["suppressed_reason"] == "flapping: 4 changes in 15s");
    CHECK(m["suppressed_until"] == "2026-11-27T16:15:20Z");
    CHECK(pool["members"][2]["suppressed_reason"].is_null());
    CHECK(pool["members"][2]["suppressed_until"].is_null());
    CHECK(pool["down"] == 1);
    const std::string plain = cli::format_status_table(doc, false);
    CHECK(std::regex_search(
        plain, std::regex(R"(192\.0\.2\.10 +suppressed .*flapping: 4 changes in 15s)")));
    CHECK(plain.find("5 members: 2 up, 1 down, 2 drained") != std::string::npos);
    CHECK(cli::format_status_table(doc, true).find("\033[1;31msuppressed\033[0m") !=
          std::string::npos);
}
