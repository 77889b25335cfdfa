#include "steerdns/server/rrl.h"

#include <bit>
#include <cstring>

#include "steerdns/lb/hash64.h"

namespace steerdns::server {
namespace {

// An entry, packed so that one compare-and-swap updates it whole:
//   tag (20 bits) | second (16) | responses this second (20) | slip phase (8).
// A tag is never 0, so an all-zero word is a free entry.
constexpr int kTagShift = 44;
constexpr int kSecondShift = 28;
constexpr int kCountShift = 8;
constexpr uint64_t kTagMask = 0xFFFFF;
constexpr uint64_t kSecondMask = 0xFFFF;
constexpr uint64_t kCountMask = 0xFFFFF;
constexpr uint64_t kSlipMask = 0xFF;

struct Entry {
    uint64_t tag = 0;
    uint64_t second = 0;
    uint64_t count = 0;
    uint64_t slip = 0;

    static Entry unpack(uint64_t w) {
        Entry e;
        e.tag = (w >> kTagShift) & kTagMask;
        e.second = (w >> kSecondShift) & kSecondMask;
        e.count = (w >> kCountShift) & kCountMask;
        e.slip = w & kSlipMask;
        return e;
    }
    uint64_t pack() const {
        return (tag << kTagShift) | (second << kSecondShift) | (count << kCountShift) | slip;
    }
};

// How many seconds ago an entry was last used (mod 2^16, which is plenty to pick the older).
uint64_t age(uint64_t now_second, const Entry& e) {
    return (now_second - e.second) & kSecondMask;
}

// The masked prefix, as lb::hash_address wants it.
void mask_prefix(const lb::Client& c, uint8_t prefix, uint8_t (&out)[16]) {
    const size_t len = c.family == 6 ? 16 : 4;
    std::memset(out, 0, sizeof out);
    std::memcpy(out, c.address, len);
    for (size_t i = 0; i < len; ++i) {
        const int keep = static_cast<int>(prefix) - static_cast<int>(i * 8);
        if (keep >= 8) continue;
        out[i] = keep <= 0 ? 0 : static_cast<uint8_t>(out[i] & (0xFF << (8 - keep)));
    }
}

}  // namespace

RrlClass rrl_class(dns::Rcode rcode) {
    switch (rcode) {
        case dns::Rcode::noerror:
            return RrlClass::answer;  // answers, NODATA and referrals alike
        case dns::Rcode::nxdomain:
            return RrlClass::nxdomain;
        default:
            return RrlClass::error;
    }
}

RateLimiter::RateLimiter(const RrlConfig& config, uint64_t seed) : config_(config), seed_(seed) {
    if (config_.responses_per_second > kMaxRate) config_.responses_per_second = kMaxRate;
    if (config_.slip > kMaxSlip) config_.slip = kMaxSlip;
    if (!enabled()) return;
    const size_t sets = std::bit_ceil(std::max<size_t>(1, config_.table_size / 2));
    mask_ = sets - 1;
    // Value-initialised: the pages stay untouched (and not resident) until a prefix uses them.
    table_ = std::make_unique<std::atomic<uint64_t>[]>(sets * 2);
}

RrlVerdict RateLimiter::check(const lb::Client& client, RrlClass cls, uint64_t now_ms) {
    if (!enabled()) return RrlVerdict::send;
    uint8_t key[16];
    const uint8_t prefix = client.family == 6 ? config_.ipv6_prefix : config_.ipv4_prefix;
    mask_prefix(client, prefix, key);
    const uint64_t h = lb::mix64(lb::hash_address(client.family, prefix, key) ^ seed_ ^
                                 static_cast<uint64_t>(cls));
    const uint64_t tag = ((h >> kTagShift) & kTagMask) | 1;
    const uint64_t second = (now_ms / 1000) & kSecondMask;
    std::atomic<uint64_t>* set = &table_[(h & mask_) * 2];

    // Two ways per set: a prefix keeps its entry unless two busier ones arrive in the same
    // set in the same second. Lost races retry; after a few, the response goes out (fail
    // open: a limiter must never cost a legitimate answer on its own account).
    for (int attempt = 0; attempt < 4; ++attempt) {
        uint64_t seen[2] = {set[0].load(std::memory_order_relaxed),
                            set[1].load(std::memory_order_relaxed)};
        Entry e[2] = {Entry::unpack(seen[0]), Entry::unpack(seen[1])};
        int way;
        if (e[0].tag == tag) {
            way = 0;
        } else if (e[1].tag == tag) {
            way = 1;
        } else {
            // A free way, else the one used longest ago.
            way = seen[0] == 0 ? 0 : seen[1] == 0 ? 1 : age(second, e[1]) > age(second, e[0]);
        }
        Entry next = e[way];
        if (next.tag != tag) next = Entry{tag, second, 0, 0};
        if (next.second != second) {
            next.second = second;
            next.count = 0;
        }
        RrlVerdict verdict = RrlVerdict::send;
        if (next.count < config_.responses_per_second) {
            ++next.count;
        } else if (config_.slip == 0) {
            verdict = RrlVerdict::drop;
        } else {
            next.slip = (next.slip + 1) % config_.slip;
            verdict = next.slip == 0 ? RrlVerdict::slip : RrlVerdict::drop;
        }
        if (set[way].compare_exchange_weak(seen[way], next.pack(), std::memory_order_relaxed))
            return verdict;
    }
    return RrlVerdict::send;
}

size_t slip_response(std::span<uint8_t> msg, size_t len) {
    if (len < dns::kHeaderSize || msg.size() < len) return len;
    size_t end = dns::kHeaderSize;
    if (dns::load_u16(&msg[4]) == 1) {
        // Our own question, copied from the query uncompressed: walk its labels.
        size_t p = dns::kHeaderSize;
        while (p < len && msg[p] != 0 && (msg[p] & 0xC0) == 0) p += 1 + size_t{msg[p]};
        if (p < len && msg[p] == 0 && p + 5 <= len) {
            end = p + 5;
        } else {
            dns::store_u16(&msg[4], 0);  // cannot happen with our writer; stay well-formed
        }
    }
    msg[2] = static_cast<uint8_t>((msg[2] | dns::kFlagTC) & ~dns::kFlagAA);
    std::memset(&msg[6], 0, 6);  // no answer, authority or additional records
    return end;
}

}  // namespace steerdns::server
