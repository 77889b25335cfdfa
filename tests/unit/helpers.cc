#include "helpers.h"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "steerdns/dns/wire.h"

#ifndef STEERDNS_TEST_DATA
#define STEERDNS_TEST_DATA "tests/data"
#endif

namespace steerdns::test {

TempDir::TempDir() {
    char t[] = "/tmp/steerdns-test-XXXXXX";
    REQUIRE(mkdtemp(t) != nullptr);
    path = t;
}

TempDir::~TempDir() {
    std::error_code ec;  // a destructor must not throw; a leftover /tmp dir is harmless
    std::filesystem::remove_all(path, ec);
}

void TempDir::write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary) << text;
}

std::vector<uint8_t> make_query(const std::string& name, uint16_t qtype, const QueryOptions& o) {
    std::vector<uint8_t> q(12, 0);
    dns::store_u16(&q[0], o.id);
    q[2] = o.rd ? dns::kFlagRD : 0;
    q[5] = 1;  // QDCOUNT
    // Name as written (case kept), no compression.
    size_t start = 0;
    while (start < name.size()) {
        size_t dot = name.find('.', start);
        if (dot == std::string::npos) dot = name.size();
        q.push_back(static_cast<uint8_t>(dot - start));
        q.insert(q.end(), name.begin() + static_cast<long>(start),
                 name.begin() + static_cast<long>(dot));
        start = dot + 1;
    }
    q.push_back(0);
    q.push_back(static_cast<uint8_t>(qtype >> 8));
    q.push_back(static_cast<uint8_t>(qtype));
    q.push_back(static_cast<uint8_t>(o.qclass >> 8));
    q.push_back(static_cast<uint8_t>(o.qclass));
    if (o.edns) {
        q[11] = 1;
        std::vector<uint8_t> rdata;
        if (o.ecs) {
            rdata = {0,
                     8,
                     0,
                     static_cast<uint8_t>(4 + o.ecs_address.size()),
                     static_cast<uint8_t>(o.ecs_family >> 8),
                     static_cast<uint8_t>(o.ecs_family),
                     o.ecs_source,
                     0};
            rdata.insert(rdata.end(), o.ecs_address.begin(), o.ecs_address.end());
        }
        if (o.nsid) rdata.insert(rdata.end(), {0, 3, 0, 0});
        const uint8_t opt[] = {0,
                               0,
                               41,
                               static_cast<uint8_t>(o.udp_size >> 8),
                               static_cast<uint8_t>(o.udp_size),
                               0,
                               o.version,
                               static_cast<uint8_t>(o.do_bit ? 0x80 : 0),
                               0,
                               static_cast<uint8_t>(rdata.size() >> 8),
                               static_cast<uint8_t>(rdata.size())};
        q.insert(q.end(), opt, opt + sizeof opt);
        q.insert(q.end(), rdata.begin(), rdata.end());
    }
    return q;
}

zone::PktPtr decode(const std::vector<uint8_t>& wire) {
    ldns_pkt* p = nullptr;
    const ldns_status st = ldns_wire2pkt(&p, wire.data(), wire.size());
    REQUIRE_MESSAGE(st == LDNS_STATUS_OK,
                    "ldns cannot decode our response: " << ldns_get_errorstr_by_id(st));
    return zone::PktPtr(p);
}

zone::ZonePtr compile_json(const std::string& json) {
    zone::LoadResult loaded = zone::parse_zone_json(json, "test.json");
    for (const auto& d : loaded.diags) FAIL_CHECK(d.to_string());
    REQUIRE(loaded.ok());
    zone::CompileResult r = zone::compile_zone(loaded.spec);
    for (const auto& d : r.diags) FAIL_CHECK(d.to_string());
    REQUIRE(r.zone);
    return r.zone;
}

