// Where in its interval a probe runs. The phase comes from the probe's key, not from when
// the probe was added: ten thousand probes of one check spread evenly over the interval,
// each keeps its place across reloads and restarts, and a reload that adds probes puts
// each at its own place instead of starting them together. Deadlines are multiples of the
// interval plus the phase on the monotonic clock, so a late loop turn delays one probe and
// the next is back on time (no drift, no catch-up burst).
#pragma once

#include <cstdint>
#include <string_view>

namespace steerdns::health {

// In [0, interval_ms): a hash of the key (the same key gives the same phase everywhere).
uint64_t probe_phase_ms(std::string_view key, uint64_t interval_ms);

// Milliseconds from now_ms to the first deadline strictly after it: the next time t with
// t % interval_ms == phase_ms. In [1, interval_ms].
uint64_t next_probe_in_ms(uint64_t now_ms, uint64_t phase_ms, uint64_t interval_ms);

}  // namespace steerdns::health
