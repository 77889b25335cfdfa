// `steerdns check --diff`: the geo net diff against a brute-force longest-prefix match over
// every address of a block, and the zone diff's records, pools, members, checks, preference
// lists and geo settings.
#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>

#include "helpers.h"
#include "steerdns/zone/compile.h"
#include "steerdns/zone/zone_diff.h"

using namespace steerdns;

namespace {

using U128 = unsigned __int128;

U128 key_of(const uint8_t* bytes, int n) {
    U128 k = 0;
    for (int i = 0; i < n; ++i) k = (k << 8) | bytes[i];
    return k;
}

U128 first_of(const lb::Cidr& c) {
    return key_of(c.address, c.family == 6 ? 16 : 4);
}

// The block's size minus one (::/0 holds 2^128 addresses, one more than a U128 counts).
U128 host_span(const lb::Cidr& c) {
    const int host_bits = (c.family == 6 ? 128 : 32) - c.prefix;
    return host_bits == 128 ? ~U128{0} : (U128{1} << host_bits) - 1;
}

bool contains(const lb::Cidr& c, uint8_t family, U128 address) {
    return c.family == family && address >= first_of(c) && address - first_of(c) <= host_span(c);
}

// The label of `address` by definition: the longest net that contains it, else `uncovered`.
std::string brute_label(const zone::GeoNets& side, uint8_t family, U128 address) {
    int best = -1;
    std::string label = side.uncovered;
    for (const lb::NetRule& r : side.rules) {
        if (contains(r.net, family, address) && r.net.prefix > best) {
            best = r.net.prefix;
            label = side.region_names[r.region];
        }
    }
    return label;
}

lb::Cidr make_cidr(uint8_t family, U128 address, uint8_t prefix) {
    const int bits = family == 6 ? 128 : 32;
    if (prefix < bits) address &= ~((U128{1} << (bits - prefix)) - 1);
    lb::Cidr c;
    c.family = family;
    c.prefix = prefix;
    for (int i = (bits / 8) - 1; i >= 0; --i) {
        c.address[i] = static_cast<uint8_t>(address);
        address >>= 8;
    }
    return c;
}

// Random nested and disjoint nets with prefixes from `shortest` to the full length, all inside
// `base`/`shortest`, in regions a, b and c.
void add_random_rules(zone::GeoNets& side, std::mt19937_64& rng, uint8_t family, U128 base,
                      uint8_t shortest, int count) {
    const int bits = family == 6 ? 128 : 32;
    std::set<std::pair<U128, int>> seen;
    for (const lb::NetRule& r : side.rules) seen.emplace(first_of(r.net), r.net.prefix);
    for (int i = 0; i < count; ++i) {
        const auto prefix = static_cast<uint8_t>(shortest + rng() % (bits - shortest + 1));
        const lb::Cidr net =
            make_cidr(family, base + (rng() % (U128{1} << (bits - shortest))), prefix);
        if (!seen.emplace(first_of(net), prefix).second) continue;  // build() rejects duplicates
        side.rules.push_back({net, static_cast<uint16_t>(rng() % side.region_names.size())});
    }
}

// Every address of [first, first + count) and each edge of every rule and output block, on
// both sides: the diff says "changed" exactly where the brute force does, with its labels.
void check_against_brute_force(const zone::GeoNets& a, const zone::GeoNets& b, uint8_t family,
                               U128 first, U128 count, const std::vector<zone::NetChange>& out) {
    std::vector<U128> probes;
    for (U128 x = first; x - first < count; ++x) probes.push_back(x);
    const U128 top = family == 6 ? ~U128{0} : (U128{1} << 32) - 1;
    auto edges = [&](const lb::Cidr& c) {
        if (c.family != family) return;
        const U128 lo = first_of(c);
        const U128 hi = lo + host_span(c);
        for (U128 x : {lo, hi}) probes.push_back(x);
        if (lo != 0) probes.push_back(lo - 1);
        if (hi != top) probes.push_back(hi + 1);
    };
    for (const auto* side : {&a, &b})
        for (const lb::NetRule& r : side->rules) edges(r.net);
    for (const zone::NetChange& c : out) edges(c.net);
    probes.push_back(0);
    probes.push_back(top);
    for (const U128 x : probes) {
        const std::string before = brute_label(a, family, x);
        const std::string after = brute_label(b, family, x);
        const zone::NetChange* hit = nullptr;
        for (const zone::NetChange& c : out)
            if (contains(c.net, family, x)) hit = &c;
        INFO("address offset " << static_cast<uint64_t>(x - first) << ": " << before << " -> "
                               << after);
        if (before == after) {
            CHECK(hit == nullptr);
        } else {
            REQUIRE(hit != nullptr);
            CHECK(hit->before == before);
            CHECK(hit->after == after);
        }
    }
}

// Output blocks: ascending and disjoint, and no two of them could be one block (same labels,
// same length, the two halves of their parent).
void check_minimal(const std::vector<zone::NetChange>& out) {
    for (size_t i = 1; i < out.size(); ++i) {
        const lb::Cidr& p = out[i - 1].net;
        const lb::Cidr& c = out[i].net;
        if (p.family != c.family) {
            CHECK(p.family < c.family);
            continue;
        }
        CHECK(first_of(p) + host_span(p) < first_of(c));
        const bool same = out[i - 1].before == out[i].before && out[i - 1].after == out[i].after;
        // Two blocks of one length (not /0: a /0 is alone) whose union is an aligned block.
        const U128 size = host_span(p) + 1;
        const bool buddies = p.prefix == c.prefix && p.prefix > 0 &&
                             first_of(p) + size == first_of(c) && (first_of(p) & size) == 0;
        CHECK_FALSE((same && buddies));
    }
}

zone::GeoNets side(std::string uncovered) {
    zone::GeoNets s;
    s.region_names = {"a", "b", "c"};
    s.uncovered = std::move(uncovered);
    return s;
}

}  // namespace

