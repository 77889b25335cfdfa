// 64-bit hashing for client affinity (rendezvous hashing). Fixed constants and an explicit byte
// order, never a per-process seed and never std::hash: every steerdns serving a zone (ns1, ns2,
// each anycast node, each restart) must send a client subnet to the same member, or a resolver
// that switches name servers would move its clients.
#pragma once

#include <cstdint>
#include <cstring>

namespace steerdns::lb {

// SplitMix64's finalizer: a bijection with full avalanche, so distinct inputs stay distinct.
inline uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    return x;
}

// Little-endian on every CPU, so the hash (and so every client's member) is portable.
inline uint64_t load_le64(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

// Hash of an address or subnet: family (4/6), prefix length and the address bytes (4 or 16).
// The prefix is part of the key so 198.51.100.0/24 and 198.51.100.0/25 are different clients.
inline uint64_t hash_address(uint8_t family, uint8_t prefix, const uint8_t* address) {
    uint8_t bytes[16] = {};
    std::memcpy(bytes, address, family == 6 ? 16 : 4);
    const uint64_t tag = (uint64_t{family} << 8) | prefix;
    uint64_t h = mix64(load_le64(bytes) ^ 0x243F6A8885A308D3ull);
    h = mix64(h ^ load_le64(bytes + 8) ^ 0x13198A2E03707344ull);
    return mix64(h ^ tag);
}

// The rendezvous draw of one (client, member) pair. A 64x64->128 multiply folds both keys
// together so that, for one client, the draws of different members behave independently;
// the finalizer spreads the fold. Either key changing changes the result unpredictably.
inline uint64_t rendezvous_hash(uint64_t client_key, uint64_t member_key) {
    const unsigned __int128 product =
        static_cast<unsigned __int128>(client_key ^ 0xA4093822299F31D0ull) *
        (member_key ^ 0x082EFA98EC4E6C89ull);
    return mix64(static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64));
}

}  // namespace steerdns::lb
