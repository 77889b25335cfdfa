#include "steerdns/dnssec/signer.h"

namespace steerdns::dnssec {

RrPtr sign_rrset(const ldns_rr_list* rrset, const Key& key, Validity validity,
                 std::string& error) {
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
