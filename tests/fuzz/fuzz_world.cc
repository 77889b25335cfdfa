#include "fuzz_world.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "steerdns/dns/wire.h"
#include "steerdns/zone/compile.h"
#include "steerdns/zone/ldns_ptr.h"

#ifndef STEERDNS_FUZZ_ZONES
#define STEERDNS_FUZZ_ZONES "tests/fuzz/zones"
#endif

namespace steerdns::fuzz {
namespace {

World* build() {
    static World w;
    std::vector<zone::ZonePtr> zones;
    // Sorted, so the zone order (and with it every answer) is the same in every run.
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(STEERDNS_FUZZ_ZONES))
        if (e.path().extension() == ".json") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        zone::CompileResult r = zone::load_zone(f.string(), &w.registry);
        if (!r.zone) {
            for (const auto& d : r.diags) std::fprintf(stderr, "%s\n", d.to_string().c_str());
            std::abort();
        }
        zones.push_back(r.zone);
    }
    if (zones.empty()) {
        std::fprintf(stderr, "no zones in %s\n", STEERDNS_FUZZ_ZONES);
        std::abort();
    }
    for (const health::ProbeSpec& p : w.registry.active()) w.slots.push_back(p.slot);
    w.snapshot = std::make_shared<const Snapshot>(std::move(zones), 1, w.registry.table());
    return &w;
}

void hex(const char* label, std::span<const uint8_t> bytes) {
    std::fprintf(stderr, "%s (%zu bytes):", label, bytes.size());
    for (size_t i = 0; i < bytes.size(); ++i)
        std::fprintf(stderr, "%s%02x", i % 32 == 0 ? "\n  " : " ", bytes[i]);
    std::fprintf(stderr, "\n");
}

// A strict reader of one message, independent of the code under test.
class Walker {
  public:
    explicit Walker(std::span<const uint8_t> m) : m_(m) {}

    const char* run() {
        if (m_.size() < dns::kHeaderSize) return "response shorter than a header";
        const uint16_t counts[4] = {dns::load_u16(&m_[4]), dns::load_u16(&m_[6]),
                                    dns::load_u16(&m_[8]), dns::load_u16(&m_[10])};
        if (counts[0] > 1) return "more than one question";
        pos_ = dns::kHeaderSize;
        if (counts[0] == 1) {
            if (!name(pos_)) return "question name malformed";
            if (pos_ + 4 > m_.size()) return "question cut short";
            pos_ += 4;
            question_end_ = pos_;
        }
        for (int s = 1; s <= 3; ++s)
            for (uint16_t i = 0; i < counts[s]; ++i)
                if (const char* e = rr(s)) return e;
        if (pos_ != m_.size()) return "bytes after the last record";
        return nullptr;
    }
    size_t question_end() const { return question_end_; }
    bool has_opt() const { return opt_seen_; }

  private:
    // Reads the name at `at` (moving it past the name as written); pointers must point
    // strictly backwards, past the header, so a decoder always ends.
    bool name(size_t& at, size_t limit = SIZE_MAX) {
        size_t p = at;
        size_t total = 1;
        bool jumped = false;
        while (true) {
            if (p >= m_.size() || (!jumped && p >= limit)) return false;
            const uint8_t b = m_[p];
            if (b == 0) {
                if (!jumped) at = p + 1;
                return true;
            }
            if ((b & 0xC0) == 0xC0) {
                if (p + 1 >= m_.size() || (!jumped && p + 1 >= limit)) return false;
                const size_t target = static_cast<size_t>((b & 0x3F) << 8 | m_[p + 1]);
                if (target >= p || target < dns::kHeaderSize) return false;
                if (!jumped) at = p + 2;
                jumped = true;
                p = target;
                continue;
            }
            if (b & 0xC0) return false;  // 0x40 and 0x80 label types are not ours to send
            total += 1 + b;
            if (total > dns::kMaxNameLen) return false;
            p += 1 + b;
        }
    }

    const char* rr(int section) {
        const size_t owner = pos_;
        if (!name(pos_)) return "owner name malformed";
        if (pos_ + 10 > m_.size()) return "record header cut short";
        const uint16_t type = dns::load_u16(&m_[pos_]);
        const uint16_t rdlen = dns::load_u16(&m_[pos_ + 8]);
        pos_ += 10;
        const size_t end = pos_ + rdlen;
        if (end > m_.size()) return "rdata runs past the message";
        if (type == dns::type::OPT) {
            if (section != 3) return "OPT outside the additional section";
            if (opt_seen_) return "two OPT records";
            if (m_[owner] != 0) return "OPT not owned by the root";
            opt_seen_ = true;
        } else if (opt_seen_) {
            return "a record after the OPT";  // ours always comes last
        }
        // Owners of later records may point into these names: they must be sound.
        size_t r = pos_;
        bool names_ok = true;
        switch (type) {
            case dns::type::NS:
            case dns::type::CNAME:
            case 12:  // PTR
                names_ok = name(r, end) && r == end;
                break;
            case dns::type::MX:
                r += 2;
                names_ok = r <= end && name(r, end) && r == end;
                break;
            case dns::type::SOA:
                names_ok = name(r, end) && name(r, end) && r + 20 == end;
                break;
            default:
                break;
        }
        if (!names_ok) return "rdata name malformed or not filling the rdata";
        pos_ = end;
        return nullptr;
    }