TEST_CASE("geo net diff matches a brute-force longest-prefix match, IPv4") {
    const U128 base = U128{10} << 24;  // 10.0.0.0/16, every address checked
    for (uint64_t seed = 1; seed <= 12; ++seed) {
        std::mt19937_64 rng(seed);
        zone::GeoNets a = side(seed % 3 == 0 ? "x" : "a");
        add_random_rules(a, rng, 4, base, 16, 12);
        // The new version: some rules kept, some gone, some moved to another region, new ones.
        zone::GeoNets b = side(seed % 4 == 0 ? "b" : a.uncovered);
        for (const lb::NetRule& r : a.rules) {
            const uint64_t roll = rng() % 4;
            if (roll == 0) continue;
            b.rules.push_back(roll == 1 ? lb::NetRule{r.net, static_cast<uint16_t>(rng() % 3)} : r);
        }
        add_random_rules(b, rng, 4, base, 16, 6);
        const auto out = zone::diff_geo_nets(a, b);
        INFO("seed " << seed);
        check_against_brute_force(a, b, 4, base, U128{1} << 16, out);
        check_minimal(out);
        for (const zone::NetChange& c : out)
            if (a.uncovered == b.uncovered) CHECK(c.net.family == 4);
    }
}

TEST_CASE("geo net diff matches a brute-force longest-prefix match, IPv6") {
    uint8_t bytes[16];
    REQUIRE(inet_pton(AF_INET6, "2001:db8::", bytes) == 1);
    const U128 base = key_of(bytes, 16);  // 2001:db8::/112, every address checked
    for (uint64_t seed = 1; seed <= 6; ++seed) {
        std::mt19937_64 rng(seed);
        zone::GeoNets a = side("a");
        add_random_rules(a, rng, 6, base, 112, 10);
        add_random_rules(a, rng, 4, U128{10} << 24, 24, 3);  // IPv4 rules change nothing here
        zone::GeoNets b = a;
        for (lb::NetRule& r : b.rules)
            if (rng() % 3 == 0) r.region = static_cast<uint16_t>(rng() % 3);
        add_random_rules(b, rng, 6, base, 112, 5);
        const auto out = zone::diff_geo_nets(a, b);
        INFO("seed " << seed);
        check_against_brute_force(a, b, 6, base, U128{1} << 16, out);
        check_against_brute_force(a, b, 4, U128{10} << 24, 256, out);
        check_minimal(out);
    }
}

