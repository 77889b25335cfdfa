// A compiled zone: every name and record rendered to wire form at load, so answering is
// lookups and memcpy. Immutable once built; shared by every snapshot that contains it, so a
// reload of one zone leaves the others untouched.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "steerdns/lb/pool.h"

namespace steerdns::health {
class ProbeLease;
}

namespace steerdns::zone {

struct ZoneKeys;  // signing.h

// Negative TTL of fallback "none" answers: short, so resolvers ask again soon after a
// backend recovers; never above the zone's own negative TTL.
inline constexpr uint32_t kFallbackNodataTtl = 10;

// One RRset: `count` records laid out back to back in Zone::images, each as
// TYPE CLASS TTL RDLENGTH RDATA (the owner is written at answer time).
struct RRset {
    uint16_t type = 0;
    uint16_t count = 0;
    uint32_t offset = 0;  // into Zone::images
    uint32_t length = 0;
    uint32_t ttl = 0;
    // For NS and CNAME the RDATA is one uncompressed name, which owners of later records
    // (glue, the CNAME target's answers) can point into.
    bool rdata_is_name = false;
    uint32_t additional_begin = 0;  // into Zone::additionals: glue for NS rrsets
    uint32_t additional_count = 0;
    // Its RRSIGs in a signed zone, laid out like the records in Zone::signatures.
    uint32_t sig_offset = 0;
    uint16_t sig_count = 0;
};

// The RRSIGs of one possible answer of a balanced name: the records of the members whose
// positions in the family's images are the bits of `members`, whatever their order.
struct SetSignature {
    uint64_t members = 0;
    uint32_t offset = 0;  // into Zone::signatures
    uint16_t count = 0;
};

// A pool's signed answer sets per family, sorted by `members`, for the normal TTL and (when
// the pool has one) the degraded TTL: the RRSIG covers the TTL too. Empty when the pool has
// too many possible answers to sign them all when the zone compiles.
struct PoolSignatures {
    std::vector<SetSignature> v4[2];  // [degraded]
    std::vector<SetSignature> v6[2];
    // The answer sets of the pool's "fallback" pool, signed at this pool's owner (the name the
    // fallback answers at); positions are the fallback pool's.
    std::vector<SetSignature> fallback_v4[2];
    std::vector<SetSignature> fallback_v6[2];
    // The owner's NSEC without A ([0]) or without AAAA ([1]), at the fallback NODATA TTL, with
    // its RRSIGs (type 0: the owner's NSEC lacks that family already). The denial of a NODATA
    // the pool answers for a family it holds: none of it up with fallback "none", or a
    // fallback pool without it. Records in Zone::images, RRSIGs in Zone::signatures.
    RRset nodata_nsec[2];
    const std::vector<SetSignature>& family(uint16_t rrtype, bool degraded, bool fallback) const {
        const int i = degraded ? 1 : 0;
        if (fallback) return rrtype == 28 ? fallback_v6[i] : fallback_v4[i];
        return rrtype == 28 ? v6[i] : v4[i];
    }
};

// Glue to add after the NS record `rr_index` of an RRset: the static A/AAAA rrsets of the
// node named by that record's RDATA.
struct Additional {
    uint16_t rr_index = 0;
    uint32_t node = 0;
};

namespace node_flag {
inline constexpr uint8_t apex = 1;
inline constexpr uint8_t delegation = 2;  // NS below the apex: a zone cut
inline constexpr uint8_t occluded = 4;    // below a zone cut: glue, not authoritative data
// `*.<this name>` exists: a lookup that stops here as closest encloser probes for it, and
// every other NXDOMAIN skips that probe (RFC 4592 4.1).
inline constexpr uint8_t wildcard_child = 8;
}  // namespace node_flag

struct Node {
    uint32_t name_offset = 0;  // into Zone::names, lowercased wire form
    uint8_t name_len = 0;
    uint8_t flags = 0;
    uint32_t rrset_begin = 0;  // into Zone::rrsets
    uint16_t rrset_count = 0;
    int32_t pool = -1;  // into Zone::pools: balanced A/AAAA at this name
    int32_t cut = -1;   // for occluded nodes: the delegation node above
    bool empty() const { return rrset_count == 0 && pool < 0; }
};

struct Zone {
    std::string file;
    std::vector<uint8_t> apex;  // lowercased wire name
    uint32_t serial = 0;
    std::string file_sha256;  // of the text it was compiled from: tells two versions apart
    uint32_t default_ttl = 0;
    uint32_t negative_ttl = 0;          // min(SOA TTL, SOA MINIMUM), RFC 2308
    std::vector<uint8_t> soa_negative;  // SOA image with negative_ttl, for NXDOMAIN/NODATA
    // The same with min(negative_ttl, kFallbackNodataTtl): a pool whose members are all
    // down and whose fallback is "none".
    std::vector<uint8_t> soa_fallback;