    std::span<const uint8_t> m_;
    size_t pos_ = 0;
    size_t question_end_ = dns::kHeaderSize;
    bool opt_seen_ = false;
};

// RFC 2181 5: the same record twice in one section is a bug (CNAME loops, glue).
const char* duplicate_in_section(const ldns_pkt* p) {
    const ldns_rr_list* sections[] = {ldns_pkt_answer(p), ldns_pkt_authority(p),
                                      ldns_pkt_additional(p)};
    for (const ldns_rr_list* list : sections) {
        const size_t n = ldns_rr_list_rr_count(list);
        for (size_t i = 0; i < n; ++i)
            for (size_t j = i + 1; j < n; ++j)
                if (ldns_rr_compare(ldns_rr_list_rr(list, i), ldns_rr_list_rr(list, j)) == 0)
                    return "the same record twice in one section";
    }
    return nullptr;
}

}  // namespace

World& world() {
    static World* w = build();
    return *w;
}

void set_health(World& w, uint64_t seed) {
    uint64_t bits = seed;
    for (size_t i = 0; i < w.slots.size(); ++i) {
        if (i % 32 == 0 && i > 0) bits = bits * 0x9E3779B97F4A7C15ull + 1;
        // Two bits each: unknown, up, down, down (down twice as likely: fallbacks get work).
        const unsigned v = (bits >> ((i % 32) * 2)) & 3;
        w.registry.states().set(w.slots[i], v == 0   ? health::State::unknown
                                            : v == 1 ? health::State::up
                                                     : health::State::down);
    }
}

uint64_t seed_of(std::span<const uint8_t> data) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint8_t b : data) h = (h ^ b) * 0x100000001b3ull;
    return h;
}

lb::Client client_from_seed(uint64_t seed) {
    lb::Client c;
    const uint8_t r[4] = {static_cast<uint8_t>(seed >> 8), static_cast<uint8_t>(seed >> 16),
                          static_cast<uint8_t>(seed >> 24), static_cast<uint8_t>(seed >> 32)};
    switch ((seed >> 40) % 8) {
        case 0: {  // the eu /24 and the ap /25 inside it
            const uint8_t a[4] = {198, 51, 100, r[0]};
            std::memcpy(c.address, a, 4);
            break;
        }
        case 1: {
            const uint8_t a[4] = {10, r[0], r[1], r[2]};
            std::memcpy(c.address, a, 4);
            break;
        }
        case 2:
            std::memcpy(c.address, r, 4);
            break;
        case 3: {  // the eu /48 and the ap /49 inside it
            const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, r[0], r[1], r[2], r[3]};
            c.family = 6;
            std::memcpy(c.address, a, 16);
            break;
        }
        case 4:
            c.family = 6;
            for (int i = 0; i < 16; ++i) c.address[i] = static_cast<uint8_t>(seed >> ((i % 8) * 8));
            break;
        case 5: {  // v4-mapped, as a dual-stack socket reports IPv4 clients
            const uint8_t a[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, r[0]};
            c.family = 6;
            std::memcpy(c.address, a, 16);
            break;
        }
        case 6: {
            const uint8_t a[4] = {203, 0, 113, r[0]};
            std::memcpy(c.address, a, 4);
            break;
        }
        default: {
            const uint8_t a[4] = {127, 0, 0, 1};
            std::memcpy(c.address, a, 4);
            break;
        }
    }
    return c;
}

void fail(const char* what, std::span<const uint8_t> query, std::span<const uint8_t> response) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
    hex("query", query);
    hex("response", response);
    std::abort();
}

void check_response(std::span<const uint8_t> query, std::span<const uint8_t> response,
                    size_t allowed) {
    if (response.size() > allowed) fail("response larger than the client allows", query, response);
    Walker walk(response);
    if (const char* e = walk.run()) fail(e, query, response);
    const uint8_t* r = response.data();
    const uint8_t* q = query.data();
    if (r[0] != q[0] || r[1] != q[1]) fail("ID not echoed", query, response);
    if (!(r[2] & dns::kFlagQR)) fail("QR not set", query, response);
    if ((r[2] & dns::kOpcodeMask) != (q[2] & dns::kOpcodeMask))
        fail("opcode changed", query, response);
    if ((r[2] & dns::kFlagRD) != (q[2] & dns::kFlagRD)) fail("RD not copied", query, response);
    if (dns::load_u16(r + 4) == 1) {
        const size_t qend = walk.question_end();
        if (qend > query.size() ||
            std::memcmp(r + dns::kHeaderSize, q + dns::kHeaderSize, qend - dns::kHeaderSize) != 0)
            fail("question not echoed as received", query, response);
    }
    if (r[2] & dns::kFlagTC) {
        const uint16_t ar = dns::load_u16(r + 10);
        if (dns::load_u16(r + 6) != 0 || dns::load_u16(r + 8) != 0 ||
            ar != (walk.has_opt() ? 1 : 0))
            fail("truncated response still carries records", query, response);
    }
    ldns_pkt* raw = nullptr;
    if (ldns_wire2pkt(&raw, response.data(), response.size()) != LDNS_STATUS_OK)
        fail("ldns cannot decode the response", query, response);
    zone::PktPtr pkt(raw);
    if (const char* e = duplicate_in_section(pkt.get())) fail(e, query, response);
}

}  // namespace steerdns::fuzz
