// Owning handles for ldns objects, so no ldns_*_free call is ever written by hand. They live in
// dnssec/, the lowest layer that needs ldns's keys, and zone/ldns_ptr.h names them for zone/.
#pragma once

// ldns/common.h defines bool, true and false as macros (true as the int 1) unless
// <stdbool.h> came first, which breaks std::optional's operator<=> and friends in C++.
#include <ldns/ldns.h>
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers): must precede ldns

#include <memory>

namespace steerdns::dnssec {

struct LdnsRrFree {
    void operator()(ldns_rr* p) const { ldns_rr_free(p); }
};
struct LdnsRdfFree {
    void operator()(ldns_rdf* p) const { ldns_rdf_deep_free(p); }
};
struct LdnsBufferFree {
    void operator()(ldns_buffer* p) const { ldns_buffer_free(p); }
};
struct LdnsPktFree {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct LdnsKeyFree {
    void operator()(ldns_key* p) const { ldns_key_deep_free(p); }
};
// Deep: the list owns its records (an RRset assembled for signing).
struct LdnsRrListFree {
    void operator()(ldns_rr_list* p) const { ldns_rr_list_deep_free(p); }
};

using RrPtr = std::unique_ptr<ldns_rr, LdnsRrFree>;
using RdfPtr = std::unique_ptr<ldns_rdf, LdnsRdfFree>;
using BufferPtr = std::unique_ptr<ldns_buffer, LdnsBufferFree>;
using PktPtr = std::unique_ptr<ldns_pkt, LdnsPktFree>;
using KeyPtr = std::unique_ptr<ldns_key, LdnsKeyFree>;
using RrListPtr = std::unique_ptr<ldns_rr_list, LdnsRrListFree>;

}  // namespace steerdns::dnssec
