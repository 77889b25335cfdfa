// libFuzzer harness: the EDNS Client Subnet option (RFC 7871). The input is the option's data
// (FAMILY, SOURCE PREFIX, SCOPE PREFIX, ADDRESS). parse_client_subnet must agree with the
// RFC's rules as written out here; what it accepts must stay canonical through the client
// address the policies key on; and inside a query it must make the whole path answer as the
// RFC says: FORMERR without OPT when malformed, else the option echoed with a scope the
// family can hold, from the geo and hash pools of tests/fuzz/zones.
#include <cstdio>
#include <cstring>
#include <vector>

#include "fuzz_world.h"
#include "steerdns/dns/query.h"
#include "steerdns/dns/wire.h"
#include "steerdns/lb/client_net.h"

using namespace steerdns;

namespace {

// RFC 7871 6 and 7.2.1, written out independently of src/dns/query.cc.
bool rfc_valid(std::span<const uint8_t> d) {
    if (d.size() < 4) return false;
    const unsigned family = d[0] << 8 | d[1];
    const unsigned bits = family == 1 ? 32 : family == 2 ? 128 : 0;
    if (bits == 0 || d[2] > bits || d[3] > bits) return false;
    const size_t octets = (d[2] + 7u) / 8u;
    if (d.size() != 4 + octets) return false;
    for (unsigned bit = d[2]; bit < octets * 8; ++bit)
        if (d[4 + bit / 8] & (0x80 >> (bit % 8))) return false;
    return true;
}

void check_net(const lb::ClientNet& net, const dns::ClientSubnet& e, std::span<const uint8_t> d) {
    const unsigned bits = e.family == 2 ? 128 : 32;
    if (net.family != (e.family == 2 ? 6 : 4) || !net.from_ecs || net.prefix != e.source_prefix ||
        net.prefix > bits)
        fuzz::fail("client address does not follow the ECS option", d, {});
    for (unsigned bit = net.prefix; bit < 128; ++bit)
        if (net.address[bit / 8] & (0x80 >> (bit % 8)))
            fuzz::fail("client address has bits past its prefix", d, {});
}

std::vector<uint8_t> query_with(const char* name, uint16_t qtype, std::span<const uint8_t> ecs) {
    std::vector<uint8_t> q = {0xec, 0x50, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1};
    for (const char* p = name; *p;) {
        const char* dot = std::strchr(p, '.');
        q.push_back(static_cast<uint8_t>(dot - p));
        q.insert(q.end(), p, dot);
        p = dot + 1;
    }
    q.push_back(0);
    const size_t optlen = 4 + ecs.size();
    const uint8_t tail[] = {static_cast<uint8_t>(qtype >> 8),
                            static_cast<uint8_t>(qtype),
                            0,
                            1,
                            0,
                            0,
                            41,
                            0x04,
                            0xd0,
                            0,
                            0,
                            0,
                            0,
                            static_cast<uint8_t>(optlen >> 8),
                            static_cast<uint8_t>(optlen),
                            0,
                            8,
                            static_cast<uint8_t>(ecs.size() >> 8),
                            static_cast<uint8_t>(ecs.size())};
    q.insert(q.end(), tail, tail + sizeof tail);
    q.insert(q.end(), ecs.begin(), ecs.end());
    return q;
}

// The ECS option of the response's OPT record (the last record), or an empty span.
std::span<const uint8_t> echoed_ecs(std::span<const uint8_t> r) {
    // OPT is last and ours: 0 | TYPE | CLASS | TTL | RDLEN, then options.
    for (size_t at = 12; at + 11 <= r.size(); ++at) {
        if (r[at] == 0 && r[at + 1] == 0 && r[at + 2] == 41 &&
            at + 11 + dns::load_u16(&r[at + 9]) == r.size()) {
            std::span<const uint8_t> opts = r.subspan(at + 11);
            while (opts.size() >= 4) {
                const uint16_t code = dns::load_u16(&opts[0]);
                const uint16_t len = dns::load_u16(&opts[2]);
                if (4u + len > opts.size()) break;
                if (code == dns::kOptionEcs) return opts.subspan(4, len);
                opts = opts.subspan(4 + len);
            }
            return {};
        }
    }
    return {};
}

}  // namespace

// The zones load before the first input: -timeout measures one input, and on a loaded machine
// the load alone once took longer than that.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fuzz::world();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> d(data, size);
    dns::ClientSubnet e;
    const bool ok = dns::parse_client_subnet(d, e);
    if (ok != rfc_valid(d))
        fuzz::fail(ok ? "accepted a malformed option" : "rejected a valid option", d, {});
    if (ok != e.present) fuzz::fail("present does not say whether it parsed", d, {});
    if (ok) {
        const size_t octets = size - 4;
        if (e.family != (d[0] << 8 | d[1]) || e.source_prefix != d[2] || e.scope_prefix != d[3] ||
            std::memcmp(e.address, d.data() + 4, octets) != 0)
            fuzz::fail("parsed option differs from its bytes", d, {});
        for (size_t i = octets; i < sizeof e.address; ++i)
            if (e.address[i] != 0) fuzz::fail("address not zero past the prefix", d, {});
        lb::Client c;
        c.ecs = &e;
        check_net(lb::client_address(c), e, d);
        check_net(lb::hashing_subnet(c), e, d);
    }
    if (size > 1024) return 0;  // the option must fit a query; longer ones say nothing new

    fuzz::World& w = fuzz::world();
    fuzz::set_health(w, fuzz::seed_of(d));
    static AnswerContext ctx;
    static std::vector<uint8_t> out(4096);
    const lb::Client source = fuzz::client_from_seed(fuzz::seed_of(d));
    const uint16_t qtype = size >= 2 && d[1] == 2 ? dns::type::AAAA : dns::type::A;
    for (const char* name :
         {"g.fuzz.test.", "h.fuzz.test.", "child.fuzz.test.", "www.fuzz.test."}) {
        const std::vector<uint8_t> q = query_with(name, qtype, d);
        dns::Query parsed;
        const dns::ParseResult pr = dns::parse_query(q, parsed);
        if ((pr == dns::ParseResult::ok) != ok)
            fuzz::fail("query parse disagrees with the option parse", q, {});
        const size_t len = answer_query(w.snapshot.get(), q, source, Transport::udp, ctx, out);
        const std::span<const uint8_t> r(out.data(), len);
        fuzz::check_response(q, r, 1232);
        const unsigned rcode = r[3] & dns::kRcodeMask;
        const std::span<const uint8_t> echo = echoed_ecs(r);
        if (!ok) {
            if (rcode != static_cast<unsigned>(dns::Rcode::formerr) || dns::load_u16(&r[10]) != 0)
                fuzz::fail("malformed ECS not answered FORMERR without OPT", q, r);
            continue;
        }
        if (echo.size() != size || echo[0] != d[0] || echo[1] != d[1] || echo[2] != d[2] ||
            std::memcmp(echo.data() + 4, d.data() + 4, size - 4) != 0)
            fuzz::fail("ECS not echoed as sent (RFC 7871 7.2.2)", q, r);
        if (echo[3] > (e.family == 2 ? 128 : 32)) fuzz::fail("scope longer than the family", q, r);
    }
    return 0;
}
