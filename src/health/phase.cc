#include "steerdns/health/phase.h"

namespace steerdns::health {

uint64_t probe_phase_ms(std::string_view key, uint64_t interval_ms) {
    if (interval_ms <= 1) return 0;
    // FNV-1a, then splitmix64's finalizer: keys differ in a few characters (the address),
    // and the low bits taken by the modulo must differ too.
    uint64_t h = 14695981039346656037ull;
    for (const char c : key) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ull;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h % interval_ms;
}

uint64_t next_probe_in_ms(uint64_t now_ms, uint64_t phase_ms, uint64_t interval_ms) {
    if (interval_ms == 0) return 1;
    const uint64_t at = now_ms % interval_ms;
    const uint64_t phase = phase_ms % interval_ms;
    return phase > at ? phase - at : interval_ms - (at - phase);
}

}  // namespace steerdns::health
