#include "steerdns/answer/answer.h"

#include <algorithm>

#include "steerdns/dns/query.h"
#include "steerdns/dns/response.h"

namespace steerdns {
namespace {

using dns::Rcode;
using dns::ResponseWriter;
using dns::Section;
namespace type = dns::type;

// CNAME chains inside a zone are followed this far; longer chains are left to resolvers.
constexpr int kMaxChain = 8;

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

// The SOA of a negative answer: `image` is z.soa_negative, or z.soa_fallback (short TTL) for
// a pool whose members are all down.
void add_soa(ResponseWriter& w, const zone::Zone& z, const std::vector<uint8_t>& image) {
    if (!w.add_rr_named(Section::authority, z.apex, image.data(), image.size())) w.truncate();
}

// RFC 8482 4.2: answer ANY with one synthesized HINFO instead of everything we have.
void add_any_hinfo(ResponseWriter& w, uint16_t owner, uint32_t ttl) {
    uint8_t img[10 + 9] = {
        0,   type::HINFO, 0, dns::klass::IN, 0, 0, 0, 0, 0, 9, 7, 'R', 'F', 'C', '8', '4',
        '8', '2',         0};
    dns::store_u32(img + 4, ttl);
    if (!w.add_rr(Section::answer, owner, img, sizeof img)) w.truncate();
}

// Answers an existing, authoritative name, following CNAMEs inside the zone.
void answer_name(const Snapshot& snap, const dns::Query& q, Lookup lk, const lb::Client& client,
                 AnswerContext& ctx, ResponseWriter& w, uint8_t& ecs_scope) {
    const zone::Zone* zone = lk.found.zone;
    uint16_t owner = dns::kHeaderSize;
    const zone::Node* visited[kMaxChain + 1];
    for (int hop = 0; hop <= kMaxChain; ++hop) {
        // A CNAME loop ends where it started: each record once in the answer (RFC 2181 5).
        for (int i = 0; i < hop; ++i)
            if (visited[i] == lk.found.node) return;
        visited[hop] = lk.found.node;
        const zone::Zone& z = *lk.found.zone;
        const zone::Node& n = *lk.found.node;
        const bool at_cut = (n.flags & zone::node_flag::delegation) &&
                            !(lk.kind == Lookup::exact && q.qtype == type::DS);
        if ((n.flags & zone::node_flag::occluded) || at_cut) {
            // Referral: NS of the cut in authority, glue in additional. Not authoritative,
            // unless CNAMEs led here: then the answer section is ours, and RFC 1034 4.3.2
            // (step 3a, then 3b) still owes the resolver the referral, as NSD and Knot give.
            const zone::Node& cut = at_cut ? n : z.nodes[n.cut];
            const zone::RRset* ns = z.find_rrset(cut, type::NS);
            if (hop == 0) w.set_aa(false);
            if (!add_rrset_named(w, Section::authority, z.node_name(cut), z, *ns) ||
                !add_glue(w, z, *ns))
                w.truncate();
            return;
        }
        if (lk.kind == Lookup::nxdomain) {
            w.set_rcode(Rcode::nxdomain);
            add_soa(w, z, z.soa_negative);
            return;
        }
        if (q.qtype == type::ANY) {
            if (n.empty())
                add_soa(w, z, z.soa_negative);
            else
                add_any_hinfo(w, owner, z.default_ttl);
            return;
        }
        const zone::RRset* cname = q.qtype == type::CNAME ? nullptr : z.find_rrset(n, type::CNAME);
        if (cname) {
            if (!add_rrset(w, Section::answer, owner, z, *cname)) return w.truncate();
            owner = w.last_rdata_name_offset();
            const uint8_t* target = z.images.data() + cname->offset + 10;
            const uint16_t len = dns::load_u16(z.images.data() + cname->offset + 8);
            lk = snap.find({target, len});
            if (lk.kind == Lookup::refused || lk.found.zone != zone) return;  // out of zone
            continue;
        }
        if (n.pool >= 0 && (q.qtype == type::A || q.qtype == type::AAAA)) {
            lb::Selection sel;
            const lb::Choice c =
                lb::select_with_fallback(z.pools, static_cast<size_t>(n.pool), q.qtype,
                                         snap.health(), client, ctx.rng, ctx.eligible, sel);
            ctx.last.pool = &z.pools[static_cast<size_t>(n.pool)];
            ctx.last.fallback = c.fallback;
            ecs_scope = sel.ecs_scope;
            std::atomic<uint64_t>* counters =
                snap.pool_counters(ctx.worker, lk.found.zone_index, static_cast<size_t>(n.pool));
            if (counters) {
                count_one(counters[Snapshot::kPoolResponses]);
                if (c.fallback) count_one(counters[Snapshot::kPoolFallbacks]);
            }
            if (c.kind == lb::Choice::nodata_short) return add_soa(w, z, z.soa_fallback);
            if (c.kind == lb::Choice::answer && sel.count > 0) {
                const lb::FamilySet& fs = c.pool->family(q.qtype);
                // The members are counted in the pool that answered (a fallback pool's own).
                if (counters && c.pool != ctx.last.pool)
                    counters = snap.pool_counters(ctx.worker, lk.found.zone_index,
                                                  static_cast<size_t>(c.pool - z.pools.data()));
                for (uint32_t i = 0; i < sel.count; ++i) {
                    const size_t at = sel.position(i);
                    const uint8_t* img = fs.images.data() + at * fs.image_size;
                    if (!w.add_rr(Section::answer, owner, img, fs.image_size)) return w.truncate();
                    if (counters) count_one(counters[Snapshot::kPoolMembers + fs.members[at]]);
                }
                return;
            }
        } else if (const zone::RRset* rs = z.find_rrset(n, q.qtype)) {
            if (!add_rrset(w, Section::answer, owner, z, *rs)) return w.truncate();
            if (rs->type == type::NS) add_glue(w, z, *rs);
            return;
        }
        add_soa(w, z, z.soa_negative);  // NODATA
        return;
    }
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
        if (q.qclass != dns::klass::IN) {
            w.set_rcode(Rcode::refused);  // CHAOS (version.bind) and friends: not ours
        } else if (q.qtype == type::AXFR || q.qtype == type::IXFR) {
            w.set_rcode(Rcode::refused);  // no transfers (yet)
        } else if (q.qtype == type::OPT || q.qtype == type::TSIG || q.qtype == type::TKEY) {
            w.set_rcode(Rcode::formerr);  // meta types cannot be asked for
        } else if (q.qtype == type::MAILA || q.qtype == type::MAILB) {
            w.set_rcode(Rcode::notimp);
        } else if (snap == nullptr) {
            w.set_rcode(Rcode::refused);
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
    return w.finish(q, ctx.max_udp_payload, ecs_scope);
}

}  // namespace steerdns
