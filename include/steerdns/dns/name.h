// Domain names in lowercased, uncompressed wire form: the only form the server keeps and
// compares, so a lookup is a hash of bytes and a memcmp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "steerdns/dns/wire.h"

namespace steerdns::dns {

// Offsets of each label's length byte inside a wire name (the root label excluded), so
// suffixes can be taken without re-walking the name.
struct LabelIndex {
    uint8_t offset[kMaxLabels];
    uint8_t count = 0;
};

// Fills `index` for a well-formed wire name (as produced by read_qname or compile).
void index_labels(std::span<const uint8_t> name, LabelIndex& index);

// Number of labels, root excluded.
size_t label_count(std::span<const uint8_t> name);

// True when `name` equals `parent` or lies below it (both lowercased wire names).
bool is_subdomain(std::span<const uint8_t> name, std::span<const uint8_t> parent);

// RFC 4034 6.1 canonical order of two lowercased wire names: label by label from the root,
// each label compared as unsigned bytes, a shorter label (and a name with fewer labels) first.
// <0, 0, >0 like memcmp. No allocation: the NSEC chain is searched with it per query.
int canonical_compare(std::span<const uint8_t> a, std::span<const uint8_t> b);

// Hash of a lowercased wire name; stable within one process only.
uint64_t hash_name(const uint8_t* name, size_t len);

// Presentation form for logs and messages ("www.lb.example.test."); not for the hot path.
// Inside a label '.' and '\' are written with a backslash before them, and bytes outside
// '!'..'~' as \DDD, as in zone files. `decimal_escapes` lists more bytes to write as \DDD
// (the query log adds '"', '=' and '\' so that a logfmt value never needs quotes).
void append_name_text(std::string& out, std::span<const uint8_t> name,
                      std::string_view decimal_escapes = {});
std::string name_to_text(std::span<const uint8_t> name);

}  // namespace steerdns::dns