TEST_CASE("geo net diff: halves of a net, a default change, the whole space") {
    zone::GeoNets a = side("c");
    zone::GeoNets b = side("c");
    a.rules.push_back({make_cidr(4, (U128{198} << 24) | (51 << 16) | (100 << 8), 24), 0});
    b.rules.push_back({make_cidr(4, (U128{198} << 24) | (51 << 16) | (100 << 8), 25), 0});
    b.rules.push_back({make_cidr(4, (U128{198} << 24) | (51 << 16) | (100 << 8) | 128, 25), 1});
    auto out = zone::diff_geo_nets(a, b);
    REQUIRE(out.size() == 1);
    CHECK(lb::to_string(out[0].net) == "198.51.100.128/25");
    CHECK(out[0].before == "a");
    CHECK(out[0].after == "b");

    // Nothing changed: nothing printed.
    CHECK(zone::diff_geo_nets(a, a).empty());

    // A new default moves every address no rule covers: ::/0 for IPv6, which has no rule, and
    // the blocks around the /24 for IPv4.
    b = a;
    b.uncovered = "b";
    out = zone::diff_geo_nets(a, b);
    REQUIRE(!out.empty());
    CHECK(lb::to_string(out.front().net) == "0.0.0.0/1");
    CHECK(lb::to_string(out.back().net) == "::/0");
    CHECK(out.size() == 24 + 1);  // one block per prefix length 1..24, then ::/0
    check_against_brute_force(a, b, 4, (U128{198} << 24) | (51 << 16) | (99 << 8), 768, out);
    check_minimal(out);
}

namespace {

struct Compiled {
    zone::ZoneSpec spec;
    zone::ZonePtr zone;
    zone::ZoneVersion version() const { return {&spec, zone.get()}; }
};

Compiled compile(const std::string& json) {
    zone::LoadResult loaded = zone::parse_zone_json(json, "test.json");
    std::string problems;
    for (const zone::Diagnostic& d : loaded.diags) problems += d.to_string() + "\n";
    INFO(problems);
    REQUIRE(loaded.ok());
    zone::CompileResult r = zone::compile_zone(loaded.spec);
    for (const zone::Diagnostic& d : r.diags) problems += d.to_string() + "\n";
    INFO(problems);
    REQUIRE(r.zone);
    return {std::move(loaded.spec), std::move(r.zone)};
}

const char* kBefore = R"({
  "zone": "diff.test.", "ttl": 300,
  "soa": { "mname": "ns1", "rname": "hostmaster", "serial": 1 },
  "ns": ["ns1"],
  "records": ["ns1 A 127.0.0.1", "old A 192.0.2.1", "txt TXT \"one\"", "txt TXT \"two\""],
  "checks": { "web": { "type": "http", "port": 80, "interval": 5 } },
  "geo": {
    "rules": [ { "net": "198.51.100.0/24", "region": "eu" }, { "net": "203.0.113.0/24", "region": "ap" } ],
    "default": "us"
  },
  "pools": {
    "www": { "policy": "weighted", "ttl": 30, "check": "web", "members": [
      { "address": "192.0.2.10", "weight": 1 }, { "address": "192.0.2.11" },
      { "address": "2001:db8::10" } ] },
    "app": { "policy": "geo", "ttl": 30,
      "regions": { "eu": ["eu", "us"], "us": ["us", "eu"], "ap": ["ap", "us"] },
      "members": [ { "address": "192.0.2.50", "region": "eu" },
                   { "address": "192.0.2.51", "region": "us" },
                   { "address": "192.0.2.52", "region": "ap" } ] },
    "gone": { "members": [ { "address": "192.0.2.90" } ] }
  }
})";

