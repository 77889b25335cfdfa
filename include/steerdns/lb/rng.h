// Per-worker random source: xoshiro256** seeded once, so weighted draws need no lock and no
// syscall. Tests seed it to make distributions reproducible.
#pragma once

#include <cstdint>

namespace steerdns::lb {

class Rng {
  public:
    explicit Rng(uint64_t seed = 0x5EEDD15EA5Eull) { reseed(seed); }

    void reseed(uint64_t seed) {
        for (auto& s : s_) {
            seed += 0x9E3779B97F4A7C15ull;  // splitmix64 expands one seed into four words
            uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            s = z ^ (z >> 31);
        }
    }

    uint64_t next() {
        const uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    // Uniform in [0, n) without modulo bias worth caring about (Lemire's multiply-shift).
    uint64_t bounded(uint64_t n) {
        return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
    }

  private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t s_[4];
};

}  // namespace steerdns::lb
