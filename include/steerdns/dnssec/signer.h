// One RRSIG over one RRset with one key (RFC 4034 3.1.8.1: the RRset in canonical form and
// order, every record at the set's TTL), with the validity period the caller chose. The same
// bytes ldns-signzone signs, so deterministic algorithms (Ed25519) give the same signature.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "steerdns/dnssec/key.h"
#include "steerdns/dnssec/ldns_ptr.h"

namespace steerdns::dnssec {

struct Validity {
    uint32_t inception = 0;  // Unix seconds (RFC 4034 serial arithmetic on the wire)
    uint32_t expiration = 0;
};

// Null with `error` set when the key has no private part or signing fails. `rrset` is not
// modified; it must hold records of one owner, class and type.
RrPtr sign_rrset(const ldns_rr_list* rrset, const Key& key, Validity validity, std::string& error);

}  // namespace steerdns::dnssec

namespace steerdns::dnssec {

// One RRset as the zone compiler holds it: a lowercased wire owner and each record's rdata.
struct WireRRset {
    std::span<const uint8_t> owner;
    uint16_t type = 0;
    uint32_t ttl = 0;
    std::vector<std::span<const uint8_t>> rdatas;
};

// Signs `rrset` with each of `keys` and appends one image per RRSIG to `out`, as the answer path
// writes records: TYPE CLASS TTL RDLENGTH RDATA, the owner left out (written at answer time),
// the signer's name uncompressed (RFC 4034 3.1.7). Returns the number of RRSIGs, or -1 with
// `error` set.
int sign_to_images(const WireRRset& rrset, const std::vector<const Key*>& keys, Validity validity,
                   std::vector<uint8_t>& out, std::string& error);

}  // namespace steerdns::dnssec
