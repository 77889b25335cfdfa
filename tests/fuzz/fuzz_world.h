// What the fuzz harnesses share: the fixed zone set they answer from (tests/fuzz/zones, every
// record type and every steering policy) and a strict check of the responses they get.
// Any broken invariant is reported on stderr and abort()s, which libFuzzer records as a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "steerdns/answer/answer.h"
#include "steerdns/answer/snapshot.h"
#include "steerdns/health/registry.h"

namespace steerdns::fuzz {

struct World {
    health::ProbeRegistry registry{256};
    SnapshotPtr snapshot;
    std::vector<uint32_t> slots;  // probe slots the zones hold, to set up and down per input
};

// Compiled once per process from STEERDNS_FUZZ_ZONES; aborts when a zone does not compile.
World& world();

// Sets every probe slot to unknown, up or down from `seed`, so an input also picks which
// members are healthy (and so which fallbacks answer).
void set_health(World& w, uint64_t seed);

// FNV-1a: a stable per-input seed.
uint64_t seed_of(std::span<const uint8_t> data);

// A transport source address from `seed`: IPv4 or IPv6 (sometimes v4-mapped), often inside the
// geo rules' nets so geo and hash answers vary.
lb::Client client_from_seed(uint64_t seed);

[[noreturn]] void fail(const char* what, std::span<const uint8_t> query,
                       std::span<const uint8_t> response);

// Checks one answer_query() result: `len` bytes of `out` for `query`, given at most `allowed`
// bytes. Walks the message as a strict decoder would (counts match the content, names valid,
// compression pointers only backwards, nothing trailing), checks that ldns decodes it, that ID,
// opcode, RD and question are echoed, and that a truncated message carries no records.
void check_response(std::span<const uint8_t> query, std::span<const uint8_t> response,
                    size_t allowed);

}  // namespace steerdns::fuzz
