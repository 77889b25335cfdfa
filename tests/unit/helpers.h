// Shared test helpers: build queries with ldns, decode responses with ldns (an independent
// implementation of the wire format), and compile zones from JSON text.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "steerdns/answer/answer.h"
#include "steerdns/answer/snapshot.h"
#include "steerdns/zone/compile.h"
#include "steerdns/zone/ldns_ptr.h"

namespace steerdns::test {

struct QueryOptions {
    bool edns = false;
    uint16_t udp_size = 1232;
    bool do_bit = false;
    uint8_t version = 0;
    bool rd = true;
    uint16_t id = 0x1234;
    uint16_t qclass = LDNS_RR_CLASS_IN;
    // ECS: family 1/2, source prefix, address bytes (already truncated)
    bool ecs = false;
    uint16_t ecs_family = 1;
    uint8_t ecs_source = 24;
    std::vector<uint8_t> ecs_address = {198, 51, 100};
    bool nsid = false;  // an empty NSID option (RFC 5001), after ECS when both are set
};

std::vector<uint8_t> make_query(const std::string& name, uint16_t qtype,
                                const QueryOptions& o = {});

zone::PktPtr decode(const std::vector<uint8_t>& wire);

// Compiles a zone from JSON text; fails the test (CHECK) on diagnostics.
zone::ZonePtr compile_json(const std::string& json);

// The example zone from the README / contract.
std::string example_zone_json();

// A fresh directory under /tmp, removed with everything in it when the test ends.
struct TempDir {
    std::filesystem::path path;
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string file(const std::string& name) const { return (path / name).string(); }
    void write(const std::string& name, const std::string& text) const;
};

struct Answered {
    std::vector<uint8_t> wire;
    zone::PktPtr pkt;
    Outcome outcome;
};

Answered ask(const Snapshot& snap, const std::vector<uint8_t>& query, Transport t = Transport::udp,
             AnswerContext* ctx = nullptr);

// The same from a given transport source address (ask() uses 127.0.0.1).
Answered ask_from(const Snapshot& snap, const std::vector<uint8_t>& query, const lb::Client& from,
                  AnswerContext* ctx = nullptr);

// A client at `address` (IPv4 or IPv6 text), as the transport would give it.
lb::Client client_at(const std::string& address);

// A small MaxMind database written for this run by tests/data/write_test_mmdb.pl; empty when
// the Perl writer (libmaxmind-db-writer-perl) is not installed.
const std::string& test_mmdb();

// Presentation form of the rdata of every RR in a section, e.g. {"192.0.2.10", ...}.
std::vector<std::string> rdatas(const ldns_rr_list* list);
std::string to_text(const ldns_pkt* p);

// Lines of text, e.g. rendered diagnostics, that a failed CHECK prints one per line (the
// StringMaker below) instead of doctest's "{?}".
struct Lines : std::vector<std::string> {
    using std::vector<std::string>::vector;
};

}  // namespace steerdns::test

template <>
struct doctest::StringMaker<steerdns::test::Lines> {
    static String convert(const steerdns::test::Lines& lines) {
        std::string out = "{";
        for (const std::string& line : lines) out += "\n  " + line;
        return (out + "\n}").c_str();
    }
};
