#include "steerdns/server/responder.h"

#include <uv.h>

namespace steerdns::server {

Responder::Responder(unsigned row, const ServeOptions& opts, SnapshotSlot& slot,
                     SharedLimits& limits)
    : row_(row), slot_(slot), limits_(limits) {
    ctx_.max_udp_payload = opts.max_udp_payload;
    ctx_.nsid = opts.nsid;
    if (opts.signature_cache > 0)
        ctx_.signatures = std::make_unique<SignatureCache>(opts.signature_cache);
    ctx_.explain_from = opts.explain_from;
    ctx_.worker = row;
    ctx_.rng.reseed(0x5eed0000ull + row * 7919ull + static_cast<uint64_t>(uv_hrtime()));
    snapshot_ = slot_.get();
}

size_t Responder::answer(std::span<const uint8_t> query, const Peer& peer, Transport transport,
                         std::span<uint8_t> out, uint64_t now_ms) {
    size_t len = answer_query(snapshot_.get(), query, peer.client, transport, ctx_, out);
    if (len == 0) {
        // Nothing sensible to say: a response sent to us, a packet too short for a header.
        WorkerStats::bump(stats_.dropped);
        WorkerStats::bump(stats_.dropped_malformed);
        return 0;
    }
    const Outcome& o = ctx_.last;
    if (transport == Transport::udp) {
        // Rate limiting is for UDP only: over TCP the source address is not spoofed.
        if (RateLimiter& rrl = limits_.rrl; rrl.enabled()) {
            switch (rrl.check(peer.client, rrl_class(o.rcode), now_ms)) {
                case RrlVerdict::drop:
                    WorkerStats::bump(stats_.rrl_dropped);
                    return 0;
                case RrlVerdict::slip:
                    WorkerStats::bump(stats_.rrl_slipped);
                    len = slip_response(out, len);
                    break;
                case RrlVerdict::send:
                    break;
            }
        }
        if (o.truncated) WorkerStats::bump(stats_.truncated);  // a UDP counter (/metrics)
    }
    count_query(stats_, transport == Transport::tcp, o.qtype, static_cast<uint16_t>(o.rcode));
    if (o.explained) WorkerStats::bump(stats_.why_answered);
    if (o.explain_refused) WorkerStats::bump(stats_.why_refused);
    if (query_log_.on())
        query_log_.record(peer.client, peer.port, transport, out.first(len), o, stats_);
    return len;
}

}  // namespace steerdns::server
