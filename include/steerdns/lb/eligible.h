// The first step of every policy: which positions of one FamilySet a query may be answered
// with. Health is applied here, once, so round robin and the steering policies (weighted,
// failover, hash, geo: lb::Candidates::eligible takes positions() as it is) all pick among
// the same members. Drained members (enabled: false) are not in a FamilySet at all.
//
// positions() is ascending. For a family without any probed member, or when every member is
// up, it is the family's own identity list built at load (no health read, no copy); else the
// up positions are written into a buffer allocated once with the worker's AnswerContext. No
// allocation, no lock: one relaxed byte load per probed member.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "steerdns/health/health_table.h"
#include "steerdns/lb/pool.h"

namespace steerdns::lb {

// compile() refuses larger pools.
inline constexpr size_t kMaxPoolMembers = 65535;

class Eligible {
  public:
    // Every position of `fs` (fallback "all", or no health to apply).
    void set_all(const FamilySet& fs) {
        positions_ = fs.positions;
        all_ = true;
    }

    // The up members of `fs` according to `health` (null: everything is up): unknown and up
    // members; pending ones only when the family has none of those (a reload's new member
    // is answered before its first probe only when nothing tested is left).
    void compute(const FamilySet& fs, const health::HealthTable* health) {
        if (health == nullptr || !fs.probed) return set_all(fs);
        const size_t n = fs.size();
        uint32_t* out = buffer_.data();
        size_t k = 0;
        for (size_t i = 0; i < n; ++i) {
            out[k] = static_cast<uint32_t>(i);
            k += health->preferred(fs.slots[i]) ? 1 : 0;  // branch-free: flips are rare
        }
        all_ = k == n;
        if (k == 0) {  // rare: everything down or pending; the second pass costs nothing else
            for (size_t i = 0; i < n; ++i) {
                out[k] = static_cast<uint32_t>(i);
                k += health->up(fs.slots[i]) ? 1 : 0;
            }
        }
        positions_ =
            all_ ? std::span<const uint32_t>(fs.positions) : std::span<const uint32_t>(out, k);
        // all() false with pending members answered: degraded (ttl_degraded applies).
    }

    // Ascending positions in the FamilySet.
    std::span<const uint32_t> positions() const { return positions_; }
    uint32_t count() const { return static_cast<uint32_t>(positions_.size()); }
    bool all() const { return all_; }

  private:
    std::span<const uint32_t> positions_;
    bool all_ = true;
    // Sized once for the largest pool (256 KiB per worker), so compute() never allocates.
    std::vector<uint32_t> buffer_ = std::vector<uint32_t>(kMaxPoolMembers);
};

}  // namespace steerdns::lb
