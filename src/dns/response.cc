#include "steerdns/dns/response.h"

#include <algorithm>
#include <cstring>

namespace steerdns::dns {

ResponseWriter::ResponseWriter(std::span<uint8_t> out, size_t limit)
    : out_(out), limit_(std::min(limit, out.size())), message_limit_(limit_) {}

void ResponseWriter::begin(std::span<const uint8_t> packet, const Query& q) {
    std::memcpy(out_.data(), packet.data(), kHeaderSize);
    pos_ = kHeaderSize;
    if (q.has_question) {
        // The question is copied as received: clients that randomise case (0x20) check it.
        const size_t qlen = q.question_end - kHeaderSize;
        std::memcpy(out_.data() + kHeaderSize, packet.data() + kHeaderSize, qlen);
        pos_ += qlen;
        remember(kHeaderSize, q.qname, q.qname_len);
    }
    question_end_ = pos_;
    // Keep room for the OPT record so it is never what pushes a response over the limit.
    if (q.edns.present) {
        const size_t reserve =
            11 + (q.edns.ecs.present ? 8 + (q.edns.ecs.source_prefix + 7u) / 8u : 0);
        limit_ = limit_ > reserve ? limit_ - reserve : 0;
    }
}

void ResponseWriter::remember(uint16_t offset, const uint8_t* name, size_t len) {
    // Pointers reach only the first 16 KiB; names past that are not worth remembering.
    if (known_count_ < kMaxKnown && offset < 0x3FFF && len > 1)
        known_[known_count_++] = Known{offset, static_cast<uint8_t>(len), name};
}

ResponseWriter::NameMatch ResponseWriter::find_name(std::span<const uint8_t> name) const {
    // Longest suffix first: walk name's labels; for each suffix, any known name that ends
    // with exactly those bytes on one of its own label boundaries gives a pointer target.
    size_t s = 0;
    while (s < name.size() && name[s] != 0) {
        const size_t slen = name.size() - s;
        for (uint8_t k = 0; k < known_count_; ++k) {
            const Known& kn = known_[k];
            if (kn.len < slen) continue;
            const size_t start = kn.len - slen;
            size_t b = 0;
            while (b < start) b += 1 + kn.name[b];
            if (b == start && std::memcmp(kn.name + start, name.data() + s, slen) == 0)
                return {static_cast<uint16_t>(s), static_cast<uint16_t>(kn.offset + start)};
        }
        s += 1 + name[s];
    }
    return {};
}

bool ResponseWriter::write_rr_tail(Section s, const uint8_t* image, size_t len,
                                   const uint8_t* rdata_name, size_t rdata_name_len) {
    if (pos_ + len > limit_) return false;
    std::memcpy(out_.data() + pos_, image, len);
    if (rdata_name != nullptr) {
        // The rdata name sits at the end of the record image (NS, CNAME) by construction.
        const size_t at = pos_ + len - rdata_name_len;
        last_rdata_name_ = static_cast<uint16_t>(at);
        remember(static_cast<uint16_t>(at), rdata_name, rdata_name_len);
    }
    pos_ += len;
    ++count_[static_cast<int>(s)];
    return true;
}

bool ResponseWriter::add_rr(Section s, uint16_t owner_offset, const uint8_t* image, size_t len,
                            const uint8_t* rdata_name, size_t rdata_name_len) {
    if (pos_ + 2 + len > limit_) return false;
    store_u16(out_.data() + pos_, static_cast<uint16_t>(0xC000 | owner_offset));
    pos_ += 2;
    return write_rr_tail(s, image, len, rdata_name, rdata_name_len);
}

bool ResponseWriter::add_rr_named(Section s, std::span<const uint8_t> owner, const uint8_t* image,
                                  size_t len, const uint8_t* rdata_name, size_t rdata_name_len) {
    const NameMatch known = find_name(owner);
    if (known.whole()) return add_rr(s, known.offset, image, len, rdata_name, rdata_name_len);
    // Not all of it is known: write the unknown leading labels, then point at the rest; or,
    // when no suffix is known, the whole name, remembered for the owners that follow.
    const size_t need = known.found() ? known.from + 2u : owner.size();
    const Mark m = mark();
    if (pos_ + need + len > limit_) return false;
    const size_t at = pos_;
    if (known.found()) {
        std::memcpy(out_.data() + pos_, owner.data(), known.from);
        store_u16(out_.data() + pos_ + known.from, static_cast<uint16_t>(0xC000 | known.offset));
    } else {
        std::memcpy(out_.data() + pos_, owner.data(), owner.size());
        remember(static_cast<uint16_t>(at), owner.data(), owner.size());
    }
    pos_ += need;
    if (!write_rr_tail(s, image, len, rdata_name, rdata_name_len)) {
        rollback(m);
        return false;
    }
    return true;
}

void ResponseWriter::rollback(const Mark& m) {
    pos_ = m.pos;
    for (int i = 0; i < 3; ++i) count_[i] = m.count[i];
    known_count_ = m.known;
}

void ResponseWriter::truncate() {
    pos_ = question_end_;
    count_[0] = count_[1] = count_[2] = 0;
    known_count_ = std::min<uint8_t>(known_count_, 1);
    tc_ = true;
}

size_t ResponseWriter::finish(const Query& q, uint16_t our_udp_size, uint8_t ecs_scope,
                              std::span<const uint8_t> nsid) {
    uint8_t* h = out_.data();
    const uint16_t rcode = static_cast<uint16_t>(rcode_);
    h[2] = static_cast<uint8_t>(kFlagQR | (q.flags1 & (kOpcodeMask | kFlagRD)) |
                                (aa_ ? kFlagAA : 0) | (tc_ ? kFlagTC : 0));
    h[3] = static_cast<uint8_t>((q.flags2 & kFlagCD) | (rcode & kRcodeMask));
    store_u16(h + 4, q.has_question ? 1 : 0);
    store_u16(h + 6, count_[0]);
    store_u16(h + 8, count_[1]);
    uint16_t arcount = count_[2];
    if (q.edns.present) {
        // The reserve guarantees room: OPT is never what pushes a response over the limit.
        uint8_t* o = h + pos_;
        o[0] = 0;
        store_u16(o + 1, type::OPT);
        store_u16(o + 3, our_udp_size);
        o[5] = static_cast<uint8_t>(rcode >> 4);  // extended rcode: upper 8 of 12 bits
        o[6] = 0;                                 // version 0
        o[7] = q.edns.do_bit ? 0x80 : 0;          // RFC 3225: DO is copied
        o[8] = 0;
        size_t rdlen = 0;
        if (q.edns.ecs.present) {
            const ClientSubnet& e = q.edns.ecs;
            const size_t octets = (e.source_prefix + 7u) / 8u;
            uint8_t* opt = o + 11;
            store_u16(opt, kOptionEcs);
            store_u16(opt + 2, static_cast<uint16_t>(4 + octets));
            store_u16(opt + 4, e.family);
            opt[6] = e.source_prefix;
            opt[7] = std::min(ecs_scope, static_cast<uint8_t>(e.family == 1 ? 32 : 128));
            std::memcpy(opt + 8, e.address, octets);
            rdlen = 8 + octets;
        }
        // NSID was not reserved for: it goes in only when the records left room, since the
        // answer matters more than which server gave it.
        if (q.edns.nsid && !nsid.empty() && pos_ + 11 + rdlen + 4 + nsid.size() <= message_limit_) {
            uint8_t* opt = o + 11 + rdlen;
            store_u16(opt, kOptionNsid);
            store_u16(opt + 2, static_cast<uint16_t>(nsid.size()));
            std::memcpy(opt + 4, nsid.data(), nsid.size());
            rdlen += 4 + nsid.size();
        }
        store_u16(o + 9, static_cast<uint16_t>(rdlen));
        pos_ += 11 + rdlen;
        ++arcount;
    }
    store_u16(h + 10, arcount);
    return pos_;
}

}  // namespace steerdns::dns
