// The per-worker cache of answer sets signed on first use (answer/signature_cache.h): hits,
// the bound, LRU order, expiry and zone versions.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "steerdns/answer/signature_cache.h"

using namespace steerdns;

namespace {

// One fake RRSIG image (TYPE CLASS TTL RDLENGTH RDATA) whose one rdata byte is `tag`.
std::vector<uint8_t> image(uint8_t tag) {
    return {0, 46, 0, 1, 0, 0, 0, 60, 0, 1, tag};
}

struct Set {
    std::vector<uint32_t> positions;
    AnswerSetKey key(uint64_t generation = 1) const {
        return {generation, 3, 3, 1, false, positions};
    }
};

uint8_t cached_tag(SignatureCache& cache, const AnswerSetKey& key, int64_t now = 1000) {
    uint16_t count = 0;
    const std::span<const uint8_t> sigs = cache.find(key, now, 100, count);
    return sigs.empty() ? 0 : sigs[10];
}

}  // namespace

TEST_CASE("signature cache: a stored set is found by its key, and only by it") {
    SignatureCache cache(4);
    const Set a{{1, 5}}, b{{1, 6}};
    CHECK(cached_tag(cache, a.key()) == 0);
    const auto stored = cache.insert(a.key(), image(7), 1, 5000);
    CHECK(stored.size() == 11);
    CHECK(cached_tag(cache, a.key()) == 7);
    CHECK(cached_tag(cache, b.key()) == 0);
    // Another zone version, pool, answering pool, family or TTL variant: another key.
    CHECK(cached_tag(cache, a.key(2)) == 0);
    AnswerSetKey k = a.key();
    k.degraded = true;
    CHECK(cached_tag(cache, k) == 0);
    k = a.key();
    k.answering = 4;
    CHECK(cached_tag(cache, k) == 0);
    k = a.key();
    k.rrtype = 28;
    CHECK(cached_tag(cache, k) == 0);
    CHECK(cache.counters().hits.load() == 1);
    CHECK(cache.counters().misses.load() == 6);
}

TEST_CASE("signature cache: bounded, the least recently used set goes first") {
    SignatureCache cache(3);
    const Set s1{{1}}, s2{{2}}, s3{{3}}, s4{{4}};
    cache.insert(s1.key(), image(1), 1, 5000);
    cache.insert(s2.key(), image(2), 1, 5000);
    cache.insert(s3.key(), image(3), 1, 5000);
    CHECK(cache.size() == 3);
    CHECK(cached_tag(cache, s1.key()) == 1);  // s1 used: s2 is now the oldest
    cache.insert(s4.key(), image(4), 1, 5000);
    CHECK(cache.size() == 3);
    CHECK(cache.counters().evictions.load() == 1);
    CHECK(cached_tag(cache, s2.key()) == 0);
    CHECK(cached_tag(cache, s1.key()) == 1);
    CHECK(cached_tag(cache, s3.key()) == 3);
    CHECK(cached_tag(cache, s4.key()) == 4);
    // Many more sets than slots: still three, the last three inserted.
    for (uint32_t i = 10; i < 100; ++i) cache.insert(Set{{i, i + 1}}.key(), image(9), 1, 5000);
    CHECK(cache.size() == 3);
    CHECK(cached_tag(cache, Set{{99, 100}}.key()) == 9);
    CHECK(cached_tag(cache, Set{{97, 98}}.key()) == 9);
    CHECK(cached_tag(cache, Set{{96, 97}}.key()) == 0);
    CHECK(cached_tag(cache, s4.key()) == 0);
}

TEST_CASE("signature cache: never served within the re-sign margin of its expiration") {
    SignatureCache cache(2);
    const Set a{{1, 2}};
    cache.insert(a.key(), image(1), 1, 2000);
    CHECK(cached_tag(cache, a.key(), 1899) == 1);
    CHECK(cached_tag(cache, a.key(), 1900) == 0);  // margin 100: signed again
    CHECK(cached_tag(cache, a.key(), 2500) == 0);
    // Signed again: replaced in place, not a second entry.
    cache.insert(a.key(), image(2), 1, 4000);
    CHECK(cache.size() == 1);
    CHECK(cached_tag(cache, a.key(), 2500) == 2);
}

TEST_CASE("signature cache: size 0 keeps nothing, clear forgets everything") {
    SignatureCache none(0);
    const Set a{{1, 2}};
    CHECK(none.insert(a.key(), image(1), 1, 5000).size() == 11);
    CHECK(cached_tag(none, a.key()) == 0);
    SignatureCache cache(2);
    cache.insert(a.key(), image(1), 1, 5000);
    cache.clear();
    CHECK(cache.size() == 0);
    CHECK(cached_tag(cache, a.key()) == 0);
    cache.insert(a.key(), image(3), 1, 5000);
    CHECK(cached_tag(cache, a.key()) == 3);
}
