#include "steerdns/server/connection_limiter.h"

#include <cstring>

#include "steerdns/lb/hash64.h"

namespace steerdns::server {

ConnectionLimiter::ConnectionLimiter(uint32_t max_total, uint32_t max_per_client, uint64_t seed)
    : max_total_(max_total),
      max_per_client_(max_per_client),
      seed_(seed),
      per_client_(std::make_unique<std::atomic<uint32_t>[]>(kSlots)) {}

ConnectionLimiter::Admit ConnectionLimiter::acquire(const lb::Client& client, uint32_t& slot) {
    // Increment first, then check: two workers admitting at once can never both take the
    // last place.
    if (total_.fetch_add(1, std::memory_order_relaxed) >= max_total_) {
        total_.fetch_sub(1, std::memory_order_relaxed);
        return Admit::total_full;
    }
    uint8_t key[16] = {};
    std::memcpy(key, client.address, client.family == 6 ? 8 : 4);  // IPv6: the /64
    const uint8_t prefix = client.family == 6 ? 64 : 32;
    slot = static_cast<uint32_t>(lb::mix64(lb::hash_address(client.family, prefix, key) ^ seed_) &
                                 (kSlots - 1));
    if (per_client_[slot].fetch_add(1, std::memory_order_relaxed) >= max_per_client_) {
        per_client_[slot].fetch_sub(1, std::memory_order_relaxed);
        total_.fetch_sub(1, std::memory_order_relaxed);
        return Admit::client_full;
    }
    return Admit::ok;
}

void ConnectionLimiter::release(uint32_t slot) {
    per_client_[slot & (kSlots - 1)].fetch_sub(1, std::memory_order_relaxed);
    total_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace steerdns::server