const char* kAfter = R"({
  "zone": "diff.test.", "ttl": 300,
  "soa": { "mname": "ns1", "rname": "hostmaster", "serial": 2 },
  "ns": ["ns1"],
  "records": ["ns1 A 127.0.0.1", "new.diff.test. A 192.0.2.2", "txt 600 TXT \"one\"",
              "txt 600 TXT \"three\""],
  "checks": { "web": { "type": "http", "port": 80, "interval": 10 } },
  "geo": {
    "rules": [ { "net": "198.51.100.0/25", "region": "eu" }, { "net": "198.51.100.128/25", "region": "us" },
               { "net": "203.0.113.0/24", "region": "ap" } ],
    "default": "us"
  },
  "pools": {
    "www": { "policy": "failover", "ttl": 30, "check": "web", "fallback": "none", "members": [
      { "address": "2001:0db8::10" }, { "address": "192.0.2.11", "priority": 5 },
      { "address": "192.0.2.12", "region": "eu" } ] },
    "app": { "policy": "geo", "ttl": 30,
      "regions": { "eu": ["eu", "ap", "us"], "us": ["us", "eu"], "ap": ["ap", "us"] },
      "members": [ { "address": "192.0.2.50", "region": "eu" },
                   { "address": "192.0.2.51", "region": "us" },
                   { "address": "192.0.2.52", "region": "ap" } ] },
    "fresh": { "policy": "all", "members": [ { "address": "192.0.2.95" } ] }
  }
})";

}  // namespace

TEST_CASE("zone diff: the same file twice changes nothing") {
    const Compiled a = compile(kBefore);
    const Compiled b = compile(kBefore);
    const zone::ZoneDiff d = zone::diff_zones(a.version(), b.version());
    CHECK(d.apex == "diff.test.");
    CHECK_FALSE(d.changed());
}

TEST_CASE("zone diff: names, RRsets, pools, members, checks, preference lists, nets") {
    const Compiled a = compile(kBefore);
    const Compiled b = compile(kAfter);
    const zone::ZoneDiff d = zone::diff_zones(a.version(), b.version());
    REQUIRE(d.changed());
    CHECK(d.names_added == std::vector<std::string>{"fresh.diff.test.", "new.diff.test."});
    CHECK(d.names_removed == std::vector<std::string>{"gone.diff.test.", "old.diff.test."});

    std::vector<std::string> rrsets;
    for (const zone::RRsetChange& r : d.rrsets)
        rrsets.push_back(std::string(zone::change_name(r.change)) + " " + r.owner + " " + r.type);
    CHECK(rrsets == std::vector<std::string>{"changed diff.test. SOA", "added new.diff.test. A",
                                             "removed old.diff.test. A",
                                             "changed txt.diff.test. TXT"});
    const zone::RRsetChange& txt = d.rrsets.back();
    // A TTL change shows every record of the RRset; "one" stays only by text.
    CHECK(txt.removed == std::vector<std::string>{"txt.diff.test. 300 IN TXT \"one\"",
                                                  "txt.diff.test. 300 IN TXT \"two\""});
    CHECK(txt.added == std::vector<std::string>{"txt.diff.test. 600 IN TXT \"one\"",
                                                "txt.diff.test. 600 IN TXT \"three\""});

    REQUIRE(d.pools.size() == 4);
    const zone::PoolChange& app = d.pools[0];
    CHECK(app.name == "app");
    CHECK(app.change == zone::Change::changed);
    CHECK(app.fields.empty());
    REQUIRE(app.regions.size() == 1);
    CHECK(app.regions[0].region == "eu");
    CHECK(*app.regions[0].before == std::vector<std::string>{"eu", "us"});
    CHECK(*app.regions[0].after == std::vector<std::string>{"eu", "ap", "us"});
    CHECK(d.pools[1].name == "fresh");
    CHECK(d.pools[1].change == zone::Change::added);
    CHECK(d.pools[2].name == "gone");
    CHECK(d.pools[2].change == zone::Change::removed);

    const zone::PoolChange& www = d.pools[3];
    CHECK(www.name == "www");
    std::vector<std::string> fields;
    for (const zone::FieldChange& f : www.fields)
        fields.push_back(f.field + " " + f.before.value_or("-") + " " + f.after.value_or("-"));
    CHECK(fields == std::vector<std::string>{"policy weighted failover", "fallback all none"});
    std::vector<std::string> members;
    for (const zone::MemberChange& m : www.members) {
        std::string line = m.address + " " + zone::change_name(m.change);
        for (const zone::FieldChange& f : m.fields)
            line += " " + f.field + "=" + f.before.value_or("-") + ">" + f.after.value_or("-");
        members.push_back(line);
    }
    // Paired by address, whatever its spelling (2001:0db8::10 is 2001:db8::10); in address order.
    CHECK(members == std::vector<std::string>{"192.0.2.10 removed",
                                              "192.0.2.11 changed priority=0>5",
                                              "192.0.2.12 added weight=->1 priority=->0 "
                                              "region=->eu"});
    REQUIRE(www.checks.size() == 1);  // the default timeout is 2 s for both intervals
    CHECK(www.checks[0].field == "check web interval");
    CHECK(*www.checks[0].before == "5 s");
    CHECK(*www.checks[0].after == "10 s");

    CHECK(d.geo.empty());
    REQUIRE(d.nets.size() == 1);
    CHECK(lb::to_string(d.nets[0].net) == "198.51.100.128/25");
    CHECK(d.nets[0].before == "eu");
    CHECK(d.nets[0].after == "us");
}

