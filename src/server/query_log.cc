#include "steerdns/server/query_log.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string_view>

#include "steerdns/dns/name.h"
#include "steerdns/dns/rr_type.h"
#include "steerdns/lb/policy_geo.h"
#include "steerdns/util/log.h"
#include "steerdns/util/sockaddr.h"

namespace steerdns::server {
namespace {

// Offset just past the (possibly compressed) name at `pos`, or 0 when it runs off the end.
size_t skip_name(std::span<const uint8_t> m, size_t pos) {
    for (size_t labels = 0; pos < m.size() && labels <= dns::kMaxLabels; ++labels) {
        const uint8_t len = m[pos];
        if (len == 0) return pos + 1;
        if ((len & 0xc0) == 0xc0) return pos + 2 <= m.size() ? pos + 2 : 0;
        if (len > dns::kMaxLabelLen) return 0;
        pos += 1 + size_t{len};
    }
    return 0;
}

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Besides what a zone file escapes, every byte that could confuse a logfmt reader (quote, '=',
// backslash) is written as \DDD, so a qname value never needs quotes.
constexpr std::string_view kLogfmtEscapes = "\"=\\";

// "2026-05-01T12:00:00.123Z"; the date part is formatted once per second.
void append_time(std::string& out, int64_t time_ns) {
    static thread_local int64_t cached_sec = -1;
    static thread_local char cached[64];
    const int64_t sec = time_ns / 1000000000;
    const int ms = static_cast<int>((time_ns / 1000000) % 1000);
    if (sec != cached_sec) {
        const std::time_t t = static_cast<std::time_t>(sec);
        std::tm tm{};
        gmtime_r(&t, &tm);
        std::snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        cached_sec = sec;
    }
    out += cached;
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%03dZ", ms);
    out += frac;
}

}  // namespace

void summarise_response(std::span<const uint8_t> m, uint16_t rcode, QueryLogRecord& r) {
    r.flags = 0;
    r.rcode = rcode;
    r.size = static_cast<uint16_t>(std::min<size_t>(m.size(), 0xffff));
    r.qname_len = 0;
    r.qtype = 0;
    r.answers = 0;
    if (m.size() < dns::kHeaderSize) return;
    if (m[2] & dns::kFlagTC) r.flags |= QueryLogRecord::kTruncated;
    const uint16_t qd = dns::load_u16(&m[4]);
    const uint16_t an = dns::load_u16(&m[6]);
    const uint16_t ns = dns::load_u16(&m[8]);
    const uint16_t ar = dns::load_u16(&m[10]);
    r.answers = an;
    size_t pos = dns::kHeaderSize;
    if (qd == 1) {
        // Our responses echo the question uncompressed: its bytes are the name.
        const size_t end = skip_name(m, pos);
        if (end == 0 || end + 4 > m.size() || end - pos > dns::kMaxNameLen) return;
        r.qname_len = static_cast<uint8_t>(end - pos);
        std::memcpy(r.qname, &m[pos], end - pos);
        r.qtype = dns::load_u16(&m[end]);
        r.flags |= QueryLogRecord::kQuestion;
        pos = end + 4;
    }
    // Every record up to the OPT, which our writer puts last: the first A/AAAA of the answer
    // section (after any CNAMEs) and the ECS option.
    const uint32_t records = uint32_t{an} + ns + ar;
    for (uint32_t i = 0; i < records; ++i) {
        const size_t fixed = skip_name(m, pos);
        if (fixed == 0 || fixed + 10 > m.size()) return;
        const uint16_t type = dns::load_u16(&m[fixed]);
        const uint16_t rdlen = dns::load_u16(&m[fixed + 8]);
        const size_t rdata = fixed + 10;
        if (rdata + rdlen > m.size()) return;
        if (i < an && !(r.flags & QueryLogRecord::kFirst) &&
            ((type == dns::type::A && rdlen == 4) || (type == dns::type::AAAA && rdlen == 16))) {
            r.first_family = type == dns::type::A ? 4 : 6;
            std::memcpy(r.first, &m[rdata], rdlen);
            r.flags |= QueryLogRecord::kFirst;
        }
        if (type == dns::type::OPT) {
            for (size_t o = rdata; o + 4 <= rdata + rdlen;) {
                const uint16_t code = dns::load_u16(&m[o]);
                const uint16_t olen = dns::load_u16(&m[o + 2]);
                if (o + 4 + olen > rdata + rdlen) break;
                if (code == dns::kOptionEcs && olen >= 4) {
                    r.ecs_family = static_cast<uint8_t>(dns::load_u16(&m[o + 4]));
                    r.ecs_source = m[o + 6];
                    r.ecs_scope = m[o + 7];
                    std::memset(r.ecs_address, 0, sizeof r.ecs_address);
                    std::memcpy(r.ecs_address, &m[o + 8],
                                std::min<size_t>(olen - 4u, sizeof r.ecs_address));
                    r.flags |= QueryLogRecord::kEcs;
                }
                o += 4 + size_t{olen};
            }
        }
        pos = rdata + rdlen;
    }
}

void format_query_line(const QueryLogRecord& r, std::string& out) {
    out += "ts=";
    append_time(out, r.time_ns);
    out += " msg=query client=";
    util::append_address_text(out, r.client_family, r.client);
    out += " port=";
    out += std::to_string(r.client_port);
    out += r.transport == Transport::tcp ? " transport=tcp" : " transport=udp";
    if (r.flags & QueryLogRecord::kQuestion) {
        out += " qname=";
        dns::append_name_text(out, {r.qname, r.qname_len}, kLogfmtEscapes);
        out += " qtype=";
        dns::append_rr_type(out, r.qtype);
    }
    out += " rcode=";
    if (const char* name = dns::rcode_name(r.rcode)) {
        out += name;
    } else {
        out += "RCODE";
        out += std::to_string(r.rcode);
    }
    out += " answers=";
    out += std::to_string(r.answers);
    if (r.flags & QueryLogRecord::kFirst) {
        out += " first=";
        util::append_address_text(out, r.first_family, r.first);
    }
    if (r.flags & QueryLogRecord::kTruncated) out += " tc=1";
    if (r.flags & QueryLogRecord::kEcs) {
        // As the client sent it, then the scope we answered with (dig's "a/b/c" split in two).
        out += " ecs=";
        if (r.ecs_family == 1 || r.ecs_family == 2) {
            util::append_address_text(out, r.ecs_family == 1 ? 4 : 6, r.ecs_address);
        } else {
            out += '?';
        }
        out += '/';
        out += std::to_string(r.ecs_source);
        out += " scope=";
        out += std::to_string(r.ecs_scope);
    }
    if (r.pool_len > 0) {
        // The decision (README "Why this answer"): which pool, where the client was placed,
        // which failover tier answered, whether the fallback did.
        out += " pool=";
        util::append_logfmt_value(out, {r.pool, r.pool_len});
        if (r.region_len > 0) {
            out += " region=";
            util::append_logfmt_value(out, {r.region, r.region_len});
        }
        if (r.flags & QueryLogRecord::kTier) {
            out += " tier=";
            out += std::to_string(r.tier);
        }
        if (r.flags & QueryLogRecord::kFallback) out += " fallback=1";
    }
    out += " size=";
    out += std::to_string(r.size);
    out += '\n';
}

QueryLogRing::QueryLogRing(size_t capacity) : capacity_(1) {
    while (capacity_ < capacity) capacity_ <<= 1;
    slots_ = std::make_unique<QueryLogRecord[]>(capacity_);
}

void QueryLogTap::record(const lb::Client& client, uint16_t port, Transport transport,
                         std::span<const uint8_t> response, const Outcome& o,
                         WorkerStats& stats) noexcept {
    if (--countdown_ != 0) return;
    countdown_ = sample_;
    QueryLogRecord* r = ring_->claim();
    if (r == nullptr) {
        WorkerStats::bump(stats.query_log_dropped);
        return;
    }
    // clock_gettime(CLOCK_REALTIME) is answered by the vDSO: no system call.
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    r->time_ns = int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
    r->client_family = client.family;
    std::memcpy(r->client, client.address, client.family == 4 ? 4 : 16);
    r->client_port = port;
    r->transport = transport;
    summarise_response(response, static_cast<uint16_t>(o.rcode), *r);
    r->pool_len = 0;
    r->region_len = 0;
    if (o.pool != nullptr) {
        r->pool_len = static_cast<uint8_t>(std::min(o.pool->name.size(), sizeof r->pool));
        std::memcpy(r->pool, o.pool->name.data(), r->pool_len);
        if (o.fallback) r->flags |= QueryLogRecord::kFallback;
        if (o.has_tier) {
            r->flags |= QueryLogRecord::kTier;
            r->tier = o.tier;
        }
        const lb::GeoConfig* geo = o.pool->geo.get();
        if (geo != nullptr && o.region < geo->region_names.size()) {
            const std::string& name = geo->region_names[o.region];
            r->region_len = static_cast<uint8_t>(std::min(name.size(), sizeof r->region));
            std::memcpy(r->region, name.data(), r->region_len);
        }
    }
    ring_->commit();
}

QueryLog::QueryLog(std::string path, unsigned sample, unsigned workers)
    : path_(std::move(path)), sample_(sample == 0 ? 1 : sample) {
    if (path_ != "-") {
        fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd_ < 0) {
            std::string error = "--query-log ";
            error += path_;
            error += ": ";
            error += std::strerror(errno);
            throw std::runtime_error(error);
        }
    }
    for (unsigned i = 0; i < workers; ++i)
        rings_.push_back(std::make_unique<QueryLogRing>(kRingRecords));
    buffer_.reserve(256 * 1024);
}

QueryLog::~QueryLog() {
    stop();
    if (fd_ >= 0) ::close(fd_);
}

void QueryLog::start(std::vector<const WorkerStats*> stats) {
    stats_ = std::move(stats);
    thread_ = std::thread([this] { run(); });
}

void QueryLog::reopen() {
    reopen_.store(true, std::memory_order_relaxed);
}

void QueryLog::stop() {
    if (!thread_.joinable()) return;
    {
        std::lock_guard lock(m_);
        stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
}

void QueryLog::run() {
    for (;;) {
        const size_t n = collect(false);
        write_out();
        if (reopen_.exchange(false, std::memory_order_relaxed)) reopen_now();
        warn_drops(false);
        std::unique_lock lock(m_);
        if (stop_) break;
        // A ring more than a quarter full is emptied again at once: under load the writer
        // keeps up instead of sleeping while workers drop.
        if (n > 0 && n >= kRingRecords / 4) continue;
        cv_.wait_for(lock, std::chrono::milliseconds(kFlushMs), [this] { return stop_; });
    }
    // Workers have stopped: what their rings hold is all there will be.
    collect(true);
    write_out();
    warn_drops(true);
}

size_t QueryLog::collect(bool final) {
    // Each ring is in time order, but the workers' rings interleave: merged by time before
    // formatting, so the file reads in time order. A worker reads the clock a moment before it
    // publishes its record, and a worker preempted in that moment publishes a record older
    // than what another worker has already published. So the newest kHoldMs of records wait
    // for the next pass, where they are sorted with whatever arrived late.
    size_t most = 0;
    for (auto& ring : rings_) {
        const size_t n = ring->consume([this](const QueryLogRecord& r) { pending_.push_back(r); });
        most = std::max(most, n);
    }
    std::stable_sort(
        pending_.begin(), pending_.end(),
        [](const QueryLogRecord& a, const QueryLogRecord& b) { return a.time_ns < b.time_ns; });
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    const int64_t cutoff =
        int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec - int64_t{kHoldMs} * 1000000;
    size_t written = 0;
    for (const QueryLogRecord& r : pending_) {
        if (!final && r.time_ns > cutoff) break;
        format_query_line(r, buffer_);
        ++written;
        if (buffer_.size() >= 128 * 1024) write_out();
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(written));
    return most;
}

void QueryLog::write_out() {
    if (buffer_.empty()) return;
    if (fd_ < 0) {
        util::log_write_lines(buffer_);
        buffer_.clear();
        return;
    }
    size_t done = 0;
    while (done < buffer_.size()) {
        const ssize_t w = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            // A full disk or a revoked file: these lines are lost, say so once a minute.
            const int64_t now = now_ms();
            if (last_write_warning_ms_ == 0 || now - last_write_warning_ms_ >= 60000) {
                last_write_warning_ms_ = now;
                util::log_warn("query log write failed, lines lost",
                               {{"file", path_}, {"error", std::strerror(errno)}});
            }
            break;
        }
        done += static_cast<size_t>(w);
    }
    buffer_.clear();
}

void QueryLog::reopen_now() {
    if (fd_ < 0) return;  // stderr
    const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        util::log_warn("cannot reopen the query log, still writing the old file",
                       {{"file", path_}, {"error", std::strerror(errno)}});
        return;
    }
    ::close(fd_);
    fd_ = fd;
    util::log_info("query log reopened", {{"file", path_}});
}

void QueryLog::warn_drops(bool final) {
    uint64_t total = 0;
    for (const WorkerStats* s : stats_)
        total += s->query_log_dropped.load(std::memory_order_relaxed);
    if (total == drops_reported_) return;
    // At most one line every 10 s: a sustained overload must not flood the log it overloads.
    const int64_t now = now_ms();
    if (!final && last_drop_warning_ms_ != 0 && now - last_drop_warning_ms_ < 10000) return;
    last_drop_warning_ms_ = now;
    util::log_warn("query log full, records dropped",
                   {{"dropped", std::to_string(total - drops_reported_)},
                    {"dropped_total", std::to_string(total)}});
    drops_reported_ = total;
}

}  // namespace steerdns::server
