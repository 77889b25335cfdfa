#include "steerdns/zone/signing.h"

#include <algorithm>
#include <atomic>
#include <set>

#include "steerdns/dns/name.h"
#include "steerdns/dns/rr_type.h"
#include "steerdns/dns/wire.h"
#include "steerdns/dnssec/signer.h"

namespace steerdns::zone {
namespace {

constexpr uint16_t kTypeNsec = 47;
constexpr uint16_t kTypeDs = 43;
constexpr uint16_t kTypeDnskey = 48;
// RRSIGs are made valid from an hour back, for resolvers whose clocks run behind ours.
constexpr int64_t kClockSkew = 3600;

// The rdatas of the records laid out from `p`, `count` of them (TYPE CLASS TTL RDLENGTH RDATA).
std::vector<std::span<const uint8_t>> rdatas_of(const uint8_t* p, uint16_t count) {
    std::vector<std::span<const uint8_t>> out;
    for (uint16_t i = 0; i < count; ++i) {
        const uint16_t rdlen = dns::load_u16(p + 8);
        out.emplace_back(p + 10, rdlen);
        p += 10 + size_t{rdlen};
    }
    return out;
}

// Every set of `k` or fewer positions out of `n` (no empty set), as bitmasks, while there are
// at most `cap` of them; empty when there are more.
std::vector<uint64_t> answer_sets(size_t n, size_t k, size_t cap) {
    std::vector<uint64_t> out;
    if (n == 0 || n > 64) return out;
    k = std::min(k == 0 ? n : k, n);
    // sum of C(n, i) for i in 1..k, stopping as soon as it passes the cap
    double total = 0, c = 1;
    for (size_t i = 1; i <= k; ++i) {
        c = c * static_cast<double>(n - i + 1) / static_cast<double>(i);
        total += c;
        if (total > static_cast<double>(cap)) return out;
    }
    // n is small here (2^n can be walked when the total is at most cap for k = n, and for
    // k < n we walk only masks of the right popcount through Gosper's hack).
    for (size_t size = 1; size <= k; ++size) {
        uint64_t m = (size == 64) ? ~uint64_t{0} : (uint64_t{1} << size) - 1;
        while (true) {
            out.push_back(m);
            if (size == n) break;
            const uint64_t low = m & (~m + 1);
            const uint64_t ripple = m + low;
            if (ripple == 0) break;
            m = (((ripple ^ m) >> 2) / low) | ripple;
            if (n < 64 && (m >> n) != 0) break;
        }
    }
    return out;
}

// The types an NSEC type bitmap lists (RFC 4034 4.1.2).
std::vector<uint16_t> bitmap_types(std::span<const uint8_t> bitmap) {
    std::vector<uint16_t> out;
    for (size_t at = 0; at + 2 <= bitmap.size();) {
        const uint8_t window = bitmap[at], len = bitmap[at + 1];
        for (size_t i = 0; i < len && at + 2 + i < bitmap.size(); ++i)
            for (int bit = 0; bit < 8; ++bit)
                if (bitmap[at + 2 + i] & (0x80 >> bit))
                    out.push_back(static_cast<uint16_t>((window << 8) | (i * 8 + bit)));
        at += 2 + size_t{len};
    }
    return out;
}

}  // namespace

bool read_zone_keys(const std::string& dir, const std::string& zone, int64_t now, ZoneKeys& out,
                    std::string& error) {
    out = ZoneKeys{};
    if (!dnssec::read_key_dir(dir, zone, true, out.all, error)) return false;
    std::vector<const dnssec::Key*> ksk, zsk;
    for (const dnssec::Key& k : out.all) {
        if (k.published(now)) out.published.push_back(&k);
        if (k.active(now)) (k.sep() ? ksk : zsk).push_back(&k);
    }
    if (ksk.empty() && zsk.empty()) {
        error = dir + ": no key for " + zone +
                " is active now (see the Publish, Activate and Inactive times of its .key files)";
        return false;
    }
    // A lone KSK signs everything (a CSK); a lone ZSK signs the DNSKEY RRset too.
    out.sign_keys = ksk.empty() ? zsk : ksk;
    out.sign_records = zsk.empty() ? ksk : zsk;
    return true;
}

std::string nsec_rdata(std::span<const uint8_t> next, std::vector<uint16_t> types) {
    std::string out(next.begin(), next.end());
    std::sort(types.begin(), types.end());
    types.erase(std::unique(types.begin(), types.end()), types.end());
    // RFC 4034 4.1.2: per window of 256 types, its number, the bitmap length, the bitmap.
    for (size_t i = 0; i < types.size();) {
        const uint8_t window = static_cast<uint8_t>(types[i] >> 8);
        uint8_t bits[32] = {};
        size_t len = 0;
        for (; i < types.size() && (types[i] >> 8) == window; ++i) {
            const uint8_t low = static_cast<uint8_t>(types[i]);
            bits[low / 8] |= static_cast<uint8_t>(0x80 >> (low % 8));
            len = low / 8 + 1;
        }
        out.push_back(static_cast<char>(window));
        out.push_back(static_cast<char>(len));
        out.append(reinterpret_cast<const char*>(bits), len);
    }
    return out;
}

bool sign_zone(Zone& z, const ZoneKeys& keys, uint32_t validity, int64_t now, std::string& error) {
    const dnssec::Validity v{static_cast<uint32_t>(now - kClockSkew),
                             static_cast<uint32_t>(now + validity)};
    z.dnssec = true;
    static std::atomic<uint64_t> generations{0};
    z.generation = ++generations;
    z.resign_at = now + validity - validity / 4;
    for (const dnssec::Key& k : keys.all) {
        for (const auto& t :
             {k.timing.publish, k.timing.activate, k.timing.inactive, k.timing.remove})
            if (t && *t > now) z.resign_at = std::min(z.resign_at, *t);
    }
    auto sign = [&](std::span<const uint8_t> owner, uint16_t type, uint32_t ttl,
                    std::vector<std::span<const uint8_t>> rdatas,
                    const std::vector<const dnssec::Key*>& by, uint32_t& offset, uint16_t& count) {
        offset = static_cast<uint32_t>(z.signatures.size());
        const int n = dnssec::sign_to_images({owner, type, ttl, std::move(rdatas)}, by, v,
                                             z.signatures, error);
        if (n < 0) return false;
        count = static_cast<uint16_t>(n);
        return true;
    };
    for (uint32_t ni = 0; ni < z.nodes.size(); ++ni) {
        const Node& n = z.nodes[ni];
        if (n.flags & node_flag::occluded) continue;  // glue: the child's data
        const bool cut = (n.flags & node_flag::delegation) != 0;
        for (uint16_t i = 0; i < n.rrset_count; ++i) {
            RRset& rs = z.rrsets[n.rrset_begin + i];
            // At a cut only DS and NSEC are ours (RFC 4035 2.2); NS and glue are the child's.
            if (cut && rs.type != kTypeDs && rs.type != kTypeNsec) continue;
            const auto& by = rs.type == kTypeDnskey ? keys.sign_keys : keys.sign_records;
            if (!sign(z.node_name(n), rs.type, rs.ttl,
                      rdatas_of(z.images.data() + rs.offset, rs.count), by, rs.sig_offset,
                      rs.sig_count))
                return false;
        }
        if (z.find_rrset(n, kTypeNsec) != nullptr) z.nsec_order.push_back(ni);
    }
    // ANY's HINFO (RFC 8482) at every name that answers it with data: its owner is covered,
    // so one signature per node.
    z.any_sig_offset.assign(z.nodes.size(), 0);
    for (uint32_t ni = 0; ni < z.nodes.size(); ++ni) {
        const Node& n = z.nodes[ni];
        if (n.empty() || (n.flags & (node_flag::occluded | node_flag::delegation))) continue;
        if (!sign(z.node_name(n), dns::type::HINFO, z.default_ttl,
                  {std::span<const uint8_t>(kAnyHinfoRdata)}, keys.sign_records,
                  z.any_sig_offset[ni], z.any_sig_count))
            return false;
    }
    std::sort(z.nsec_order.begin(), z.nsec_order.end(), [&z](uint32_t a, uint32_t b) {
        return dns::canonical_compare(z.node_name(z.nodes[a]), z.node_name(z.nodes[b])) < 0;
    });
    // The SOA of negative answers has a lower TTL; its RRSIGs are the SOA's own (the
    // signature covers the original TTL), with the record TTL lowered the same way.
    const RRset* soa = z.find_rrset(z.nodes[0], dns::type::SOA);
    size_t soa_sig_length = 0;
    for (uint16_t i = 0; i < soa->sig_count; ++i)
        soa_sig_length +=
            10 + size_t{dns::load_u16(&z.signatures[soa->sig_offset + soa_sig_length + 8])};
    const auto copy_soa_sigs = [&](uint32_t ttl) {
        const auto offset = static_cast<uint32_t>(z.signatures.size());
        const auto begin = z.signatures.begin() + soa->sig_offset;
        std::vector<uint8_t> copy(begin, begin + static_cast<long>(soa_sig_length));
        for (size_t at = 0; at < copy.size(); at += 10 + size_t{dns::load_u16(&copy[at + 8])})
            dns::store_u32(&copy[at + 4], ttl);
        z.signatures.insert(z.signatures.end(), copy.begin(), copy.end());
        return offset;
    };
    z.soa_sig_count = soa->sig_count;
    z.soa_negative_sig_offset = copy_soa_sigs(dns::load_u32(&z.soa_negative[4]));
    z.soa_fallback_sig_offset = copy_soa_sigs(dns::load_u32(&z.soa_fallback[4]));

    // Balanced names: every answer set of a small pool, in each TTL it is answered with.
    z.pool_signatures.resize(z.pools.size());
    for (size_t pi = 0; pi < z.pools.size(); ++pi) {
        const lb::Pool& pool = z.pools[pi];
        // The pool's owner: the node that points at it.
        const Node* owner = nullptr;
        for (const Node& n : z.nodes)
            if (n.pool == static_cast<int32_t>(pi)) owner = &n;
        if (owner == nullptr) continue;
        // Its own sets, then those of its fallback pool at its name (a fallback pool's own
        // fallback, two hops away, is not signed).
        const lb::Pool* fallback =
            pool.fallback_pool >= 0 ? &z.pools[static_cast<size_t>(pool.fallback_pool)] : nullptr;
        for (const lb::Pool* from : {&pool, fallback}) {
            if (from == nullptr) continue;
            PoolSignatures& ps = z.pool_signatures[pi];
            const bool fb = from != &pool;
            for (const lb::FamilySet* fs : {&from->v4, &from->v6}) {
                const std::vector<uint64_t> sets =
                    answer_sets(fs->size(), from->answers, kMaxPrecomputedSets);
                for (int degraded = 0; degraded < 2; ++degraded) {
                    if (degraded == 1 && fs->degraded_images.empty()) continue;
                    const uint8_t* images = fs->image_base(degraded == 1);
                    const uint32_t ttl = degraded == 1 ? from->ttl_degraded : from->ttl;
                    const bool v6 = fs == &from->v6;
                    std::vector<SetSignature>& out =
                        fb ? (v6 ? ps.fallback_v6 : ps.fallback_v4)[degraded]
                           : (v6 ? ps.v6 : ps.v4)[degraded];
                    for (uint64_t mask : sets) {
                        std::vector<std::span<const uint8_t>> rdatas;
                        for (size_t pos = 0; pos < fs->size(); ++pos)
                            if (mask & (uint64_t{1} << pos))
                                rdatas.emplace_back(images + pos * fs->image_size + 10,
                                                    fs->image_size - 10);
                        SetSignature sig;
                        sig.members = mask;
                        if (!sign(z.node_name(*owner), fs->rrtype, ttl, std::move(rdatas),
                                  keys.sign_records, sig.offset, sig.count))
                            return false;
                        out.push_back(sig);
                    }
                    std::sort(out.begin(), out.end(),
                              [](const SetSignature& a, const SetSignature& b) {
                                  return a.members < b.members;
                              });
                }
            }
        }
    }
    // Balanced names: their NSEC without a family the pool holds, for the NODATA it answers
    // when none of that family answers.
    const uint32_t nodata_ttl = dns::load_u32(&z.soa_fallback[4]);
    for (size_t pi = 0; pi < z.pools.size(); ++pi) {
        for (const Node& n : z.nodes) {
            if (n.pool != static_cast<int32_t>(pi)) continue;
            const RRset* nsec = z.find_rrset(n, kTypeNsec);
            if (nsec == nullptr) continue;
            const uint8_t* rdata = z.images.data() + nsec->offset + 10;
            const size_t rdlen = dns::load_u16(z.images.data() + nsec->offset + 8);
            size_t next_len = 0;
            while (next_len < rdlen && rdata[next_len] != 0) next_len += 1 + rdata[next_len];
            ++next_len;
            if (next_len > rdlen) continue;
            const std::vector<uint16_t> types = bitmap_types({rdata + next_len, rdlen - next_len});
            for (int f = 0; f < 2; ++f) {
                const uint16_t family = f == 0 ? dns::type::A : dns::type::AAAA;
                if (std::find(types.begin(), types.end(), family) == types.end()) continue;
                std::vector<uint16_t> without = types;
                without.erase(std::remove(without.begin(), without.end(), family), without.end());
                const std::string rd = nsec_rdata({rdata, next_len}, without);
                RRset& rs = z.pool_signatures[pi].nodata_nsec[f];
                rs.type = kTypeNsec;
                rs.count = 1;
                rs.ttl = nodata_ttl;
                rs.offset = static_cast<uint32_t>(z.images.size());
                rs.length = static_cast<uint32_t>(10 + rd.size());
                uint8_t fixed[10];
                dns::store_u16(fixed, kTypeNsec);
                dns::store_u16(fixed + 2, 1);  // IN
                dns::store_u32(fixed + 4, nodata_ttl);
                dns::store_u16(fixed + 8, static_cast<uint16_t>(rd.size()));
                z.images.insert(z.images.end(), fixed, fixed + 10);
                z.images.insert(z.images.end(), rd.begin(), rd.end());
                const auto* rd_bytes = reinterpret_cast<const uint8_t*>(rd.data());
                if (!sign(z.node_name(n), kTypeNsec, nodata_ttl,
                          {std::span<const uint8_t>(rd_bytes, rd.size())}, keys.sign_records,
                          rs.sig_offset, rs.sig_count))
                    return false;
            }
        }
    }
    return true;
}

int sign_answer_set(const Zone& z, std::span<const uint8_t> owner, const lb::FamilySet& fs,
                    bool degraded, std::span<const uint32_t> positions, int64_t now,
                    std::vector<uint8_t>& out, int64_t& expiration, std::string& error) {
    if (!z.keys || positions.empty()) {
        error = "the zone has no signing keys";
        return -1;
    }
    const uint8_t* images = fs.image_base(degraded);
    std::vector<std::span<const uint8_t>> rdatas;
    for (uint32_t pos : positions)
        rdatas.emplace_back(images + size_t{pos} * fs.image_size + 10, fs.image_size - 10);
    // The TTL the records are answered with, rendered in their images.
    const uint32_t ttl = dns::load_u32(images + size_t{positions[0]} * fs.image_size + 4);
    const dnssec::Validity v{static_cast<uint32_t>(now - kClockSkew),
                             static_cast<uint32_t>(now + z.signature_validity)};
    expiration = now + z.signature_validity;
    return dnssec::sign_to_images({owner, fs.rrtype, ttl, std::move(rdatas)}, z.keys->sign_records,
                                  v, out, error);
}

}  // namespace steerdns::zone
