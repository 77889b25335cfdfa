// libFuzzer harness: the whole query path, bytes in to response bytes out, as the workers run
// it (answer_query with their buffer sizes), against the zones of tests/fuzz/zones. Each input
// is answered over UDP with three server payload limits and over TCP, from a client address
// and with member health both derived from the input, and every response is checked
// (fuzz_world.h check_response). Queries carry ECS or not as the input says.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_world.h"
#include "steerdns/dns/nsid.h"
#include "steerdns/dns/query.h"
#include "steerdns/dns/wire.h"

using namespace steerdns;

namespace {

// The worker's per-datagram reply slot, and the TCP answer buffer: exactly those sizes, so
// AddressSanitizer sees any write past what the worker hands out.
constexpr size_t kUdpOut = 4096;
constexpr uint8_t kPoison = 0xA5;

struct Buffers {
    std::vector<uint8_t> udp = std::vector<uint8_t>(kUdpOut);
    std::vector<uint8_t> tcp = std::vector<uint8_t>(dns::kMaxTcpMessage);
};

bool expect_drop(std::span<const uint8_t> q) {
    return q.size() < dns::kHeaderSize || (q[2] & dns::kFlagQR);
}

void answer_one(const Snapshot* snap, std::span<const uint8_t> q, const lb::Client& client,
                Transport t, uint16_t max_udp, AnswerContext& ctx, std::span<uint8_t> out) {
    ctx.max_udp_payload = max_udp;
    if (t == Transport::udp) std::fill(out.begin(), out.end(), kPoison);
    const size_t len = answer_query(snap, q, client, t, ctx, out);
    if (expect_drop(q)) {
        if (len != 0) fuzz::fail("answered a packet that must be dropped", q, out.first(len));
        if (!ctx.last.dropped) fuzz::fail("drop not counted as dropped", q, {});
        return;
    }
    if (len == 0) fuzz::fail("no answer to a query with a readable header", q, {});
    if (len > out.size()) fuzz::fail("length beyond the buffer", q, out);
    // What the client accepts: 512 without EDNS, its EDNS size within our bounds, TCP 64 KiB.
    size_t allowed = dns::kMaxTcpMessage;
    if (t == Transport::udp) {
        dns::Query parsed;
        dns::parse_query(q, parsed);
        allowed = parsed.edns.present
                      ? std::clamp<size_t>(parsed.edns.udp_size, dns::kMinUdpPayload, max_udp)
                      : dns::kMinUdpPayload;
        // Nothing written past that, even transiently.
        for (size_t i = allowed; i < out.size(); ++i)
            if (out[i] != kPoison) fuzz::fail("wrote past the client's limit", q, out.first(len));
    }
    fuzz::check_response(q, out.first(len), allowed);
    if (ctx.last.truncated != bool(out[2] & dns::kFlagTC))
        fuzz::fail("outcome and TC flag disagree", q, out.first(len));
}

}  // namespace

// The zones load before the first input: -timeout measures one input, and on a loaded machine
// the load alone once took longer than that.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fuzz::world();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::World& w = fuzz::world();
    static Buffers buf;
    static AnswerContext ctx;
    const std::span<const uint8_t> q(data, size);
    const uint64_t seed = fuzz::seed_of(q);
    fuzz::set_health(w, seed);
    ctx.rng.reseed(seed);
    // Half the inputs run with --nsid at its longest (255 bytes): the NSID option must still
    // never push a response past the client's limit, and CH TXT id.server. is answered.
    static const dns::Nsid longest = [] {
        dns::Nsid n;
        std::string error;
        dns::parse_nsid(std::string(dns::Nsid::kMaxLen, 'n'), n, error);
        return n;
    }();
    ctx.nsid = (seed & 1) ? longest : dns::Nsid{};
    const lb::Client client = fuzz::client_from_seed(seed);
    const Snapshot* snap = w.snapshot.get();

    if (size <= kUdpOut) {  // larger datagrams never reach answer_query (MSG_TRUNC)
        for (uint16_t max_udp : {uint16_t{1232}, uint16_t{512}, uint16_t{4096}})
            answer_one(snap, q, client, Transport::udp, max_udp, ctx, buf.udp);
    }
    answer_one(snap, q, client, Transport::tcp, 1232, ctx, buf.tcp);
    // Without any zone loaded (a server started on an empty directory): REFUSED, not a crash.
    if (size <= kUdpOut) answer_one(nullptr, q, client, Transport::udp, 1232, ctx, buf.udp);
    return 0;
}
