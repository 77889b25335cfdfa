// Caps on open TCP connections, shared by every worker: one total, and one per client (an
// IPv4 address, or an IPv6 /64, the block one host usually has). Counts live in a fixed
// table of atomics, so admitting a connection takes no lock and no allocation. Clients whose
// keyed hash lands on the same counter share it (1 in 65536 for a given pair; the key is
// secret, so nobody can aim a collision at someone else).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "steerdns/lb/policy.h"

namespace steerdns::server {

class ConnectionLimiter {
  public:
    static constexpr uint32_t kSlots = 1u << 16;

    ConnectionLimiter(uint32_t max_total, uint32_t max_per_client, uint64_t seed);

    enum class Admit : uint8_t { ok, total_full, client_full };

    // On ok, `slot` must later be handed to release().
    Admit acquire(const lb::Client& client, uint32_t& slot);
    void release(uint32_t slot);

    uint32_t open() const { return total_.load(std::memory_order_relaxed); }
    uint32_t max_total() const { return max_total_; }

  private:
    uint32_t max_total_;
    uint32_t max_per_client_;
    uint64_t seed_;
    std::atomic<uint32_t> total_{0};
    std::unique_ptr<std::atomic<uint32_t>[]> per_client_;
};

}  // namespace steerdns::server
