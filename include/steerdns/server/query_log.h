// The query log (--query-log): one logfmt line per logged query, written by a thread of its
// own. A worker only copies a fixed-size record into its own single-producer ring (no
// allocation, no lock, no syscall); the writer thread drains every ring, formats the lines and
// writes them in batches. A full ring drops the record and counts it
// (WorkerStats::query_log_dropped): a slow disk costs log lines, never answers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "steerdns/answer/answer.h"
#include "steerdns/dns/wire.h"
#include "steerdns/lb/policy.h"
#include "steerdns/server/stats.h"

namespace steerdns::server {

// What one line says, summarised from the response we sent. Trivially copyable, so filling a
// ring slot is a handful of stores and one memcpy of the name.
struct QueryLogRecord {
    enum Flag : uint8_t {
        kQuestion = 1,   // the response has a question (a FORMERR may not)
        kTruncated = 2,  // TC set
        kEcs = 4,        // the response carries an EDNS Client Subnet option
        kFirst = 8,      // `first` holds the first A/AAAA address of the answer section
        kFallback = 16,  // the pool's fallback answered (no member of it was up)
        kTier = 32,      // `tier`: the failover priority that answered
    };
    int64_t time_ns = 0;  // CLOCK_REALTIME
    uint8_t client[16] = {};
    uint16_t client_port = 0;
    uint8_t client_family = 4;  // 4 or 6
    Transport transport = Transport::udp;
    uint8_t flags = 0;
    uint16_t qtype = 0;
    uint16_t rcode = 0;  // extended (BADVERS is 16)
    uint16_t answers = 0;
    uint16_t size = 0;       // response bytes
    uint8_t ecs_family = 0;  // 1 = IPv4, 2 = IPv6 (RFC 7871 family numbers)
    uint8_t ecs_source = 0;
    uint8_t ecs_scope = 0;
    uint8_t ecs_address[16] = {};
    uint8_t first_family = 0;  // 4 or 6
    uint8_t first[16] = {};
    uint8_t qname_len = 0;
    uint8_t qname[dns::kMaxNameLen] = {};  // wire form, the client's case
    // The decision, copied (the pool may be freed by a reload before the line is written):
    // the balanced name's pool, the client's geo region, the failover tier. Longer names are
    // cut.
    int32_t tier = 0;
    uint8_t pool_len = 0;
    uint8_t region_len = 0;
    char pool[47] = {};
    char region[31] = {};
};

// Fills everything but the time and the client from a response built by answer_query.
// Bounded by the response's length whatever its bytes say; allocates nothing.
void summarise_response(std::span<const uint8_t> response, uint16_t rcode, QueryLogRecord& r);

// One logfmt line (with its newline) appended to `out`. One thread at a time (the writer):
// type mnemonics are cached.
void format_query_line(const QueryLogRecord& r, std::string& out);

// A single-producer, single-consumer ring of records. The producer is one worker, the
// consumer the writer thread; indices only grow, so full and empty need no extra flag.
class QueryLogRing {
  public:
    explicit QueryLogRing(size_t capacity);  // rounded up to a power of two

    // Producer: the slot to fill, or nullptr when the ring is full; commit() publishes it.
    QueryLogRecord* claim() noexcept {
        const uint64_t head = head_.load(std::memory_order_relaxed);
        if (head - tail_seen_ >= capacity_) {
            tail_seen_ = tail_.load(std::memory_order_acquire);
            if (head - tail_seen_ >= capacity_) return nullptr;
        }
        return &slots_[head & (capacity_ - 1)];
    }
    void commit() noexcept {
        head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }

    // Consumer: hands every published record to `f`, oldest first; returns how many.
    template <class F>
    size_t consume(F&& f) {
        const uint64_t tail = tail_.load(std::memory_order_relaxed);
        const uint64_t head = head_.load(std::memory_order_acquire);
        for (uint64_t i = tail; i != head; ++i) f(slots_[i & (capacity_ - 1)]);
        tail_.store(head, std::memory_order_release);
        return static_cast<size_t>(head - tail);
    }

    size_t capacity() const { return capacity_; }

  private:
    size_t capacity_;
    std::unique_ptr<QueryLogRecord[]> slots_;
    // Producer and consumer indices on their own cache lines, so neither side's writes evict
    // the other's.
    alignas(64) std::atomic<uint64_t> head_{0};
    uint64_t tail_seen_ = 0;  // producer's last look at tail_
    alignas(64) std::atomic<uint64_t> tail_{0};
};

// A worker's end: decides which queries are logged (1 in `sample`) and pushes them. Off when
// no ring is set, which costs the query path one predictable branch (`on()`).
class QueryLogTap {
  public:
    void attach(QueryLogRing* ring, unsigned sample) {
        ring_ = ring;
        sample_ = sample == 0 ? 1 : sample;
        countdown_ = 1;  // the first query is always logged: "is it on?" has a quick answer
    }
    bool on() const { return ring_ != nullptr; }
    // The query was answered with `response` (answer_query's outcome in `o`).
    void record(const lb::Client& client, uint16_t port, Transport transport,
                std::span<const uint8_t> response, const Outcome& o, WorkerStats& stats) noexcept;

  private:
    QueryLogRing* ring_ = nullptr;
    uint32_t sample_ = 1;
    uint32_t countdown_ = 1;
};

// The writer: owns the output and one ring per worker.
class QueryLog {
  public:
    // A worker's records wait in its ring for at most ~kFlushMs; at 8192 records a ring holds
    // ~160k queries/s per worker at --query-log-sample 1 before it drops.
    static constexpr size_t kRingRecords = 8192;
    static constexpr unsigned kFlushMs = 50;
    // Records younger than this wait for the next pass, so late publishers sort into place.
    static constexpr unsigned kHoldMs = 200;

    // Opens `path` for appending ("-" = stderr). Throws std::runtime_error naming the path
    // when it cannot: done before privileges are dropped, so the file may be root's.
    QueryLog(std::string path, unsigned sample, unsigned workers);
    ~QueryLog();
    QueryLog(const QueryLog&) = delete;
    QueryLog& operator=(const QueryLog&) = delete;

    QueryLogRing& ring(unsigned worker) { return *rings_[worker]; }
    unsigned sample() const { return sample_; }
    const std::string& path() const { return path_; }

    // Starts the writer thread; `stats` are the workers' counters, read for drop warnings.
    void start(std::vector<const WorkerStats*> stats);
    // SIGUSR1 (and SIGHUP): reopen the file by name on the writer's next turn (log rotation). A
    // failure keeps the old file and logs a warning.
    void reopen();
    // Writes what the rings still hold, then joins. Workers must have stopped.
    void stop();

  private:
    void run();
    size_t collect(bool final);
    void write_out();
    void reopen_now();
    void warn_drops(bool final);

    std::string path_;
    unsigned sample_;
    int fd_ = -1;  // -1 with path_ "-": stderr, through the log's lock so lines stay whole
    std::vector<std::unique_ptr<QueryLogRing>> rings_;
    std::vector<const WorkerStats*> stats_;
    std::vector<QueryLogRecord> pending_;  // collected, sorted by time, not yet written
    std::string buffer_;
    uint64_t drops_reported_ = 0;
    int64_t last_drop_warning_ms_ = 0;
    int64_t last_write_warning_ms_ = 0;
    std::thread thread_;
    std::mutex m_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::atomic<bool> reopen_{false};
};

}  // namespace steerdns::server
