// libFuzzer harness: zone file text in, compiled zone or diagnostics out (parse_zone_json +
// compile_zone, what a reload and `steerdns check` do). Invariants: a rejected file has at
// least one diagnostic; every diagnostic has a message and a FILE:LINE:COL inside the text
// (only a blank file has no position); a zone that compiles can be served: a query for each
// of its names gets a well-formed answer.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_world.h"
#include "steerdns/dns/wire.h"
#include "steerdns/zone/compile.h"
#include "steerdns/zone/zone_spec.h"

using namespace steerdns;

namespace {

constexpr const char* kFile = "fuzz.json";

[[noreturn]] void fail(const char* what, std::string_view text, const zone::Diagnostic* d) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
    if (d) std::fprintf(stderr, "diagnostic: %s\n", d->to_string().c_str());
    std::fprintf(stderr, "input:\n%.*s\n", static_cast<int>(text.size()), text.data());
    std::abort();
}

// Nothing but white space, after a UTF-8 byte order mark (editors on Windows write one).
bool blank(std::string_view text) {
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
    return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// Lengths of the text's lines, in bytes, so a position can be checked against the text.
std::vector<size_t> line_lengths(std::string_view text) {
    std::vector<size_t> out;
    size_t start = 0;
    while (true) {
        const size_t nl = text.find('\n', start);
        out.push_back((nl == std::string_view::npos ? text.size() : nl) - start);
        if (nl == std::string_view::npos) return out;
        start = nl + 1;
    }
}

void check_diagnostics(std::string_view text, const zone::Diagnostics& diags) {
    const std::vector<size_t> lines = line_lengths(text);
    for (const zone::Diagnostic& d : diags) {
        if (d.message.empty()) fail("diagnostic without a message", text, &d);
        if (d.file != kFile) fail("diagnostic names another file", text, &d);
        if (d.pos.line == 0) {
            if (!blank(text)) fail("diagnostic without a line:col", text, &d);
            continue;
        }
        if (d.pos.line > lines.size() || d.pos.col == 0 || d.pos.col > lines[d.pos.line - 1] + 1)
            fail("diagnostic position outside the text", text, &d);
        const std::string s = d.to_string();
        const std::string prefix = std::string(kFile) + ":" + std::to_string(d.pos.line) + ":" +
                                   std::to_string(d.pos.col) + ": ";
        if (s.compare(0, prefix.size(), prefix) != 0) fail("not FILE:LINE:COL: ...", text, &d);
    }
}

// A plain query for `name` (lowercased wire form) and `qtype`, with EDNS so large answers fit.
std::vector<uint8_t> query_for(std::span<const uint8_t> name, uint16_t qtype) {
    std::vector<uint8_t> q = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1};
    q.insert(q.end(), name.begin(), name.end());
    const uint8_t tail[] = {static_cast<uint8_t>(qtype >> 8),
                            static_cast<uint8_t>(qtype),
                            0,
                            1,
                            0,
                            0,
                            41,
                            0x04,
                            0xd0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0};
    q.insert(q.end(), tail, tail + sizeof tail);
    return q;
}

void serve(std::string_view text, const zone::ZonePtr& z) {
    const Snapshot snap({z});
    static AnswerContext ctx;
    static std::vector<uint8_t> out(4096);
    const lb::Client client = fuzz::client_from_seed(0);
    // Bounded: a huge fuzzed zone should not turn one input into thousands of queries.
    const size_t n = std::min<size_t>(z->nodes.size(), 24);
    for (size_t i = 0; i < n; ++i) {
        for (uint16_t t : {dns::type::A, dns::type::AAAA, dns::type::NS, dns::type::ANY}) {
            const std::vector<uint8_t> q = query_for(z->node_name(z->nodes[i]), t);
            const size_t len = answer_query(&snap, q, client, Transport::udp, ctx, out);
            if (len == 0) fail("no answer from a compiled zone", text, nullptr);
            fuzz::check_response(q, {out.data(), len}, 1232);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    // A GeoIP database is a path the zone names: a fuzzer must not open arbitrary files
    // (/dev/stdin would block). Everything else about the "geo" section stays in.
    if (text.find("database") != std::string_view::npos) return 0;
    zone::LoadResult loaded = zone::parse_zone_json(text, kFile);
    check_diagnostics(text, loaded.diags);
    if (!loaded.ok()) return 0;
    static health::ProbeRegistry registry(1024);
    zone::CompileResult compiled = zone::compile_zone(loaded.spec, &registry);
    check_diagnostics(text, compiled.diags);
    if (!compiled.zone) {
        if (compiled.diags.empty()) fail("zone rejected without a diagnostic", text, nullptr);
        return 0;
    }
    if (!compiled.diags.empty()) fail("zone compiled and diagnostics reported", text, nullptr);
    serve(text, compiled.zone);
    return 0;
}
