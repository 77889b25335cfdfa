#include "steerdns/answer/signature_cache.h"

#include <cstring>

namespace steerdns {

SignatureCache::SignatureCache(size_t entries) : slots_(entries) {
    size_t n = 1;
    while (n < entries * 2) n <<= 1;  // chains of one or two on average at the bound
    buckets_.assign(n, kNone);
}

uint64_t SignatureCache::hash_of(const AnswerSetKey& key) {
    // FNV-1a over the key's fields, then a final mix (splitmix64's) for the bucket bits.
    uint64_t h = 1469598103934665603ull;
    const auto mix = [&h](uint64_t v) {
        for (int i = 0; i < 8; ++i) {
            h ^= (v >> (i * 8)) & 0xff;
            h *= 1099511628211ull;
        }
    };
    mix(key.generation);
    mix((uint64_t{key.pool} << 32) | key.answering);
    mix((uint64_t{key.rrtype} << 1) | (key.degraded ? 1 : 0));
    for (uint32_t p : key.positions) mix(p);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

bool SignatureCache::matches(const Slot& s, uint64_t hash, const AnswerSetKey& key) const {
    return s.hash == hash && s.generation == key.generation && s.pool == key.pool &&
           s.answering == key.answering && s.rrtype == key.rrtype && s.degraded == key.degraded &&
           s.members == key.positions.size() &&
           std::memcmp(s.data.data(), key.positions.data(), key.positions.size() * 4) == 0;
}

uint32_t SignatureCache::lookup(uint64_t hash, const AnswerSetKey& key) const {
    if (buckets_.empty() || slots_.empty()) return kNone;
    for (uint32_t i = buckets_[hash & (buckets_.size() - 1)]; i != kNone; i = slots_[i].chain)
        if (matches(slots_[i], hash, key)) return i;
    return kNone;
}

void SignatureCache::unlink(uint32_t i) {
    Slot& s = slots_[i];
    (s.prev == kNone ? head_ : slots_[s.prev].next) = s.next;
    (s.next == kNone ? tail_ : slots_[s.next].prev) = s.prev;
    s.prev = s.next = kNone;
}

void SignatureCache::push_front(uint32_t i) {
    Slot& s = slots_[i];
    s.prev = kNone;
    s.next = head_;
    if (head_ != kNone) slots_[head_].prev = i;
    head_ = i;
    if (tail_ == kNone) tail_ = i;
}

void SignatureCache::unhash(uint32_t i) {
    uint32_t* link = &buckets_[slots_[i].hash & (buckets_.size() - 1)];
    while (*link != i) link = &slots_[*link].chain;
    *link = slots_[i].chain;
    slots_[i].chain = kNone;
}

std::span<const uint8_t> SignatureCache::find(const AnswerSetKey& key, int64_t now, int64_t margin,
                                              uint16_t& count) {
    const uint32_t i = lookup(hash_of(key), key);
    if (i == kNone || now + margin >= slots_[i].expiration) {
        bump(counters_.misses);
        return {};
    }
    bump(counters_.hits);
    if (head_ != i) {
        unlink(i);
        push_front(i);
    }
    count = slots_[i].count;
    return images(slots_[i]);
}

std::span<const uint8_t> SignatureCache::insert(const AnswerSetKey& key,
                                                std::span<const uint8_t> sigs, uint16_t count,
                                                int64_t expiration) {
    if (slots_.empty()) return sigs;  // --signature-cache 0: signed for this answer only
    const uint64_t hash = hash_of(key);
    uint32_t i = lookup(hash, key);
    if (i != kNone) {
        unlink(i);  // the same set signed again (it was about to expire): replace in place
    } else {
        if (used_ < slots_.size()) {
            i = static_cast<uint32_t>(used_++);
        } else {
            i = tail_;
            unlink(i);
            unhash(i);
            bump(counters_.evictions);
        }
        Slot& s = slots_[i];
        s.hash = hash;
        s.generation = key.generation;
        s.pool = key.pool;
        s.answering = key.answering;
        s.rrtype = key.rrtype;
        s.degraded = key.degraded;
        s.members = static_cast<uint16_t>(key.positions.size());
        uint32_t& bucket = buckets_[hash & (buckets_.size() - 1)];
        s.chain = bucket;
        bucket = i;
    }
    Slot& s = slots_[i];
    s.count = count;
    s.expiration = expiration;
    // assign() keeps the capacity a reused slot's buffer already has.
    const auto* positions = reinterpret_cast<const uint8_t*>(key.positions.data());
    s.data.assign(positions, positions + key.positions.size() * 4);
    s.data.insert(s.data.end(), sigs.begin(), sigs.end());
    push_front(i);
    return images(s);
}

void SignatureCache::clear() {
    for (Slot& s : slots_) {
        s.prev = s.next = s.chain = kNone;
        s.data.clear();
    }
    buckets_.assign(buckets_.size(), kNone);
    used_ = 0;
    head_ = tail_ = kNone;
}

}  // namespace steerdns
