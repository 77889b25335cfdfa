// DNSSEC keys in BIND's file format (K<zone>.+<alg>+<tag>.key and .private), as ldns-keygen,
// dnssec-keygen and `steerdns keys create` write them, with BIND's timing metadata.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "steerdns/dnssec/ldns_ptr.h"

namespace steerdns::dnssec {

// The algorithms we sign with: ECDSAP256SHA256 (the default everywhere), ED25519, and
// RSASHA256 for parents that need it.
inline constexpr uint8_t kEcdsaP256Sha256 = 13;
inline constexpr uint8_t kEd25519 = 15;
inline constexpr uint8_t kRsaSha256 = 8;
bool signing_algorithm_supported(int algorithm);
// "ECDSAP256SHA256", "ED25519", "RSASHA256", else the number.
std::string algorithm_name(int algorithm);

inline constexpr uint16_t kFlagZone = 256;
inline constexpr uint16_t kFlagSep = 1;

// BIND's "; Publish: 20261206120000 (...)" comments of the .key file, as Unix seconds. An
// absent Publish or Activate means "from the start"; an absent Inactive or Delete, "never".
struct KeyTiming {
    std::optional<int64_t> created;
    std::optional<int64_t> publish;
    std::optional<int64_t> activate;
    std::optional<int64_t> inactive;
    std::optional<int64_t> remove;  // BIND's "Delete"
};

struct Key {
    std::string file;  // the .key file it was read from
    std::string zone;  // the owner, lowercase, absolute ("lb.example.test.")
    uint16_t flags = 0;
    uint8_t algorithm = 0;
    uint16_t tag = 0;
    KeyTiming timing;
    RrPtr dnskey;        // the public record as published
    KeyPtr private_key;  // null when only the .key was read

    bool sep() const { return (flags & kFlagSep) != 0; }
    // In the DNSKEY RRset at `now`.
    bool published(int64_t now) const;
    // Signs at `now` (published too: a signature by a key nobody can fetch is useless).
    bool active(int64_t now) const;
};

// "20261206120000" (UTC) -> Unix seconds; false when malformed.
bool parse_key_time(const std::string& text, int64_t& out);
std::string format_key_time(int64_t t);

// Reads `key_path` (a .key file) and, when `with_private`, the .private beside it. Errors
// name the file and say what is wrong.
bool read_key(const std::string& key_path, bool with_private, Key& out, std::string& error);

// Every K<zone>.+NNN+TTTTT.key in `dir` for `zone` (any case; "" = the zone of the first key
// file); keys of other zones are an error (a directory per zone), as is a directory with none.
bool read_key_dir(const std::string& dir, const std::string& zone, bool with_private,
                  std::vector<Key>& out, std::string& error);

// The SHA-256 DS record of a key, in presentation format (one line, no newline).
std::string ds_record(const Key& key, uint32_t ttl);

}  // namespace steerdns::dnssec
