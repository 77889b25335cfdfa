// DNSSEC for a compiled zone (README "DNSSEC"): the keys of its "dnssec" object, the apex
// records they publish, the NSEC chain, and every RRSIG, all made when the zone compiles so
// that answering a signed query is copying bytes, as answering any other query is.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "steerdns/dnssec/key.h"
#include "steerdns/zone/zone.h"

namespace steerdns::zone {

// The keys of one zone at one moment: those in the DNSKEY RRset, and those that sign.
struct ZoneKeys {
    std::vector<dnssec::Key> all;
    std::vector<const dnssec::Key*> published;
    std::vector<const dnssec::Key*> sign_keys;     // DNSKEY: the active KSKs (or any active key)
    std::vector<const dnssec::Key*> sign_records;  // the rest: the active ZSKs (or the KSKs)
};

// Reads `dir` for `zone` (lowercase, absolute) and picks the keys by their timing at `now`.
// False with `error` (naming the file) when a key is unreadable or for another zone, or when
// no key is active.
bool read_zone_keys(const std::string& dir, const std::string& zone, int64_t now, ZoneKeys& out,
                    std::string& error);

// The rdata of an NSEC: the next owner (lowercased wire) and the bitmap of `types`.
std::string nsec_rdata(std::span<const uint8_t> next, std::vector<uint16_t> types);

// Signs every authoritative RRset of `z` (glue and a cut's NS aside), its negative SOA copies
// and the answer sets of its small pools; fills z.nsec_order. `answers_cap`: the most answer
// sets a pool family may have to be signed whole at compile (README "DNSSEC").
bool sign_zone(Zone& z, const ZoneKeys& keys, uint32_t validity, int64_t now, std::string& error);

inline constexpr size_t kMaxPrecomputedSets = 256;

// The rdata of RFC 8482's HINFO answer to ANY, "RFC8482" "" (answer/answer.cc writes it).
inline constexpr uint8_t kAnyHinfoRdata[9] = {7, 'R', 'F', 'C', '8', '4', '8', '2', 0};

// Signs a balanced answer made after compile (answer/signature_cache.h): the records at
// `positions` of family `fs` (the degraded images when `degraded`) at the name `owner` of the
// pool, with z.keys, valid from an hour before `now` to z.signature_validity after it.
// Appends the RRSIG images to `out` and returns their count (-1 with `error` set), and their
// expiration in `expiration`. Allocates: a cache miss, not the warm path.
int sign_answer_set(const Zone& z, std::span<const uint8_t> owner, const lb::FamilySet& fs,
                    bool degraded, std::span<const uint32_t> positions, int64_t now,
                    std::vector<uint8_t>& out, int64_t& expiration, std::string& error);

}  // namespace steerdns::zone
