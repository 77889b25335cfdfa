// The whole query path, bytes in to bytes out, with no I/O: parse, look up, select members,
// render. Workers call it for UDP and TCP alike; tests and fuzzers call it directly.
// Allocation-free: everything lives in the caller's buffers and the worker's context.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "steerdns/answer/signature_cache.h"
#include "steerdns/answer/snapshot.h"
#include "steerdns/answer/why.h"
#include "steerdns/dns/nsid.h"
#include "steerdns/dns/wire.h"
#include "steerdns/lb/net_list.h"
#include "steerdns/lb/policy.h"
#include "steerdns/lb/rng.h"

namespace steerdns {

enum class Transport : uint8_t { udp, tcp };

// What happened to the last query, for counters and the query log.
struct Outcome {
    bool dropped = false;
    bool truncated = false;
    dns::Rcode rcode = dns::Rcode::noerror;
    uint16_t qtype = 0;
    const lb::Pool* pool = nullptr;  // when the answer came from a pool
    bool fallback = false;           // no member of the pool was up: its fallback answered
    // What the selection keyed on, for the query log: the geo client region (kNoRegion when
    // none), and the failover priority that answered (failover pools only).
    uint16_t region = lb::kNoRegion;
    bool has_tier = false;
    int32_t tier = 0;
    // A `_why` query: answered with a trace, or refused (the client is not in --explain-from).
    bool explained = false;
    bool explain_refused = false;
};

// Per-worker state the query path may touch. Owned by one thread, never shared.
struct AnswerContext {
    lb::Rng rng;
    uint16_t max_udp_payload = 1232;  // our EDNS buffer size (DNS flag day 2020)
    unsigned worker = 0;  // the row of the snapshot's response counters this context writes
    // --nsid, copied in at start: answers the NSID option and CH TXT id.server. when set.
    dns::Nsid nsid;
    Outcome last;
    // The eligible members of the pool being answered: its buffer is allocated once with the
    // context and reused by every query, so health filtering never allocates.
    lb::Eligible eligible;
    // `_why` queries (decision traces): who may ask (--explain-from; empty: nobody), and the
    // probe details member lines show (empty: states only).
    std::vector<lb::Cidr> explain_from = lb::loopback_nets();
    why::ProbeLookup probes;
    // DNSSEC: the RRSIGs of answer sets signed on first use (--signature-cache; null: signed
    // for each answer, kept nowhere), and the buffer a miss signs into.
    std::unique_ptr<SignatureCache> signatures;
    std::vector<uint8_t> signing;
};

// Writes the response to `query` into `out` and returns its length; 0 means send nothing.
size_t answer_query(const Snapshot* snapshot, std::span<const uint8_t> query,
                    const lb::Client& client, Transport transport, AnswerContext& ctx,
                    std::span<uint8_t> out);

}  // namespace steerdns
