// Record types by name: the one table every log line, message and metric label reads, so a
// type is spelled the same everywhere (the mnemonics ldns and dig print). Not for the hot path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace steerdns::dns {

// What follows the owner name in every record: TYPE CLASS TTL RDLENGTH.
inline constexpr size_t kRrFixedSize = 10;

// "A", "AAAA", "NSAP-PTR", ... for a registered type; null for any other (callers print
// rr_type_text()'s "TYPE" + number instead).
const char* rr_type_name(uint16_t type);

// The mnemonic, or "TYPE65280" for a type without one (RFC 3597 3).
void append_rr_type(std::string& out, uint16_t type);
std::string rr_type_text(uint16_t type);

}  // namespace steerdns::dns
