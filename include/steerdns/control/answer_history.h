// Answers per member over the last ten minutes, for the status page's share bars and
// sparklines. The control thread samples the response totals (ResponseTotals: the workers'
// per-snapshot counters, summed and carried across reloads) every 10 s and keeps the
// differences in a ring of 60 per member: the workers do nothing more on the query path, and
// memory stays at ~160 bytes per member (16 MB for a zone of 100 000 members, issue 17).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "steerdns/answer/snapshot.h"
#include "steerdns/control/response_totals.h"

namespace steerdns::control {

inline constexpr uint64_t kAnswerSampleMs = 10000;
inline constexpr size_t kAnswerSamples = 60;          // 10 minutes
inline constexpr size_t kAnswerSamplesPerMinute = 6;  // "share over the last minute"

class AnswerHistory {
  public:
    // One member's samples, by sample number % kAnswerSamples, in 16 bits each: a sample is
    // stored << shift answers. Exact below 65 536 answers in 10 s (6 553 a second for one
    // member); above, the shift grows and the ring is kept to 16 significant bits (1 part
    // in 32 768 of its largest sample), and it shrinks back once the large samples are gone.
    // Half the size of 32-bit samples: 12 MB less for 100 000 members.
    class Ring {
      public:
        uint32_t get(size_t slot) const { return static_cast<uint32_t>(samples_[slot]) << shift_; }
        void put(size_t slot, uint32_t count);

      private:
        std::array<uint16_t, kAnswerSamples> samples_{};
        uint8_t shift_ = 0;
    };
    struct Pool {
        std::vector<std::string> addresses;  // canonical, in the pool's order at the last sample
        std::vector<uint64_t> totals;        // each member's total at the last sample
        std::vector<Ring> rings;
    };

    // Takes sample number samples(): every member of `current` gets the answers it was in
    // since the previous sample (`totals` are the running totals). A member new to its pool
    // gets 0 for this one (its total may include answers from before it was last removed);
    // only at the very first sample does a total count whole. Pools and members no longer in
    // `current` are forgotten. `revision` is the status revision the sample is filed under
    // (StatusRevisions), so ?since= knows which samples a client lacks.
    void sample(const Snapshot& current, const ResponseTotals& totals, uint64_t revision);

    uint64_t samples() const { return samples_; }  // taken so far
    // The oldest sample still kept.
    uint64_t first_kept() const {
        return samples_ > kAnswerSamples ? samples_ - kAnswerSamples : 0;
    }
    // The revision sample `n` was filed under (first_kept() <= n < samples()).
    uint64_t revision_of(uint64_t n) const { return revisions_[n % kAnswerSamples]; }

    const Pool* pool(const std::string& zone, const std::string& pool) const;
    // Member `i` of `p`: its answers in sample `n`, and summed over the last minute.
    static uint32_t count(const Pool& p, size_t i, uint64_t n) {
        return p.rings[i].get(n % kAnswerSamples);
    }
    uint64_t last_minute(const Pool& p, size_t i) const;

    // For each of `addresses` (a model's pool, which may be newer than the last sample), its
    // index in `p`, or -1.
    static std::vector<int32_t> align(const Pool& p, const std::vector<std::string>& addresses);

  private:
    std::map<std::pair<std::string, std::string>, Pool> pools_;  // by zone apex, pool name
    uint64_t samples_ = 0;
    std::array<uint64_t, kAnswerSamples> revisions_{};
};

}  // namespace steerdns::control