std::string example_zone_json() {
    return R"({
  "zone": "lb.example.test.",
  "ttl": 300,
  "soa": { "mname": "ns1", "rname": "hostmaster", "serial": 2026112501,
           "refresh": 3600, "retry": 600, "expire": 1209600, "minimum": 60 },
  "ns": ["ns1", "ns2"],
  "records": [
    "ns1 A 127.0.0.1",
    "ns2 A 127.0.0.2",
    "static 600 A 192.0.2.100",
    "@ TXT \"v=spf1 -all\"",
    "mail MX 10 mx.example.net.",
    "docs CNAME www",
    "sub NS ns.sub.lb.example.test.",
    "ns.sub A 192.0.2.53",
    "a.b.c A 192.0.2.1",
    "out CNAME www.example.net.",
    "dangling CNAME nothing-here"
  ],
  "pools": {
    "www": {
      "policy": "round-robin",
      "ttl": 30,
      "answers": 2,
      "members": [
        { "address": "192.0.2.10" },
        { "address": "192.0.2.11" },
        { "address": "192.0.2.12" },
        { "address": "2001:db8::10" }
      ]
    },
    "api.eu": { "members": [ { "address": "192.0.2.30" } ] }
  }
})";
}

namespace {

Answered answer(const Snapshot& snap, const std::vector<uint8_t>& query, const lb::Client& from,
                Transport t, AnswerContext* ctx) {
    AnswerContext local;
    AnswerContext& c = ctx ? *ctx : local;
    std::vector<uint8_t> out(65535 + 2);
    const size_t n = answer_query(&snap, query, from, t, c, out);
    out.resize(n);
    Answered a;
    a.outcome = c.last;
    a.wire = out;
    if (n > 0) a.pkt = decode(out);
    return a;
}

}  // namespace

Answered ask(const Snapshot& snap, const std::vector<uint8_t>& query, Transport t,
             AnswerContext* ctx) {
    return answer(snap, query, client_at("127.0.0.1"), t, ctx);
}

Answered ask_from(const Snapshot& snap, const std::vector<uint8_t>& query, const lb::Client& from,
                  AnswerContext* ctx) {
    return answer(snap, query, from, Transport::udp, ctx);
}

lb::Client client_at(const std::string& address) {
    lb::Client client;
    if (inet_pton(AF_INET, address.c_str(), client.address) == 1) {
        client.family = 4;
    } else {
        REQUIRE(inet_pton(AF_INET6, address.c_str(), client.address) == 1);
        client.family = 6;
    }
    return client;
}

namespace {

// A directory of this run's own, removed when the test program exits.
struct ScratchDir {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("steerdns-unit-" + std::to_string(getpid()));
    ScratchDir() { std::filesystem::create_directories(path); }
    ~ScratchDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
};

}  // namespace

const std::string& test_mmdb() {
    static const ScratchDir dir;
    static const std::string path = [] {
        if (std::system("perl -MMaxMind::DB::Writer::Tree -e 1 >/dev/null 2>&1") != 0)
            return std::string();
        const std::string out = (dir.path / "test.mmdb").string();
        const std::string cmd = "perl '" STEERDNS_TEST_DATA "/write_test_mmdb.pl' '" + out + "'";
        REQUIRE(std::system(cmd.c_str()) == 0);
        return out;
    }();
    return path;
}

std::vector<std::string> rdatas(const ldns_rr_list* list) {
    std::vector<std::string> out;
    for (size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
        const ldns_rr* rr = ldns_rr_list_rr(list, i);
        std::string s;
        for (size_t j = 0; j < ldns_rr_rd_count(rr); ++j) {
            char* t = ldns_rdf2str(ldns_rr_rdf(rr, j));
            if (j) s += ' ';
            s += t;
            free(t);
        }
        out.push_back(s);
    }
    return out;
}

std::string to_text(const ldns_pkt* p) {
    char* s = ldns_pkt2str(p);
    std::string out = s ? s : "";
    free(s);
    return out;
}

}  // namespace steerdns::test