TEST_CASE("zone diff: ttl_degraded set, changed and unset, like the other pool settings") {
    const auto with = [](const std::string& www) {
        return compile(std::string(kBefore).replace(
            std::string(kBefore).find(R"("ttl": 30, "check")"), 18, www + R"("check")"));
    };
    const auto fields = [](const Compiled& a, const Compiled& b) {
        std::vector<std::string> out;
        for (const zone::PoolChange& p : zone::diff_zones(a.version(), b.version()).pools)
            for (const zone::FieldChange& f : p.fields)
                out.push_back(p.name + " " + f.field + " " + f.before.value_or("-") + " " +
                              f.after.value_or("-"));
        return out;
    };
    const Compiled off = with(R"("ttl": 30, )");
    const Compiled five = with(R"("ttl": 30, "ttl_degraded": 5, )");
    const Compiled seven = with(R"("ttl": 30, "ttl_degraded": 7, )");
    const Compiled same = with(R"("ttl": 30, "ttl_degraded": 30, )");
    CHECK(fields(off, five) == std::vector<std::string>{"www ttl_degraded - 5"});
    CHECK(fields(five, seven) == std::vector<std::string>{"www ttl_degraded 5 7"});
    CHECK(fields(seven, off) == std::vector<std::string>{"www ttl_degraded 7 -"});
    CHECK(fields(off, same).empty());  // equal to the ttl: still off
}

TEST_CASE("zone diff: failback set, changed and back to immediate") {
    const auto with = [](const std::string& www) {
        return compile(std::string(kBefore).replace(
            std::string(kBefore).find(R"("ttl": 30, "check")"), 18, www + R"("check")"));
    };
    const auto fields = [](const Compiled& a, const Compiled& b) {
        std::vector<std::string> out;
        for (const zone::PoolChange& p : zone::diff_zones(a.version(), b.version()).pools)
            for (const zone::FieldChange& f : p.fields)
                out.push_back(p.name + " " + f.field + " " + f.before.value_or("-") + " " +
                              f.after.value_or("-"));
        return out;
    };
    const Compiled off = with(R"("ttl": 30, )");
    const Compiled manual = with(R"("ttl": 30, "failback": "manual", )");
    const Compiled delay = with(R"("ttl": 30, "failback": {"delay": 2}, )");
    const Compiled immediate = with(R"("ttl": 30, "failback": "immediate", )");
    CHECK(fields(off, manual) == std::vector<std::string>{"www failback - manual"});
    CHECK(fields(manual, delay) == std::vector<std::string>{"www failback manual delay 2s"});
    CHECK(fields(delay, immediate) == std::vector<std::string>{"www failback delay 2s -"});
    CHECK(fields(off, immediate).empty());  // the default, written out
}