    std::vector<uint8_t> names;
    std::vector<uint8_t> images;
    std::vector<RRset> rrsets;
    std::vector<Additional> additionals;
    std::vector<Node> nodes;  // nodes[0] is the apex
    std::vector<lb::Pool> pools;
    // The probe slots the members use; released when the zone is freed. Null when compiled
    // without a registry (`steerdns check`, tests): every member is then always up.
    std::shared_ptr<const health::ProbeLease> probes;
    // The "geo" section (rules, and the GeoIP database opened at load), shared with the geo
    // pools; null without one.
    std::shared_ptr<const lb::GeoConfig> geo;
    // "notify": run by the control thread on each member state change (control/notify.h).
    std::vector<std::string> notify;

    // DNSSEC ("dnssec" in the file): every RRSIG and NSEC made when the zone compiled.
    bool dnssec = false;
    std::vector<uint8_t> signatures;  // RRSIG images, TYPE CLASS TTL RDLENGTH RDATA
    // The SOA's RRSIGs with the TTL of soa_negative and soa_fallback.
    uint32_t soa_negative_sig_offset = 0;
    uint32_t soa_fallback_sig_offset = 0;
    uint16_t soa_sig_count = 0;
    // The nodes that own an NSEC, in canonical order (RFC 4034 6.1): the chain denial
    // answers search for the NSEC covering a name.
    std::vector<uint32_t> nsec_order;
    std::vector<PoolSignatures> pool_signatures;  // parallel to pools; empty when unsigned
    // The RRSIGs of RFC 8482's HINFO answer to ANY at each node that answers it (parallel to
    // nodes; any_sig_count of them at each offset into signatures).
    std::vector<uint32_t> any_sig_offset;
    uint16_t any_sig_count = 0;
    // When to compile the file again (Unix seconds; 0: never): when a quarter of the
    // signatures' validity is left, or earlier at a key's next Publish, Activate, Inactive or
    // Delete time. The zone directory's periodic scan does it (server/zone_dir.cc).
    int64_t resign_at = 0;
    // What signs the answer sets not signed here (answer/signature_cache.h): the active keys,
    // the validity, and a number no other compiled zone has, which keys those signatures.
    std::shared_ptr<const ZoneKeys> keys;
    uint32_t signature_validity = 0;
    uint64_t generation = 0;
    // The keys directory, and its modification time when the keys were read: a key file added
    // later is picked up by compiling the zone again (server/zone_dir.cc).
    std::string keys_dir;
    int64_t keys_dir_mtime_ns = 0;

    std::span<const uint8_t> node_name(const Node& n) const {
        return {names.data() + n.name_offset, n.name_len};
    }
    std::span<const RRset> node_rrsets(const Node& n) const {
        return {rrsets.data() + n.rrset_begin, n.rrset_count};
    }
    const RRset* find_rrset(const Node& n, uint16_t type) const {
        for (const RRset& r : node_rrsets(n))
            if (r.type == type) return &r;
        return nullptr;
    }
    size_t member_count() const;
    std::string apex_text() const;
};

using ZonePtr = std::shared_ptr<const Zone>;

}  // namespace steerdns::zone
