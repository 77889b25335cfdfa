// What one answering thread owns to turn a query into a response: its answer context (random
// source, signature cache, scratch buffers), its counters, its query log tap and its snapshot
// reference. A worker has one for its TCP loop and one per UDP lane, so no two threads ever
// write the same counters or touch the same context; each writes its own row of a
// snapshot's response counters.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "steerdns/answer/answer.h"
#include "steerdns/server/options.h"
#include "steerdns/server/peer.h"
#include "steerdns/server/query_log.h"
#include "steerdns/server/shared_limits.h"
#include "steerdns/server/snapshot_slot.h"
#include "steerdns/server/stats.h"

namespace steerdns::server {

class Responder {
  public:
    // `row`: this responder's row of the snapshots' response counters and its query log ring.
    Responder(unsigned row, const ServeOptions& opts, SnapshotSlot& slot, SharedLimits& limits);
    Responder(const Responder&) = delete;
    Responder& operator=(const Responder&) = delete;

    // --query-log: this responder's ring and sampling; before the thread starts.
    void set_query_log(QueryLogRing* ring, unsigned sample) { query_log_.attach(ring, sample); }
    // Where `_why` traces read probe details; before the thread starts.
    void set_probe_lookup(why::ProbeLookup probes) { ctx_.probes = std::move(probes); }

    // Takes the slot's current snapshot: once per reload, on the answering thread.
    void adopt() { snapshot_ = slot_.get(); }
    // Lets go of the snapshot when the thread ends, so the control thread can free it.
    void release() { snapshot_.reset(); }

    // One query, from receipt to the bytes to send: answer_query(), rate limiting (UDP; `now_ms`
    // is a monotonic millisecond clock, the one every worker's limiter entries share), then
    // what every answered query is counted and logged as. Returns the response length in
    // `out`; 0: send nothing (counted here, as dropped or rate limited).
    size_t answer(std::span<const uint8_t> query, const Peer& peer, Transport transport,
                  std::span<uint8_t> out, uint64_t now_ms);

    unsigned row() const { return row_; }
    const WorkerStats& stats() const { return stats_; }
    WorkerStats& mutable_stats() { return stats_; }
    // Null with --signature-cache 0. Its counters may be read from other threads.
    const SignatureCache* signature_cache() const { return ctx_.signatures.get(); }

  private:
    unsigned row_;
    SnapshotSlot& slot_;
    SharedLimits& limits_;
    SnapshotPtr snapshot_;
    AnswerContext ctx_;
    WorkerStats stats_;
    QueryLogTap query_log_;
};

}  // namespace steerdns::server