TEST_CASE("zone diff: geo settings, and a default region that moves unruled addresses") {
    const Compiled a = compile(kBefore);
    std::string after = kBefore;
    after.replace(after.find("\"default\": \"us\""), 15, "\"default\": \"eu\"");
    // us stays a client region (app lists it): a rule for the net it had by default.
    after.replace(after.find("\"rules\": ["), 10,
                  "\"rules\": [ { \"net\": \"192.0.2.0/24\", \"region\": \"us\" },");
    const Compiled b = compile(after);
    const zone::ZoneDiff d = zone::diff_zones(a.version(), b.version());
    REQUIRE(d.geo.size() == 1);
    CHECK(d.geo[0].field == "default");
    CHECK(*d.geo[0].before == "us");
    CHECK(*d.geo[0].after == "eu");
    // The region order of app's lists is unchanged (they are given); the nets outside the
    // rules now go to eu: IPv4 around them, and all of IPv6.
    CHECK(d.pools.empty());
    REQUIRE(!d.nets.empty());
    CHECK(lb::to_string(d.nets.back().net) == "::/0");
    for (const zone::NetChange& n : d.nets) {
        CHECK(n.before == "us");
        CHECK(n.after == "eu");
    }
}

TEST_CASE("zone diff: keepalive turned off and on again on an http check") {
    const std::string web = R"("web": { "type": "http", "port": 80, "interval": 5 })";
    REQUIRE(std::string(kBefore).find(web) != std::string::npos);
    const auto with = [&web](const std::string& extra) {
        std::string text = kBefore;
        return compile(
            text.replace(text.find(web), web.size(),
                         R"("web": { "type": "http", "port": 80, "interval": 5)" + extra + " }"));
    };
    const auto changes = [](const Compiled& a, const Compiled& b) {
        std::vector<std::string> out;
        for (const zone::PoolChange& p : zone::diff_zones(a.version(), b.version()).pools)
            for (const zone::FieldChange& f : p.checks)
                out.push_back(f.field + " " + f.before.value_or("-") + " " + f.after.value_or("-"));
        return out;
    };
    const Compiled on = with("");
    const Compiled off = with(R"(, "keepalive": false)");
    const Compiled written = with(R"(, "keepalive": true)");
    CHECK(changes(on, off) == std::vector<std::string>{"check web keepalive yes no"});
    CHECK(changes(off, written) == std::vector<std::string>{"check web keepalive no yes"});
    CHECK(changes(on, written).empty());  // the default, written out
}

TEST_CASE("zone diff: damping on a check and on a member") {
    std::string before = kBefore;
    const std::string web = R"("web": { "type": "http", "port": 80, "interval": 5 })";
    REQUIRE(before.find(web) != std::string::npos);
    std::string after = before;
    after.replace(after.find(web), web.size(),
                  R"("web": { "type": "http", "port": 80, "interval": 5, "damping": {} })");
    const std::string member = R"({ "address": "192.0.2.11" })";
    REQUIRE(after.find(member) != std::string::npos);
    after.replace(after.find(member), member.size(),
                  R"({ "address": "192.0.2.11", "damping": { "half_life": 30 } })");
    const Compiled a = compile(before);
    const Compiled b = compile(after);
    const zone::ZoneDiff d = zone::diff_zones(a.version(), b.version());
    const zone::PoolChange* www = nullptr;
    for (const zone::PoolChange& p : d.pools)
        if (p.name == "www") www = &p;
    REQUIRE(www != nullptr);
    REQUIRE(www->checks.size() == 1);
    CHECK(www->checks[0].field == "check web damping");
    CHECK_FALSE(www->checks[0].before.has_value());
    CHECK(*www->checks[0].after == "half_life 60 s, suppress 3, reuse 1, max_suppress 900 s");
    REQUIRE(www->members.size() == 1);
    CHECK(www->members[0].address == "192.0.2.11");
    REQUIRE(www->members[0].fields.size() == 1);
    CHECK(www->members[0].fields[0].field == "damping");
    CHECK(*www->members[0].fields[0].after ==
          "half_life 30 s, suppress 3, reuse 1, max_suppress 900 s");
}
