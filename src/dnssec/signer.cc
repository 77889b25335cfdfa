#include "steerdns/dnssec/signer.h"

#include <vector>

namespace steerdns::dnssec {

RrPtr sign_rrset(const ldns_rr_list* rrset, const Key& key, Validity validity, std::string& error) {
    if (!key.private_key) {
        error = key.file + ": no private key loaded";
        return nullptr;
    }
    if (rrset == nullptr || ldns_rr_list_rr_count(rrset) == 0) {
        error = "nothing to sign";
        return nullptr;
    }
    const RrListPtr canonical(ldns_rr_list_clone(rrset));
    const uint32_t ttl = ldns_rr_ttl(ldns_rr_list_rr(rrset, 0));
    for (size_t i = 0; i < ldns_rr_list_rr_count(canonical.get()); ++i) {
        ldns_rr* rr = ldns_rr_list_rr(canonical.get(), i);
        ldns_rr_set_ttl(rr, ttl);
        ldns_rr2canonical(rr);
    }
    ldns_rr_list_sort(canonical.get());
    RrPtr sig(ldns_create_empty_rrsig(canonical.get(), key.private_key.get()));
    if (!sig) {
        error = "cannot build an RRSIG";
        return nullptr;
    }
    // The signer's name as keys were written ("LB.Example.Test."): canonical on the wire.
    ldns_dname2canonical(ldns_rr_rdf(sig.get(), 7));
    ldns_rr_rrsig_set_inception(sig.get(),
                                ldns_native2rdf_int32(LDNS_RDF_TYPE_TIME, validity.inception));
    ldns_rr_rrsig_set_expiration(sig.get(),
                                 ldns_native2rdf_int32(LDNS_RDF_TYPE_TIME, validity.expiration));
    const BufferPtr data(ldns_buffer_new(LDNS_MAX_PACKETLEN));
    if (ldns_rrsig2buffer_wire(data.get(), sig.get()) != LDNS_STATUS_OK ||
        ldns_rr_list2buffer_wire(data.get(), canonical.get()) != LDNS_STATUS_OK) {
        error = "the RRset does not fit in a message";
        return nullptr;
    }
    ldns_rdf* signature = ldns_sign_public_buffer(data.get(), key.private_key.get());
    if (signature == nullptr) {
        error = key.file + ": signing failed";
        return nullptr;
    }
    ldns_rr_rrsig_set_sig(sig.get(), signature);
    return sig;
}

}  // namespace steerdns::dnssec

namespace steerdns::dnssec {
namespace {

void put_u16(std::vector<uint8_t>& v, uint16_t x) {
    v.push_back(static_cast<uint8_t>(x >> 8));
    v.push_back(static_cast<uint8_t>(x));
}

void put_u32(std::vector<uint8_t>& v, uint32_t x) {
    put_u16(v, static_cast<uint16_t>(x >> 16));
    put_u16(v, static_cast<uint16_t>(x));
}

// The ldns form of one wire record, for signing.
RrPtr wire_record(std::span<const uint8_t> owner, uint16_t type, uint32_t ttl,
                  std::span<const uint8_t> rdata) {
    std::vector<uint8_t> wire(owner.begin(), owner.end());
    put_u16(wire, type);
    put_u16(wire, LDNS_RR_CLASS_IN);
    put_u32(wire, ttl);
    put_u16(wire, static_cast<uint16_t>(rdata.size()));
    wire.insert(wire.end(), rdata.begin(), rdata.end());
    ldns_rr* rr = nullptr;
    size_t pos = 0;
    if (ldns_wire2rr(&rr, wire.data(), wire.size(), &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
        return nullptr;
    return RrPtr(rr);
}

}  // namespace

int sign_to_images(const WireRRset& rrset, const std::vector<const Key*>& keys, Validity validity,
                   std::vector<uint8_t>& out, std::string& error) {
    RrListPtr list(ldns_rr_list_new());
    for (std::span<const uint8_t> rdata : rrset.rdatas) {
        RrPtr rr = wire_record(rrset.owner, rrset.type, rrset.ttl, rdata);
        if (!rr) {
            error = "cannot read back a record of type " + std::to_string(rrset.type);
            return -1;
        }
        ldns_rr_list_push_rr(list.get(), rr.release());
    }
    int count = 0;
    for (const Key* key : keys) {
        const RrPtr sig = sign_rrset(list.get(), *key, validity, error);
        if (!sig) return -1;
        const BufferPtr rdata(ldns_buffer_new(512));
        if (ldns_rr_rdata2buffer_wire(rdata.get(), sig.get()) != LDNS_STATUS_OK) {
            error = "cannot render an RRSIG";
            return -1;
        }
        const size_t len = ldns_buffer_position(rdata.get());
        put_u16(out, LDNS_RR_TYPE_RRSIG);
        put_u16(out, LDNS_RR_CLASS_IN);
        put_u32(out, rrset.ttl);
        put_u16(out, static_cast<uint16_t>(len));
        const uint8_t* p = ldns_buffer_begin(rdata.get());
        out.insert(out.end(), p, p + len);
        ++count;
    }
    return count;
}

}  // namespace steerdns::dnssec
