// One RRSIG over one RRset with one key (RFC 4034 3.1.8.1: the RRset in canonical form and
// order, every record at the set's TTL), with the validity period the caller chose. The same
// bytes ldns-signzone signs, so deterministic algorithms (Ed25519) give the same signature.
#pragma once

#include <cstdint>
#include <string>

#include "steerdns/dnssec/key.h"
#include "steerdns/dnssec/ldns_ptr.h"

namespace steerdns::dnssec {

struct Validity {
    uint32_t inception = 0;   // Unix seconds (RFC 4034 serial arithmetic on the wire)
    uint32_t expiration = 0;
};

// Null with `error` set when the key has no private part or signing fails. `rrset` is not
// modified; it must hold records of one owner, class and type.
RrPtr sign_rrset(const ldns_rr_list* rrset, const Key& key, Validity validity, std::string& error);

}  // namespace steerdns::dnssec
