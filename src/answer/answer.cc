#include "steerdns/answer/answer.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "steerdns/dns/name.h"
#include "steerdns/dns/query.h"
#include "steerdns/dns/response.h"
#include "steerdns/util/clock.h"
#include "steerdns/zone/signing.h"

namespace steerdns {
namespace {

using dns::Rcode;
using dns::ResponseWriter;
using dns::Section;
namespace type = dns::type;

// CNAME chains inside a zone are followed this far; longer chains are left to resolvers.
constexpr int kMaxChain = 8;

// ---- Records ------------------------------------------------------------------------------

// Writes every record of `rs` with its owner at `owner`. False when it does not fit.
bool add_rrset(ResponseWriter& w, Section s, uint16_t owner, const zone::Zone& z,
               const zone::RRset& rs) {
    const uint8_t* p = z.images.data() + rs.offset;
    for (uint16_t i = 0; i < rs.count; ++i) {
        const uint16_t rdlen = dns::load_u16(p + 8);
        const size_t len = 10 + size_t{rdlen};
        const bool ok = rs.rdata_is_name ? w.add_rr(s, owner, p, len, p + 10, rdlen)
                                         : w.add_rr(s, owner, p, len);
        if (!ok) return false;
        p += len;
    }
    return true;
}

// Same with a named owner (compressed against names already in the message).
bool add_rrset_named(ResponseWriter& w, Section s, std::span<const uint8_t> owner,
                     const zone::Zone& z, const zone::RRset& rs) {
    const ResponseWriter::NameMatch known = w.find_name(owner);
    if (known.whole()) return add_rrset(w, s, known.offset, z, rs);
    // First record spells (part of) the owner out; the others point at it.
    const uint8_t* p = z.images.data() + rs.offset;
    const uint16_t rdlen = dns::load_u16(p + 8);
    const size_t len = 10 + size_t{rdlen};
    const bool ok = rs.rdata_is_name ? w.add_rr_named(s, owner, p, len, p + 10, rdlen)
                                     : w.add_rr_named(s, owner, p, len);
    if (!ok) return false;
    if (rs.count == 1) return true;
    const ResponseWriter::NameMatch again = w.find_name(owner);
    if (!again.whole()) return false;  // only past 16 KiB, where pointers cannot reach
    zone::RRset rest = rs;
    rest.offset += static_cast<uint32_t>(len);
    rest.count = static_cast<uint16_t>(rs.count - 1);
    return add_rrset(w, s, again.offset, z, rest);
}

// Glue for an NS rrset just written: A/AAAA of in-zone targets, owners pointing into the NS
// rdata. Glue that does not fit is left out whole (RFC 9471 allows that only for glue that
// is not in-bailiwick; ours always is, so the caller sets TC for referrals).
bool add_glue(ResponseWriter& w, const zone::Zone& z, const zone::RRset& ns) {
    bool complete = true;
    for (uint32_t i = 0; i < ns.additional_count; ++i) {
        const zone::Additional& a = z.additionals[ns.additional_begin + i];
        const zone::Node& target = z.nodes[a.node];
        for (uint16_t t : {type::A, type::AAAA}) {
            const zone::RRset* rs = z.find_rrset(target, t);
            if (!rs) continue;
            const ResponseWriter::Mark m = w.mark();
            if (!add_rrset_named(w, Section::additional, z.node_name(target), z, *rs)) {
                w.rollback(m);
                complete = false;
            }
        }
    }
    return complete;
}

// The name a CNAME points to: its one record's rdata, uncompressed (zone/compile).
std::span<const uint8_t> cname_target(const zone::Zone& z, const zone::RRset& cname) {
    assert(cname.count == 1 && cname.rdata_is_name);
    const uint8_t* image = z.images.data() + cname.offset;
    return {image + 10, dns::load_u16(image + 8)};
}

// ---- DNSSEC: precomputed RRSIGs and NSECs (zone/signing.h), copied like any record ---------

constexpr uint16_t kTypeNsec = 47;
constexpr uint16_t kTypeDs = 43;

// `count` RRSIG images from z.signatures at `offset`, owner at `owner`.
bool add_sigs(ResponseWriter& w, Section s, uint16_t owner, const zone::Zone& z, uint32_t offset,
              uint16_t count) {
    const uint8_t* p = z.signatures.data() + offset;
    for (uint16_t i = 0; i < count; ++i) {
        const size_t len = 10 + size_t{dns::load_u16(p + 8)};
        if (!w.add_rr(s, owner, p, len)) return false;
        p += len;
    }
    return true;
}

// Same with a named owner, compressed against the names in the message (the writer remembers
// an owner it spelled out whole, not one it wrote as labels and a pointer).
bool add_sigs_named(ResponseWriter& w, Section s, std::span<const uint8_t> owner,
                    const zone::Zone& z, uint32_t offset, uint16_t count) {
    const uint8_t* p = z.signatures.data() + offset;
    for (uint16_t i = 0; i < count; ++i) {
        const size_t len = 10 + size_t{dns::load_u16(p + 8)};
        if (!w.add_rr_named(s, owner, p, len)) return false;
        p += len;
    }
    return true;
}

// An RRset of node `n` and its RRSIGs in authority (NSEC, DS).
bool add_signed_named(ResponseWriter& w, const zone::Zone& z, const zone::Node& n,
                      const zone::RRset& rs) {
    return add_rrset_named(w, Section::authority, z.node_name(n), z, rs) &&
           add_sigs_named(w, Section::authority, z.node_name(n), z, rs.sig_offset, rs.sig_count);
}

// The node whose NSEC covers `name` (a lowercased wire name in the zone that owns no NSEC):
// its canonical predecessor in the chain.
const zone::Node* covering_nsec(const zone::Zone& z, std::span<const uint8_t> name) {
    const auto it =
        std::upper_bound(z.nsec_order.begin(), z.nsec_order.end(), name,
                         [&z](std::span<const uint8_t> n, uint32_t node) {
                             return dns::canonical_compare(n, z.node_name(z.nodes[node])) < 0;
                         });
    const uint32_t node = it == z.nsec_order.begin() ? z.nsec_order.back() : *(it - 1);
    return &z.nodes[node];
}

// The NSEC that covers `name`, unless `skip` already is it. Returns the node written.
const zone::Node* add_covering_nsec(ResponseWriter& w, const zone::Zone& z,
                                    std::span<const uint8_t> name, const zone::Node* skip,
                                    bool& ok) {
    const zone::Node* n = covering_nsec(z, name);
    if (n == skip) return n;
    const zone::RRset* nsec = z.find_rrset(*n, kTypeNsec);
    if (nsec != nullptr && !add_signed_named(w, z, *n, *nsec)) ok = false;
    return n;
}

// NXDOMAIN's denial (RFC 4035 3.1.3.2): the NSEC covering the name and the one covering the
// wildcard at its closest encloser `ce`.
bool add_nxdomain_proof(ResponseWriter& w, const zone::Zone& z, std::span<const uint8_t> qname,
                        const zone::Node& ce) {
    bool ok = true;
    const zone::Node* first = add_covering_nsec(w, z, qname, nullptr, ok);
    const std::span<const uint8_t> ce_name = z.node_name(ce);
    uint8_t wildcard[dns::kMaxNameLen];
    if (ce_name.size() + 2 <= sizeof wildcard) {
        wildcard[0] = 1;
        wildcard[1] = '*';
        std::memcpy(wildcard + 2, ce_name.data(), ce_name.size());
        add_covering_nsec(w, z, {wildcard, ce_name.size() + 2}, first, ok);
    }
    return ok;
}

// NODATA's denial (RFC 4035 3.1.3.1): the name's own NSEC; an empty non-terminal has none,
// and the NSEC covering it says it owns nothing.
bool add_nodata_proof(ResponseWriter& w, const zone::Zone& z, std::span<const uint8_t> qname,
                      const zone::Node& n) {
    if (const zone::RRset* nsec = z.find_rrset(n, kTypeNsec))
        return add_signed_named(w, z, n, *nsec);
    bool ok = true;
    add_covering_nsec(w, z, qname, nullptr, ok);
    return ok;
}

// The RRSIGs of a balanced answer signed when the zone compiled: those of its member set,
// whatever order it was written in. Null for sets too many to sign then.
const zone::SetSignature* precomputed_sigs(const zone::Zone& z, size_t pool, uint16_t qtype,
                                           bool degraded, bool fallback, uint64_t members) {
    if (pool >= z.pool_signatures.size()) return nullptr;
    const std::vector<zone::SetSignature>& sets =
        z.pool_signatures[pool].family(qtype, degraded, fallback);
    const auto it =
        std::lower_bound(sets.begin(), sets.end(), members,
                         [](const zone::SetSignature& s, uint64_t m) { return s.members < m; });
    return it == sets.end() || it->members != members ? nullptr : &*it;
}

// The RRSIGs of any other balanced answer (a big pool, a fallback's fallback): from this
// worker's cache, signed here on a miss (answer/signature_cache.h). `pool`: the queried
// pool, owner of the name; `answering`: the pool whose members `sel` picked in family `fs`.
// A set that cannot be signed goes without RRSIGs, as an unsigned answer would.
bool add_cached_sigs(ResponseWriter& w, uint16_t owner, const zone::Zone& z,
                     std::span<const uint8_t> owner_name, size_t pool, size_t answering,
                     const lb::FamilySet& fs, bool degraded, const lb::Selection& sel,
                     AnswerContext& ctx) {
    if (sel.count == 0 || sel.count > lb::kMaxAnswers) return true;
    // The set's positions in ascending order: every order of the same members shares them.
    uint32_t positions[lb::kMaxAnswers];
    for (uint32_t i = 0; i < sel.count; ++i) {
        uint32_t p = sel.position(i), j = i;
        for (; j > 0 && positions[j - 1] > p; --j) positions[j] = positions[j - 1];
        positions[j] = p;
    }
    const AnswerSetKey key{
        z.generation, static_cast<uint32_t>(pool), static_cast<uint32_t>(answering), fs.rrtype,
        degraded,     {positions, sel.count}};
    const int64_t now = util::unix_ms_now() / 1000;
    // Signed again once a quarter of the validity is left, as the zone's own RRSIGs are.
    const int64_t margin = int64_t{z.signature_validity} / 4;
    uint16_t count = 0;
    std::span<const uint8_t> sigs;
    if (ctx.signatures) sigs = ctx.signatures->find(key, now, margin, count);
    if (sigs.empty()) {
        ctx.signing.clear();
        std::string error;
        int64_t expiration = 0;
        const int n = zone::sign_answer_set(z, owner_name, fs, degraded, key.positions, now,
                                            ctx.signing, expiration, error);
        if (n <= 0) return true;
        count = static_cast<uint16_t>(n);
        sigs = ctx.signatures ? ctx.signatures->insert(key, ctx.signing, count, expiration)
                              : std::span<const uint8_t>(ctx.signing);
    }
    const uint8_t* p = sigs.data();
    for (uint16_t i = 0; i < count; ++i) {
        const size_t len = 10 + size_t{dns::load_u16(p + 8)};
        if (!w.add_rr(Section::answer, owner, p, len)) return false;
        p += len;
    }
    return true;
}

// The NODATA of a balanced name (RFC 4035 3.1.3.1): its NSEC without the queried family when
// its own lists it (zone::PoolSignatures::nodata_nsec), else its NSEC.
bool add_pool_nodata_proof(ResponseWriter& w, const zone::Zone& z, const zone::Node& n, size_t pool,
                           uint16_t qtype) {
    if (pool < z.pool_signatures.size()) {
        const zone::RRset& without =
            z.pool_signatures[pool].nodata_nsec[qtype == type::AAAA ? 1 : 0];
        if (without.type != 0) return add_signed_named(w, z, n, without);
    }
    return add_nodata_proof(w, z, z.node_name(n), n);
}

// An answer synthesized from a wildcard (RFC 4035 3.1.3.3): the NSEC proving that the query
// name itself does not exist, in authority after the answer.
// `skip`: the wildcard's own NSEC when a NODATA proof has written it already.
void add_wildcard_proof(ResponseWriter& w, const zone::Zone& z, std::span<const uint8_t> qname,
                        const Lookup& lk, bool dnssec, const zone::Node* skip = nullptr) {
    if (!dnssec || lk.kind != Lookup::wildcard || w.truncated()) return;
    bool ok = true;
    add_covering_nsec(w, z, qname, skip, ok);
    if (!ok) w.truncate();
}

// ---- Classify: what a name answers, decided before anything is written ---------------------

// Knot's states (solve_name: HIT, MISS, DELEG, FOLLOW, NODATA) and two of ours.
enum class Kind : uint8_t {
    referral,  // DELEG: at or below a zone cut; the cut's NS and its glue
    nxdomain,  // MISS: no such name; `found` was its closest encloser
    nodata,    // NODATA: the name, not the type (or ANY at an empty non-terminal)
    any,       // ANY at a name with data: one HINFO (RFC 8482)
    follow,    // FOLLOW: a CNAME, written, then its target answered
    pool,      // a balanced A/AAAA: the pool's policy picks the members
    hit,       // HIT: the static RRset of the queried type
};

struct Classified {
    Kind kind = Kind::nodata;
    const zone::RRset* rrset = nullptr;  // follow: the CNAME; hit: the RRset
    const zone::Node* cut = nullptr;     // referral: the delegation node
};

// A wildcard match (Lookup::wildcard) is classified as an existing name holding the wildcard
// node's data; answer_name writes them at the query name, so synthesis needs nothing more.
Classified classify(const zone::Zone& z, const zone::Node& n, Lookup::Kind found, uint16_t qtype) {
    // DS lives on the parent side of a cut: asked at the cut itself, it is ours to answer.
    const bool at_cut =
        (n.flags & zone::node_flag::delegation) && !(found == Lookup::exact && qtype == type::DS);
    if (at_cut) return {Kind::referral, nullptr, &n};
    if (n.flags & zone::node_flag::occluded) {
        assert(n.cut >= 0);  // compile points every occluded node at its cut
        return {Kind::referral, nullptr, &z.nodes[static_cast<size_t>(n.cut)]};
    }
    if (found == Lookup::nxdomain) return {Kind::nxdomain};
    if (qtype == type::ANY) return {n.empty() ? Kind::nodata : Kind::any};
    // In a signed zone the NSEC stands beside a CNAME (RFC 4035 2.3): asked for, it answers.
    if (qtype != type::CNAME && !(z.dnssec && qtype == kTypeNsec)) {
        if (const zone::RRset* cname = z.find_rrset(n, type::CNAME)) return {Kind::follow, cname};
    }
    if (n.pool >= 0 && (qtype == type::A || qtype == type::AAAA)) return {Kind::pool};
    if (const zone::RRset* rs = z.find_rrset(n, qtype)) return {Kind::hit, rs};
    return {Kind::nodata};
}

// ---- Write: one writer per kind ------------------------------------------------------------

// NSD's answer_delegation: the cut's NS in authority, glue in additional, TC when either does
// not fit (RFC 9471). Not authoritative, unless CNAMEs led here: then the answer section is
// ours, and RFC 1034 4.3.2 (step 3a, then 3b) still owes the resolver the referral, as NSD
// and Knot give.
// With DO in a signed zone, the DS and its RRSIG, or the cut's NSEC proving there is none
// (an insecure delegation, RFC 4035 3.1.4).
void write_referral(ResponseWriter& w, const zone::Zone& z, const zone::Node& cut, bool after_cname,
                    bool dnssec) {
    assert(cut.flags & zone::node_flag::delegation);
    const zone::RRset* ns = z.find_rrset(cut, type::NS);
    assert(ns != nullptr);  // a cut is where compile found NS records below the apex
    if (!after_cname) w.set_aa(false);
    if (!add_rrset_named(w, Section::authority, z.node_name(cut), z, *ns)) return w.truncate();
    if (dnssec) {
        const zone::RRset* proof = z.find_rrset(cut, kTypeDs);
        if (proof == nullptr) proof = z.find_rrset(cut, kTypeNsec);
        if (proof != nullptr && !add_signed_named(w, z, cut, *proof)) return w.truncate();
    }
    if (!add_glue(w, z, *ns)) w.truncate();
}

// NXDOMAIN and NODATA: the zone's SOA in authority. `soa` is z.soa_negative, or
// z.soa_fallback (short TTL) for a pool whose members are all down.
// With DO in a signed zone, the SOA's RRSIGs (at the same lowered TTL) follow; false when
// they do not fit, for the caller to truncate after adding its denial.
bool write_negative(ResponseWriter& w, const zone::Zone& z, const std::vector<uint8_t>& soa,
                    bool dnssec = false) {
    if (!w.add_rr_named(Section::authority, z.apex, soa.data(), soa.size())) {
        w.truncate();
        return false;
    }
    if (!dnssec) return true;
    const uint32_t offset =
        &soa == &z.soa_fallback ? z.soa_fallback_sig_offset : z.soa_negative_sig_offset;
    if (add_sigs(w, Section::authority, w.find_name(z.apex).offset, z, offset, z.soa_sig_count))
        return true;
    w.truncate();
    return false;
}

// RFC 8482 4.2: answer ANY with one synthesized HINFO instead of everything we have.
void write_any_hinfo(ResponseWriter& w, uint16_t owner, uint32_t ttl) {
    uint8_t img[10 + 9] = {
        0,   type::HINFO, 0, dns::klass::IN, 0, 0, 0, 0, 0, 9, 7, 'R', 'F', 'C', '8', '4',
        '8', '2',         0};
    dns::store_u32(img + 4, ttl);
    if (!w.add_rr(Section::answer, owner, img, sizeof img)) w.truncate();
}

// The RRSIGs of that HINFO, signed at compile for the node that answers it.
bool add_any_sigs(ResponseWriter& w, uint16_t owner, const zone::Zone& z, const zone::Node& n) {
    const size_t i = static_cast<size_t>(&n - z.nodes.data());
    if (i >= z.any_sig_offset.size()) return true;
    return add_sigs(w, Section::answer, owner, z, z.any_sig_offset[i], z.any_sig_count);
}

// A static RRset; an NS RRset (the apex's) brings its glue, left out when it does not fit.
void write_rrset(ResponseWriter& w, const zone::Zone& z, uint16_t owner, const zone::RRset& rs,
                 bool dnssec) {
    if (!add_rrset(w, Section::answer, owner, z, rs)) return w.truncate();
    if (dnssec && !add_sigs(w, Section::answer, owner, z, rs.sig_offset, rs.sig_count))
        return w.truncate();
    if (rs.type == type::NS) add_glue(w, z, rs);
}

// Counts one response of the queried pool `index` in this worker's row, and whether its
// fallback answered. Returns the counters its members are counted in: those of the pool
// that answered (a fallback pool's own); null when the snapshot counts nothing.
std::atomic<uint64_t>* count_pool_response(const Snapshot& snap, unsigned row, const NodeRef& at,
                                           size_t index, const lb::Choice& c) {
    std::atomic<uint64_t>* counters = snap.pool_counters(row, at.zone_index, index);
    if (counters == nullptr) return nullptr;
    count_one(counters[Snapshot::kPoolResponses]);
    if (c.fallback) count_one(counters[Snapshot::kPoolFallbacks]);
    const lb::Pool* pools = at.zone->pools.data();
    if (c.kind != lb::Choice::answer || c.pool == pools + index) return counters;
    return snap.pool_counters(row, at.zone_index, static_cast<size_t>(c.pool - pools));
}

void count_member(std::atomic<uint64_t>* counters, uint32_t member) {
    if (counters != nullptr) count_one(counters[Snapshot::kPoolMembers + member]);
}

// A balanced A/AAAA at `at`: lb::select_with_fallback applies health, the policy and the fallback;
// the members it picks are written at `owner`, or the NODATA it decides. Returns the ECS scope the
// choice depends on.
uint8_t write_pool_answer(const Snapshot& snap, const NodeRef& at, uint16_t qtype, uint16_t owner,
                          const lb::Client& client, AnswerContext& ctx, ResponseWriter& w,
                          bool dnssec) {
    const zone::Zone& z = *at.zone;
    const size_t index = static_cast<size_t>(at.node->pool);
    lb::Selection sel;
    const lb::Choice c = lb::select_with_fallback(z.pools, index, qtype, snap.health(), client,
                                                  ctx.rng, ctx.eligible, sel);
    ctx.last.pool = &z.pools[index];
    ctx.last.fallback = c.fallback;
    ctx.last.region = sel.client_region;
    if (c.kind == lb::Choice::answer && sel.count > 0 && c.pool->policy == lb::Policy::failover) {
        const lb::FamilySet& fs = c.pool->family(qtype);
        ctx.last.has_tier = true;
        ctx.last.tier = c.pool->members[fs.members[sel.position(0)]].priority;
    }
    std::atomic<uint64_t>* counters = count_pool_response(snap, ctx.worker, at, index, c);
    if (c.kind != lb::Choice::answer || sel.count == 0) {
        // The name's NSEC lists the pool's families: a family it lacks is denied by it; one
        // it holds (none up with fallback "none", a fallback pool without it) by the NSEC
        // signed without that family.
        if (write_negative(w, z,
                           c.kind == lb::Choice::nodata_short ? z.soa_fallback : z.soa_negative,
                           dnssec) &&
            dnssec && !add_pool_nodata_proof(w, z, *at.node, index, qtype))
            w.truncate();
    } else {
        const lb::FamilySet& fs = c.pool->family(qtype);
        // The TTL lb::answer_ttl(c) says, rendered in at compile.
        const uint8_t* images = fs.image_base(c.degraded);
        uint64_t members = 0;
        for (uint32_t i = 0; i < sel.count; ++i) {
            const size_t pos = sel.position(i);
            if (!w.add_rr(Section::answer, owner, images + pos * fs.image_size, fs.image_size)) {
                w.truncate();
                return sel.ecs_scope;
            }
            if (pos < 64) members |= uint64_t{1} << pos;
            count_member(counters, fs.members[pos]);
        }
        // The sets of the pool and of its fallback pool were signed at this owner when the
        // zone compiled, when they were few; the others (and a fallback's fallback, two hops
        // away) come from the signature cache.
        const bool own = c.pool == &z.pools[index];
        const int32_t fallback_pool = z.pools[index].fallback_pool;
        const bool fallback =
            !own && fallback_pool >= 0 && c.pool == &z.pools[static_cast<size_t>(fallback_pool)];
        const bool degraded = c.degraded && !fs.degraded_images.empty();
        if (dnssec) {
            const zone::SetSignature* pre =
                own || fallback ? precomputed_sigs(z, index, qtype, degraded, fallback, members)
                                : nullptr;
            const bool ok = pre != nullptr
                                ? add_sigs(w, Section::answer, owner, z, pre->offset, pre->count)
                                : add_cached_sigs(w, owner, z, z.node_name(*at.node), index,
                                                  static_cast<size_t>(c.pool - z.pools.data()), fs,
                                                  degraded, sel, ctx);
            if (!ok) w.truncate();
        }
    }
    return sel.ecs_scope;
}

// ---- CHAOS: the server's identity (RFC 4892) ----------------------------------------------

// id.server. and hostname.bind., lowercased wire form: the names RFC 4892 answers.
constexpr uint8_t kIdServer[] = {2, 'i', 'd', 6, 's', 'e', 'r', 'v', 'e', 'r', 0};
constexpr uint8_t kHostnameBind[] = {8,   'h', 'o', 's', 't', 'n', 'a', 'm',
                                     'e', 4,   'b', 'i', 'n', 'd', 0};

bool is_identity_name(std::span<const uint8_t> name) {
    const auto is = [name](std::span<const uint8_t> n) {
        return name.size() == n.size() && std::equal(n.begin(), n.end(), name.begin());
    };
    return is(kIdServer) || is(kHostnameBind);
}

// CH TXT (or ANY) id.server. / hostname.bind. with --nsid set: one TXT of the NSID, TTL 0,
// authoritative, as NSD answers them. False when the query is not one of those.
bool write_identity(const dns::Query& q, const dns::Nsid& nsid, ResponseWriter& w) {
    if (!nsid.set || q.qclass != dns::klass::CH) return false;
    if ((q.qtype != type::TXT && q.qtype != type::ANY) || !is_identity_name(q.name())) return false;
    uint8_t img[10 + 1 + dns::Nsid::kMaxLen];
    dns::store_u16(img, type::TXT);
    dns::store_u16(img + 2, dns::klass::CH);
    dns::store_u32(img + 4, 0);
    dns::store_u16(img + 8, static_cast<uint16_t>(1 + nsid.len));
    img[10] = nsid.len;
    std::memcpy(img + 11, nsid.data, nsid.len);
    w.set_aa(true);
    if (!w.add_rr(Section::answer, dns::kHeaderSize, img, 11u + nsid.len)) w.truncate();
    return true;
}

// ---- `_why`: the decision trace -------------------------------------------------------------

// The transport source (an IPv4-mapped IPv6 source is the IPv4 client) is in --explain-from.
bool may_explain(const lb::Client& client, const AnswerContext& ctx) {
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (client.family == 6 && std::memcmp(client.address, kMapped, sizeof kMapped) == 0)
        return lb::net_list_contains(ctx.explain_from, 4, client.address + 12);
    return lb::net_list_contains(ctx.explain_from, client.family, client.address);
}

// TXT <name> 0 IN "..." per trace line, at the question's name. Not the query path: only
// `_why` queries get here, and they may allocate.
void write_why(const Snapshot& snap, std::span<const uint8_t> target, uint16_t traced,
               const lb::Client& client, AnswerContext& ctx, ResponseWriter& w,
               uint8_t& ecs_scope) {
    if (!may_explain(client, ctx)) {
        ctx.last.explain_refused = true;
        w.set_rcode(Rcode::refused);
        return;
    }
    if (snap.find(target).kind == Lookup::refused) {
        w.set_rcode(Rcode::refused);  // as for any name outside our zones
        return;
    }
    ctx.last.explained = true;
    w.set_aa(true);
    why::Question question{target, traced, client};
    const std::vector<std::string> lines =
        why::explain(snap, question, ctx.probes, util::unix_ms_now());
    uint8_t img[10 + 1 + 255];
    dns::store_u16(img, type::TXT);
    dns::store_u16(img + 2, dns::klass::IN);
    dns::store_u32(img + 4, 0);  // a trace is true now, for this client only
    for (const std::string& line : lines) {
        const size_t len = std::min<size_t>(line.size(), 255);
        dns::store_u16(img + 8, static_cast<uint16_t>(1 + len));
        img[10] = static_cast<uint8_t>(len);
        std::memcpy(img + 11, line.data(), len);
        if (!w.add_rr(Section::answer, dns::kHeaderSize, img, 11 + len)) {
            w.truncate();
            break;
        }
    }
    // Only this client's answer: a resolver must not hand it to other subnets.
    if (client.ecs != nullptr) ecs_scope = client.ecs->source_prefix;
}

// ---- The name's answer ---------------------------------------------------------------------

// Answers an existing, authoritative name: classifies it, then writes what that kind answers,
// following CNAMEs inside the zone. `wild`: the names whose CNAME a wildcard synthesized (with
// DO in a signed zone), `wild_count` of them, for answer_name to prove absent.
void answer_chain(const Snapshot& snap, const dns::Query& q, Lookup lk, const lb::Client& client,
                  AnswerContext& ctx, ResponseWriter& w, uint8_t& ecs_scope,
                  std::span<const uint8_t>* wild, int& wild_count) {
    const zone::Zone* const zone = lk.found.zone;
    uint16_t owner = dns::kHeaderSize;  // the question's name, then each CNAME's target
    const zone::Node* visited[kMaxChain + 1];
    std::span<const uint8_t> name = q.name();  // the question's, then each CNAME target's
    for (int hop = 0; hop <= kMaxChain; ++hop) {
        // A CNAME loop ends where it started: each record once in the answer (RFC 2181 5).
        for (int i = 0; i < hop; ++i)
            if (visited[i] == lk.found.node) return;
        visited[hop] = lk.found.node;
        const zone::Zone& z = *lk.found.zone;
        const bool dnssec = q.edns.do_bit && z.dnssec;
        const Classified c = classify(z, *lk.found.node, lk.kind, q.qtype);
        switch (c.kind) {
            case Kind::referral:
                return write_referral(w, z, *c.cut, hop > 0, dnssec);
            case Kind::nxdomain:
                w.set_rcode(Rcode::nxdomain);
                if (write_negative(w, z, z.soa_negative, dnssec) && dnssec &&
                    !add_nxdomain_proof(w, z, name, *lk.found.node))
                    w.truncate();
                return;
            case Kind::nodata:
                if (write_negative(w, z, z.soa_negative, dnssec) && dnssec &&
                    !add_nodata_proof(w, z, name, *lk.found.node))
                    w.truncate();
                return add_wildcard_proof(w, z, name, lk, dnssec, lk.found.node);
            case Kind::any:
                write_any_hinfo(w, owner, z.default_ttl);
                if (dnssec && !w.truncated() && !add_any_sigs(w, owner, z, *lk.found.node))
                    return w.truncate();
                return add_wildcard_proof(w, z, name, lk, dnssec);
            case Kind::hit:
                write_rrset(w, z, owner, *c.rrset, dnssec);
                return add_wildcard_proof(w, z, name, lk, dnssec);
            case Kind::pool:
                ecs_scope =
                    write_pool_answer(snap, lk.found, q.qtype, owner, client, ctx, w, dnssec);
                return add_wildcard_proof(w, z, name, lk, dnssec);
            case Kind::follow:
                if (!add_rrset(w, Section::answer, owner, z, *c.rrset)) return w.truncate();
                if (dnssec && !add_sigs(w, Section::answer, owner, z, c.rrset->sig_offset,
                                        c.rrset->sig_count))
                    return w.truncate();
                if (dnssec && lk.kind == Lookup::wildcard) wild[wild_count++] = name;
                owner = w.last_rdata_name_offset();
                name = cname_target(z, *c.rrset);
                lk = snap.find(name);
                if (lk.kind == Lookup::refused || lk.found.zone != zone) return;  // out of zone
                break;
        }
    }
}

void answer_name(const Snapshot& snap, const dns::Query& q, Lookup lk, const lb::Client& client,
                 AnswerContext& ctx, ResponseWriter& w, uint8_t& ecs_scope) {
    std::span<const uint8_t> wild[kMaxChain + 1];
    int wild_count = 0;
    const zone::Zone& z = *lk.found.zone;
    answer_chain(snap, q, lk, client, ctx, w, ecs_scope, wild, wild_count);
    // A CNAME synthesized from a wildcard (RFC 4035 3.1.3.3): the NSEC proving its name
    // absent, in authority after the whole chain's answer and denials.
    bool ok = true;
    for (int i = 0; i < wild_count && !w.truncated(); ++i)
        add_covering_nsec(w, z, wild[i], nullptr, ok);
    if (!ok) w.truncate();
}

}  // namespace

size_t answer_query(const Snapshot* snap, std::span<const uint8_t> packet, const lb::Client& client,
                    Transport transport, AnswerContext& ctx, std::span<uint8_t> out) {
    dns::Query q;
    const dns::ParseResult parsed = dns::parse_query(packet, q);
    ctx.last = Outcome{};
    ctx.last.qtype = q.qtype;
    if (parsed == dns::ParseResult::drop) {
        ctx.last.dropped = true;
        return 0;
    }
    size_t limit = dns::kMinUdpPayload;
    if (transport == Transport::tcp) {
        limit = dns::kMaxTcpMessage;
    } else if (q.edns.present) {
        limit = std::clamp<size_t>(q.edns.udp_size, dns::kMinUdpPayload, ctx.max_udp_payload);
    }
    ResponseWriter w(out, limit);
    w.begin(packet, q);
    uint8_t ecs_scope = 0;

    switch (parsed) {
        case dns::ParseResult::formerr:
            // The OPT may be what was malformed; answer plainly rather than echo it.
            q.edns.present = false;
            w.set_rcode(Rcode::formerr);
            break;
        case dns::ParseResult::notimp:
            w.set_rcode(Rcode::notimp);
            break;
        case dns::ParseResult::badvers:
            q.edns.ecs.present = false;
            w.set_rcode(Rcode::badvers);
            break;
        case dns::ParseResult::drop:
        case dns::ParseResult::ok:
            break;
    }
    if (parsed == dns::ParseResult::ok) {
        // `_why.<name>` TXT: the type traced and <name>; 0 for every other query.
        uint16_t traced = 0;
        std::span<const uint8_t> why_target;
        if (write_identity(q, ctx.nsid, w)) {
            // answered: CH TXT id.server. / hostname.bind.
        } else if (q.qclass != dns::klass::IN) {
            w.set_rcode(Rcode::refused);  // CHAOS (version.bind) and friends: not ours
        } else if (q.qtype == type::AXFR || q.qtype == type::IXFR) {
            w.set_rcode(Rcode::refused);  // no transfers (yet)
        } else if (q.qtype == type::OPT || q.qtype == type::TSIG || q.qtype == type::TKEY) {
            w.set_rcode(Rcode::formerr);  // meta types cannot be asked for
        } else if (q.qtype == type::MAILA || q.qtype == type::MAILB) {
            w.set_rcode(Rcode::notimp);
        } else if (snap == nullptr) {
            w.set_rcode(Rcode::refused);
        } else if (traced = q.qtype == type::TXT ? why::traced_type(q.name(), why_target) : 0;
                   traced != 0) {
            lb::Client who = client;
            who.ecs = q.edns.ecs.present ? &q.edns.ecs : nullptr;
            write_why(*snap, why_target, traced, who, ctx, w, ecs_scope);
        } else {
            const Lookup lk = snap->find(q.name());
            if (lk.kind == Lookup::refused) {
                w.set_rcode(Rcode::refused);
            } else {
                w.set_aa(true);
                lb::Client who = client;
                who.ecs = q.edns.ecs.present ? &q.edns.ecs : nullptr;
                answer_name(*snap, q, lk, who, ctx, w, ecs_scope);
            }
        }
    }
    ctx.last.rcode = w.rcode();
    ctx.last.truncated = w.truncated();
    return w.finish(q, ctx.max_udp_payload, ecs_scope, ctx.nsid.bytes());
}

}  // namespace steerdns
