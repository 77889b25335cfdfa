// The RRSIGs of balanced answer sets that were not signed when the zone compiled (a pool with
// more possible answers than zone::kMaxPrecomputedSets, a fallback pool's own fallback two
// hops away): signed on their first answer and kept here (README "DNSSEC",
// --signature-cache). One cache per worker, touched by that worker alone: no lock, and health
// changes never wait for a signature another thread is making. Every slot is made when the
// cache is, and a slot reused for another set keeps its buffer, so a hit (and, once the
// buffers have grown, a miss's bookkeeping) allocates nothing.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace steerdns {

// What one cached signature is for: the zone version, the queried pool (whose name owns the
// answer), the pool whose members answered (itself, or a fallback), the family, the TTL
// variant, and the member positions (ascending) in that pool's family.
struct AnswerSetKey {
    uint64_t generation = 0;  // zone::Zone::generation: a reload or re-signing misses
    uint32_t pool = 0;
    uint32_t answering = 0;
    uint16_t rrtype = 0;
    bool degraded = false;
    std::span<const uint32_t> positions;
};

class SignatureCache {
  public:
    static constexpr size_t kDefaultEntries = 10000;

    explicit SignatureCache(size_t entries = kDefaultEntries);

    // The cached RRSIG images (TYPE CLASS TTL RDLENGTH RDATA each, `count` of them) of `key`,
    // moved to the front of the LRU order; empty when absent, or when it expires within
    // `margin` seconds of `now` (signed again, never served expired).
    std::span<const uint8_t> find(const AnswerSetKey& key, int64_t now, int64_t margin,
                                  uint16_t& count);
    // Stores the RRSIGs of `key`, evicting the least recently used entry when full. Returns
    // the stored copy. `expiration`: the earliest RRSIG expiration, Unix seconds.
    std::span<const uint8_t> insert(const AnswerSetKey& key, std::span<const uint8_t> images,
                                    uint16_t count, int64_t expiration);
    // Forgets everything (capacity kept).
    void clear();

    size_t capacity() const { return slots_.size(); }
    size_t size() const { return used_; }

    // Read by other threads (/metrics); written by the owner only.
    struct Counters {
        std::atomic<uint64_t> hits{0};
        std::atomic<uint64_t> misses{0};
        std::atomic<uint64_t> evictions{0};
    };
    const Counters& counters() const { return counters_; }

  private:
    static constexpr uint32_t kNone = UINT32_MAX;
    struct Slot {
        uint64_t hash = 0;
        uint64_t generation = 0;
        uint32_t pool = 0;
        uint32_t answering = 0;
        uint16_t rrtype = 0;
        bool degraded = false;
        uint16_t count = 0;    // RRSIGs
        uint16_t members = 0;  // positions, stored first in `data`
        int64_t expiration = 0;
        uint32_t prev = kNone;  // LRU list: prev is more recent
        uint32_t next = kNone;
        uint32_t chain = kNone;     // next slot in the same hash bucket
        std::vector<uint8_t> data;  // positions (4 bytes each), then the RRSIG images
    };

    static uint64_t hash_of(const AnswerSetKey& key);
    bool matches(const Slot& s, uint64_t hash, const AnswerSetKey& key) const;
    uint32_t lookup(uint64_t hash, const AnswerSetKey& key) const;
    void unlink(uint32_t i);
    void push_front(uint32_t i);
    void unhash(uint32_t i);
    std::span<const uint8_t> images(const Slot& s) const {
        return {s.data.data() + size_t{s.members} * 4, s.data.size() - size_t{s.members} * 4};
    }
    static void bump(std::atomic<uint64_t>& c) {
        c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }

    std::vector<Slot> slots_;
    std::vector<uint32_t> buckets_;  // power of two, heads of `chain` lists
    size_t used_ = 0;
    uint32_t head_ = kNone;  // most recently used
    uint32_t tail_ = kNone;  // least recently used
    Counters counters_;
};

}  // namespace steerdns
