#include "steerdns/health/monitor.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "steerdns/health/attempt.h"
#include "steerdns/health/composite.h"
#include "steerdns/health/damping.h"
#include "steerdns/health/failback.h"
#include "steerdns/health/flap_filter.h"
#include "steerdns/health/phase.h"
#include "steerdns/util/clock.h"
#include "steerdns/util/cpu_affinity.h"
#include "steerdns/util/log.h"
#include "steerdns/util/uv.h"

namespace steerdns::health {

using util::Loop;

// One probe: a slot of the registry, its schedule and its flap filter.
struct Probe {
    Probe(Monitor::Impl* m, ProbeSpec s)
        : mon(m), spec(std::move(s)), filter(spec.target->check.rise, spec.target->check.fall) {
        if (spec.target->check.damping) damper.emplace(*spec.target->check.damping);
        if (spec.target->check.failback) hold.emplace(*spec.target->check.failback);
    }
    // The filter's state, held down while damping suppresses it.
    State damped() const { return damper ? damper->effective(filter.state()) : filter.state(); }
    // What answers see: that, in standby while failback holds it.
    State state() const { return hold ? hold->effective(damped()) : damped(); }
    Monitor::Impl* mon;
    ProbeSpec spec;
    FlapFilter filter;
    std::optional<Damper> damper;
    std::optional<FailbackHold> hold;
    util::UvPtr<uv_timer_t> hold_timer;  // a failback delay's end
    bool pending = false;                // added by a reload, no result yet
    util::UvPtr<uv_timer_t> timer;
    uint64_t phase_ms = 0;  // where in its interval it runs (health/phase.h)
    uint64_t launched = 0;  // sequence number of the last attempt started
    uint64_t applied = 0;   // of the last result applied: a late, older result is dropped
};

struct Monitor::Impl {
    Impl(ProbeRegistry& r, MonitorLimits l);
    ~Impl();

    void on_wake();
    void apply(std::vector<ProbeSpec> specs);
    void shutdown_loop();
    void launch(Probe& p);
    // Arms the probe's timer for its next deadline (its phase in the next interval).
    void schedule(Probe& p);
    void run(Probe& p);
    void launch_waiting();
    void note_cap_reached();
    void on_result(uint32_t slot, const std::string& key, uint64_t seq, const AttemptResult& r);
    // Logs the change and queues it for take_changes().
    void note_change(const Probe& p, State before, const std::string& reason);
    void log_damping(const Probe& p, bool suppressed, int64_t until_unix_ms);
    // Composite checks: derived slots, no probe of their own.
    void apply_composites(std::vector<ProbeSpec> specs, std::vector<uint32_t>& dropped);
    // After a part's state changed (or a composite appeared): recompute what uses it.
    void recompute_users(uint32_t part);
    // Start: where the "health at start" line counts the composites' members.
    void count_start(const std::vector<uint32_t>& added);
    void recompute(uint32_t slot, bool quiet);
    void note_composite(const ProbeSpec& c, State before, State after, const std::string& reason);
    // Failback: a hold that began (a delay's timer starts), and one that ended.
    void start_hold(Probe& p, int64_t now_unix_ms);
    void end_hold(Probe& p, const std::string& reason);
    void queue_change(SlotChange c);

    ProbeRegistry& registry;
    HealthTable& table;
    // Declared first so it is destroyed last: its destructor runs the close callbacks of
    // every handle below.
    Loop loop;
    util::UvPtr<uv_async_t> wake;
    // Before `attempts`, which use them: the http(s) attempts' curl multi handles (with plain
    // http's kept connections, which have no such walk but are sharded along). Several,
    // each probe always on the same one (by its phase), because libcurl 7.88 walks a multi
    // handle's whole connection cache at each transfer's end: with thousands of kept
    // connections in one cache that walk was half the prober's CPU.
    static constexpr size_t kCurlShards = 64;
    std::vector<std::unique_ptr<CurlMultiLoop>> curls;
    // Made on first use: each costs tens of KiB, and most zones have no http check.
    CurlMultiLoop& curl_of(const Probe& p) {
        const size_t i = p.phase_ms % curls.size();
        if (!curls[i]) {
            curls[i] = std::make_unique<CurlMultiLoop>(loop.get());
            curls[i]->keep_connections(kept_https[i], kept_http[i]);
        }
        return *curls[i];
    }
    // Per shard: its keepalive probes' paths, https (libcurl's cache) and http (own client).
    std::vector<size_t> kept_https;
    std::vector<size_t> kept_http;
    // Before `attempts` too: the tcp attempts' io_uring, when --probe-io gave one.
    std::unique_ptr<UringLoop> uring;
    std::unordered_map<uint32_t, std::unique_ptr<Probe>> probes;
    // Composite checks by derived slot, and which of them each part slot feeds.
    std::unordered_map<uint32_t, ProbeSpec> composites;
    std::unordered_map<uint32_t, std::vector<uint32_t>> composites_of;
    // Every attempt in flight. Each removes itself when it reports (its Done erases it).
    std::list<std::unique_ptr<Attempt>> attempts;
    // The caps, and the probes waiting for a place, by slot, oldest first (exec checks in a
    // queue of their own, so a full exec cap does not hold back tcp and http probes).
    MonitorLimits limits;
    unsigned running_exec = 0;
    struct Waiting {
        uint64_t seq;  // order of arrival across both queues
        uint32_t slot;
    };
    std::deque<Waiting> waiting;
    std::deque<Waiting> waiting_exec;
    uint64_t waiting_seq = 0;
    std::unordered_set<uint32_t> queued;
    bool launching_waiting = false;
    uint64_t last_cap_log_ms = 0;
    bool cap_logged = false;
    std::atomic<uint64_t> delayed{0};
    std::thread thread;
    bool stopping = false;  // loop thread only

    std::mutex m;  // guards the two below, the handoff from the control thread
    std::optional<std::vector<ProbeSpec>> pending;
    std::vector<uint32_t> releases;  // POST /failback, by slot
    bool stop_requested = false;

    // What the control thread reads: written here on each result, copied out under the lock.
    mutable std::mutex status_m;
    std::unordered_map<uint32_t, ProbeStatus> status;
    ProbeResultCounts results;

    // State changes for the control thread (events), and how it is told of them.
    std::mutex changes_m;
    std::deque<SlotChange> changes;
    uint64_t changes_dropped = 0;
    std::function<void()> on_change;

    // For the state file, under status_m: each probe's key and rise/fall position.
    struct Kept {
        std::string key;
        std::string address;
        State state = State::unknown;  // the filter's (damping is not kept)
        uint32_t count = 0;
        bool held = false;  // by failback
    };
    std::unordered_map<uint32_t, Kept> kept;
    std::atomic<uint64_t> state_changes{0};
    std::atomic<uint64_t> result_count{0};

    // Start: the state file's entries by key, for the first probe set only (loop thread).
    std::unordered_map<std::string, SavedProbe> restored;
    bool probe_unsaved_now = false;
    bool first_applied = false;
    // The first round, shared with wait_start() on the control thread.
    std::mutex start_m;
    std::condition_variable start_cv;
    bool start_applied = false;
    std::chrono::steady_clock::time_point applied_at;
    std::unordered_map<uint32_t, uint32_t> awaiting;  // slot -> members: no first result yet
    uint32_t longest_timeout_ms = 0;                  // of the awaited checks
    // Composite members whose parts are awaited: counted once no part of theirs is.
    std::unordered_map<uint32_t, uint32_t> awaiting_composites;
    StartRound round;
    std::atomic<bool> start_over{false};
};

Monitor::Impl::Impl(ProbeRegistry& r, MonitorLimits l) : registry(r), table(r.states()), limits(l) {
    limits.max_in_flight = std::max(1u, limits.max_in_flight);
    limits.max_exec = std::max(1u, limits.max_exec);
    wake = util::make_uv<uv_async_t>();
    util::uv_check(uv_async_init(loop.get(), wake.get(),
                                 [](uv_async_t* a) { static_cast<Impl*>(a->data)->on_wake(); }),
                   "uv_async_init");
    wake->data = this;
    curls.resize(kCurlShards);
    kept_https.resize(kCurlShards);
    kept_http.resize(kCurlShards);
    if (limits.probe_io == ProbeIo::libuv) return;
    try {
        uring = std::make_unique<UringLoop>(loop.get(), limits.max_in_flight);
    } catch (const std::exception& e) {
        if (limits.probe_io == ProbeIo::uring) throw;  // asked for: a start failure
        util::log_warn("io_uring unavailable: tcp probes use libuv", {{"error", e.what()}});
    }
}

Monitor::Impl::~Impl() {
    if (!stopping) shutdown_loop();  // never started: release everything here
}

void Monitor::Impl::on_wake() {
    std::optional<std::vector<ProbeSpec>> specs;
    std::vector<uint32_t> released;
    bool stop;
    {
        std::lock_guard lock(m);
        specs = std::exchange(pending, std::nullopt);
        released.swap(releases);
        stop = stop_requested;
    }
    if (stop) return shutdown_loop();
    if (specs) apply(std::move(*specs));
    for (const uint32_t slot : released) {
        const auto it = probes.find(slot);
        if (it != probes.end() && it->second->hold && it->second->hold->release())
            end_hold(*it->second, "failback released by the control API");
    }
}

void Monitor::Impl::apply(std::vector<ProbeSpec> specs) {
    // Derived slots are handled once the probes they read are in place.
    std::vector<ProbeSpec> derived;
    for (auto it = specs.begin(); it != specs.end();) {
        if (it->parts.empty()) {
            ++it;
            continue;
        }
        derived.push_back(std::move(*it));
        it = specs.erase(it);
    }
    // The start line counts a composite's members at its derived slot, not at each part.
    std::unordered_map<uint32_t, uint32_t> part_uses;
    for (const ProbeSpec& d : derived)
        for (const uint32_t part : d.parts) part_uses[part] += d.users;
    std::unordered_map<uint32_t, ProbeSpec*> wanted;
    for (ProbeSpec& s : specs) wanted.emplace(s.slot, &s);
    std::vector<uint32_t> dropped;
    for (auto it = probes.begin(); it != probes.end();) {
        const auto w = wanted.find(it->first);
        if (w != wanted.end() && w->second->key == it->second->spec.key) {
            // Same key: keeps its state, filter and schedule; only who uses it may change.
            it->second->spec.label = std::move(w->second->label);
            it->second->spec.users = w->second->users;
            wanted.erase(w);
            ++it;
            continue;
        }
        if (w == wanted.end()) dropped.push_back(it->first);
        table.set(it->first, State::unknown);
        {
            std::lock_guard lock(status_m);
            status.erase(it->first);
            kept.erase(it->first);
        }
        it = probes.erase(it);  // closes its timer; an attempt in flight ends unheard
    }
    const bool starting = !first_applied;
    std::vector<uint32_t> first_round;
    for (auto& [slot, spec] : wanted) {
        auto p = std::make_unique<Probe>(this, std::move(*spec));
        p->timer = util::make_uv<uv_timer_t>();
        if (const int rc = uv_timer_init(loop.get(), p->timer.get()); rc < 0) {
            // Not kept: the next update offers it again. Until then it counts as up.
            util::log_error("cannot schedule probe", {{"check", p->spec.label.check},
                                                      {"address", p->spec.target->address_text},
                                                      {"error", uv_strerror(rc)}});
            continue;
        }
        p->timer->data = p.get();
        // A phase from the key: a thousand probes of one check spread over the interval
        // instead of firing together, and each keeps its place through reloads.
        p->phase_ms = probe_phase_ms(p->spec.key, p->spec.target->check.interval_ms);
        schedule(*p);
        const SavedProbe* saved = nullptr;
        bool resumed_hold = false;
        if (const auto r = restored.find(p->spec.key); starting && r != restored.end()) {
            p->filter.restore(r->second.state, r->second.count);
            if (p->filter.state() != State::unknown) saved = &r->second;
            // Held when the server stopped: an operator's pending decision is not forgotten.
            if (saved && saved->failback_held && saved->state == State::up && p->hold)
                resumed_hold = p->hold->resume(static_cast<int64_t>(uv_now(loop.get())));
        }
        {
            std::lock_guard lock(status_m);
            ProbeStatus& st = status[slot];
            st = ProbeStatus{};
            st.since_unix_ms = util::unix_ms_now();
            if (saved) {
                st.state = p->state();
                st.since_unix_ms = saved->since_unix_ms;
                st.has_result = true;
                st.last_ok = saved->last_ok;
                st.last_reason = saved->reason;
                st.last_unix_ms = saved->last_unix_ms;
                st.saved = true;
                kept[slot] = {p->spec.key, p->spec.target->address_text, p->filter.state(),
                              p->filter.streak(), resumed_hold};
            }
        }
        if (saved) table.set(slot, p->state());
        if (resumed_hold) {
            start_hold(*p, util::unix_ms_now());
            const ProbeSpec& s = p->spec;
            util::log_warn("member standby", {{"zone", s.label.zone},
                                              {"pool", s.label.pool},
                                              {"address", s.label.address},
                                              {"check", s.label.check},
                                              {"reason", "saved state"},
                                              {"failback", p->hold->reason()}});
        }
        if (table.state(slot) == State::pending) {
            // Added by a reload (the registry set it): an event, as every state change is.
            p->pending = true;
            const ProbeSpec& s = p->spec;
            util::log_info("member pending", {{"zone", s.label.zone},
                                              {"pool", s.label.pool},
                                              {"address", s.label.address},
                                              {"check", s.label.check}});
            queue_change({slot, s.key, State::pending, false,
                          "added by a reload: answered only when nothing tested is up, until "
                          "its first result",
                          util::unix_ms_now()});
        }
        if (starting) {
            const uint32_t uses = part_uses.count(slot) ? part_uses[slot] : 0;
            const uint32_t users = uses == 0 ? std::max<uint32_t>(1, p->spec.users)
                                             : p->spec.users - std::min(uses, p->spec.users);
            if (saved) {
                round.from_saved += users;
            } else if (probe_unsaved_now) {
                first_round.push_back(slot);
                std::lock_guard lock(start_m);
                awaiting.emplace(slot, users);
                longest_timeout_ms = std::max(longest_timeout_ms, p->spec.target->check.timeout_ms);
            } else {
                round.unprobed += users;
            }
        }
        probes.emplace(slot, std::move(p));
    }
    apply_composites(std::move(derived), dropped);
    registry.recycle(dropped);
    std::fill(kept_https.begin(), kept_https.end(), 0);
    std::fill(kept_http.begin(), kept_http.end(), 0);
    for (const auto& [slot, p] : probes) {
        const CheckDef& c = p->spec.target->check;
        if (!c.keepalive) continue;
        const size_t shard = p->phase_ms % curls.size();
        if (c.type == CheckType::https) kept_https[shard] += c.paths.size();
        if (c.type == CheckType::http) kept_http[shard] += c.paths.size();
    }
    // Within the descriptor budget: each shard keeps its share of it.
    size_t kept_total = 0;
    for (size_t i = 0; i < curls.size(); ++i) kept_total += kept_https[i] + kept_http[i];
    if (kept_total > limits.max_kept_connections) {
        for (size_t& n : kept_https) n = n * limits.max_kept_connections / kept_total;
        for (size_t& n : kept_http) n = n * limits.max_kept_connections / kept_total;
        util::log_warn("http keepalive limited by the open file limit",
                       {{"keepalive_targets", std::to_string(kept_total)},
                        {"kept", std::to_string(limits.max_kept_connections)}});
    }
    for (size_t i = 0; i < curls.size(); ++i)
        if (curls[i]) curls[i]->keep_connections(kept_https[i], kept_http[i]);
    if (!wanted.empty() || !dropped.empty()) {
        util::log_info("health probes", {{"probes", std::to_string(probes.size())},
                                         {"added", std::to_string(wanted.size())},
                                         {"removed", std::to_string(dropped.size())}});
    }
    if (!starting) return;
    first_applied = true;
    restored.clear();
    {
        std::lock_guard lock(start_m);
        start_applied = true;
        applied_at = std::chrono::steady_clock::now();
    }
    start_cv.notify_all();
    // Now rather than at a random point of the interval; the schedule keeps its random phase.
    for (const uint32_t slot : first_round) launch(*probes.at(slot));
}

void Monitor::Impl::schedule(Probe& p) {
    const uint64_t interval = std::max<uint32_t>(1, p.spec.target->check.interval_ms);
    // One-shot, re-armed from the deadline rather than from when the callback ran (a
    // repeating uv_timer counts from the latter): a late loop turn does not shift the phase.
    uv_timer_start(
        p.timer.get(),
        [](uv_timer_t* t) {
            auto* probe = static_cast<Probe*>(t->data);
            probe->mon->schedule(*probe);
            probe->mon->launch(*probe);
        },
        next_probe_in_ms(uv_now(loop.get()), p.phase_ms, interval), 0);
}

void Monitor::Impl::launch(Probe& p) {
    const CheckType type = p.spec.target->check.type;
    if (type == CheckType::none) return;  // compile gives "none" members no slot
    const bool exec = type == CheckType::exec;
    if (attempts.size() >= limits.max_in_flight || (exec && running_exec >= limits.max_exec) ||
        queued.count(p.spec.slot) > 0) {
        // Delayed, not dropped: it runs when a place frees. A probe already waiting keeps
        // its one place in the queue.
        if (queued.insert(p.spec.slot).second) {
            (exec ? waiting_exec : waiting).push_back({++waiting_seq, p.spec.slot});
            delayed.fetch_add(1, std::memory_order_relaxed);
            note_cap_reached();
        }
        return;
    }
    run(p);
}

void Monitor::Impl::note_cap_reached() {
    // One line when the queue starts to fill, then at most one every 10 s while it stays.
    const uint64_t now = uv_now(loop.get());
    if (cap_logged && now - last_cap_log_ms < 10000) return;
    cap_logged = true;
    last_cap_log_ms = now;
    util::log_warn("probe cap reached, probes delayed",
                   {{"in_flight", std::to_string(attempts.size())},
                    {"max_probes_in_flight", std::to_string(limits.max_in_flight)},
                    {"exec_running", std::to_string(running_exec)},
                    {"max_exec_checks", std::to_string(limits.max_exec)},
                    {"waiting", std::to_string(waiting.size() + waiting_exec.size())},
                    {"delayed_total", std::to_string(delayed.load(std::memory_order_relaxed))}});
}

void Monitor::Impl::launch_waiting() {
    // Not re-entered: a waiting probe that finishes at once (a failed spawn) returns here
    // through finish(), and this loop goes on with the next.
    if (stopping || launching_waiting) return;
    launching_waiting = true;
    while (attempts.size() < limits.max_in_flight) {
        const bool exec_ok = running_exec < limits.max_exec && !waiting_exec.empty();
        std::deque<Waiting>* from = nullptr;
        if (!waiting.empty() && (!exec_ok || waiting.front().seq < waiting_exec.front().seq)) {
            from = &waiting;
        } else if (exec_ok) {
            from = &waiting_exec;
        } else if (!waiting.empty()) {
            from = &waiting;
        }
        if (from == nullptr) break;
        const Waiting w = from->front();
        const uint32_t slot = w.slot;
        from->pop_front();
        queued.erase(slot);
        const auto it = probes.find(slot);
        if (it == probes.end()) continue;  // removed by a reload while it waited
        Probe& p = *it->second;
        if (p.spec.target->check.type == CheckType::exec && running_exec >= limits.max_exec) {
            // The slot now holds an exec check (a reload changed it): wait with those.
            waiting_exec.push_front(w);
            queued.insert(slot);
            continue;
        }
        run(p);
    }
    if (waiting.empty() && waiting_exec.empty()) cap_logged = false;
    launching_waiting = false;
}

void Monitor::Impl::run(Probe& p) {
    const CheckType type = p.spec.target->check.type;
    if (type == CheckType::none) return;
    const uint64_t seq = ++p.launched;
    const bool exec = type == CheckType::exec;
    attempts.emplace_front();
    const auto self = attempts.begin();
    // Carries what routes the result to its probe: the slot may hold another key, or a newer
    // attempt may have reported, by the time this one ends.
    Attempt::Done done = [this, self, exec, seq, slot = p.spec.slot,
                          key = p.spec.key](const AttemptResult& r) {
        on_result(slot, key, seq, r);
        if (exec) --running_exec;
        attempts.erase(self);  // destroys the attempt
        launch_waiting();      // a place is free
    };
    switch (type) {
        case CheckType::tcp:
            *self = uring ? make_tcp_uring_attempt(*uring, p.spec.target, std::move(done))
                          : make_tcp_attempt(loop.get(), p.spec.target, std::move(done));
            break;
        case CheckType::http:
        case CheckType::https:
            *self = make_http_attempt(curl_of(p), p.spec.target, std::move(done));
            break;
        case CheckType::exec:
            *self = make_exec_attempt(loop.get(), p.spec.target, std::move(done));
            ++running_exec;
            break;
        case CheckType::none:
            break;
    }
    (*self)->start();  // may finish at once: the attempt is not touched after
}

namespace {
const std::vector<uint32_t> kNone;
}  // namespace

void Monitor::Impl::on_result(uint32_t slot, const std::string& key, uint64_t seq,
                              const AttemptResult& r) {
    if (stopping) return;
    const auto it = probes.find(slot);
    if (it == probes.end() || it->second->spec.key != key) return;
    Probe& p = *it->second;
    if (seq <= p.applied) return;
    p.applied = seq;
    result_count.fetch_add(1, std::memory_order_relaxed);
    if (!start_over.load(std::memory_order_relaxed)) {
        std::lock_guard lock(start_m);
        if (const auto a = awaiting.find(slot); a != awaiting.end()) {
            round.first_probe += a->second;
            awaiting.erase(a);
            if (awaiting.empty()) start_cv.notify_all();
        }
        const auto of = composites_of.find(slot);
        for (const uint32_t c : of == composites_of.end() ? kNone : of->second) {
            const auto w = awaiting_composites.find(c);
            if (w == awaiting_composites.end()) continue;
            const std::vector<uint32_t>& parts = composites.at(c).parts;
            if (std::any_of(parts.begin(), parts.end(),
                            [this](uint32_t part) { return awaiting.count(part) > 0; }))
                continue;
            round.first_probe += w->second;
            awaiting_composites.erase(w);
        }
    }
    const bool ok = r.ok;
    const State before = p.filter.state();
    const State damped_before = p.damped();
    const bool changed = p.filter.feed(ok);
    // Damping sees each change of the filter (not its first result) and may hold it down.
    bool damping_changed = false;
    const int64_t now = util::unix_ms_now();
    int64_t until_unix_ms = 0;
    if (p.damper) {
        const int64_t mono = static_cast<int64_t>(uv_now(loop.get()));
        if (changed && before != State::unknown) damping_changed = p.damper->change(mono);
        damping_changed |= p.damper->release(mono, p.filter.state());
        if (p.damper->suppressed()) until_unix_ms = now + (p.damper->until_ms() - mono);
    }
    const bool suppressed = p.damper && p.damper->suppressed();
    bool was_saved;
    // Failback watches what damping lets through: a member back up after being down waits.
    bool hold_started = false;
    if (p.hold && p.damped() != damped_before) {
        const bool was_held = p.hold->held();
        hold_started =
            p.hold->change(damped_before, p.damped(), static_cast<int64_t>(uv_now(loop.get())));
        if (was_held && !p.hold->held() && p.hold_timer) uv_timer_stop(p.hold_timer.get());
    }
    {
        std::lock_guard lock(status_m);
        ProbeStatus& st = status[slot];
        was_saved = st.saved;
        st.has_result = true;
        st.saved = false;
        st.last_ok = ok;
        st.last_reason = r.reason;
        st.last_unix_ms = now;
        st.last_seconds = r.seconds;
        if ((changed && !suppressed) || damping_changed) {
            st.state = p.state();
            st.since_unix_ms = now;
        }
        st.suppressed = suppressed;
        st.suppressed_reason = suppressed ? p.damper->reason() : std::string();
        st.suppressed_until_unix_ms = until_unix_ms;
        if (!(p.hold && p.hold->held())) {
            st.standby = false;
            st.standby_reason.clear();
            st.standby_until_unix_ms = 0;
        }
        const auto type = static_cast<size_t>(p.spec.target->check.type);
        if (type < results.success.size()) ++(ok ? results.success : results.failure)[type];
        kept[slot] = {p.spec.key, p.spec.target->address_text, p.filter.state(), p.filter.streak(),
                      p.hold && p.hold->held()};
    }
    // A composite shows "saved" while every part does: this part no longer is.
    if (was_saved) recompute_users(slot);
    if (hold_started) start_hold(p, now);
    if (damping_changed) {
        table.set(slot, p.state());
        state_changes.fetch_add(1, std::memory_order_relaxed);
        log_damping(p, suppressed, until_unix_ms);
        if (hold_started) note_change(p, before, r.reason);
        recompute_users(slot);
        return;
    }
    // A flip while suppressed changes nothing answers see: the suppression line said it.
    if (!changed || suppressed) return;
    table.set(slot, p.state());
    state_changes.fetch_add(1, std::memory_order_relaxed);
    note_change(p, before, r.reason);
    p.pending = false;
    recompute_users(slot);
}

void Monitor::Impl::apply_composites(std::vector<ProbeSpec> specs, std::vector<uint32_t>& dropped) {
    std::unordered_map<uint32_t, ProbeSpec*> wanted;
    for (ProbeSpec& s : specs) wanted.emplace(s.slot, &s);
    for (auto it = composites.begin(); it != composites.end();) {
        const auto w = wanted.find(it->first);
        if (w != wanted.end() && w->second->key == it->second.key) {
            it->second.label = std::move(w->second->label);
            it->second.users = w->second->users;
            wanted.erase(w);
            ++it;
            continue;
        }
        if (w == wanted.end()) dropped.push_back(it->first);
        table.set(it->first, State::unknown);
        {
            std::lock_guard lock(status_m);
            status.erase(it->first);
        }
        it = composites.erase(it);
    }
    std::vector<uint32_t> added;
    for (auto& [slot, spec] : wanted) {
        added.push_back(slot);
        composites.emplace(slot, std::move(*spec));
    }
    composites_of.clear();
    for (const auto& [slot, c] : composites)
        for (const uint32_t part : c.parts) composites_of[part].push_back(slot);
    // A new one starts in what its parts say (restored or probed already), without a log
    // line: the parts' own lines said it. The others follow any part the update reset.
    for (const uint32_t slot : added) recompute(slot, true);
    if (!first_applied) count_start(added);
    for (const auto& [slot, c] : composites) recompute(slot, false);
}

void Monitor::Impl::count_start(const std::vector<uint32_t>& added) {
    std::lock_guard lock(start_m);
    for (const uint32_t slot : added) {
        const ProbeSpec& c = composites.at(slot);
        const uint32_t users = std::max<uint32_t>(1, c.users);
        bool saved = true;
        bool awaited = false;
        {
            std::lock_guard status_lock(status_m);
            for (const uint32_t part : c.parts) {
                const auto st = status.find(part);
                saved &= st != status.end() && st->second.saved;
            }
        }
        for (const uint32_t part : c.parts) awaited |= awaiting.count(part) > 0;
        if (saved) {
            round.from_saved += users;
        } else if (awaited) {
            awaiting_composites.emplace(slot, users);
        } else {
            round.unprobed += users;
        }
    }
}

void Monitor::Impl::recompute_users(uint32_t part) {
    const auto it = composites_of.find(part);
    if (it == composites_of.end()) return;
    for (const uint32_t slot : it->second) recompute(slot, false);
}

void Monitor::Impl::recompute(uint32_t slot, bool quiet) {
    const ProbeSpec& c = composites.at(slot);
    std::vector<State> states;
    states.reserve(c.parts.size());
    for (const uint32_t part : c.parts) states.push_back(table.state(part));
    const State after = derived_state(states, c.require);
    const std::string reason = composite_reason(c.part_names, states, c.require);
    const int64_t now = util::unix_ms_now();
    State before;
    {
        std::lock_guard lock(status_m);
        const bool fresh = status.find(slot) == status.end();
        ProbeStatus& st = status[slot];
        before = fresh ? table.state(slot) : st.state;
        if (fresh || st.state != after) {
            st.state = after;
            st.since_unix_ms = now;
        }
        // The composite's "result" is its parts' states; saved while every part is.
        st.has_result = after == State::up || after == State::down;
        st.last_ok = after == State::up;
        st.last_reason = reason;
        st.last_unix_ms = now;
        st.saved = true;
        for (const uint32_t part : c.parts) {
            const auto p = status.find(part);
            st.saved &= p != status.end() && p->second.saved;
        }
        if (fresh && st.saved && after != State::unknown) {
            // Restored at start: since the latest part's saved change, not since the start.
            int64_t latest = 0;
            for (const uint32_t part : c.parts)
                if (const auto p = status.find(part); p != status.end())
                    latest = std::max(latest, p->second.since_unix_ms);
            if (latest > 0) st.since_unix_ms = latest;
        }
    }
    table.set(slot, after);
    if (after == before || quiet) return;
    state_changes.fetch_add(1, std::memory_order_relaxed);
    // Up and down are the changes answers and operators care about; "no verdict yet" is not.
    if (after == State::up || after == State::down) note_composite(c, before, after, reason);
}

void Monitor::Impl::note_composite(const ProbeSpec& c, State before, State after,
                                   const std::string& reason) {
    const bool up = after == State::up;
    std::vector<util::LogField> fields{{"zone", c.label.zone},
                                       {"pool", c.label.pool},
                                       {"address", c.label.address},
                                       {"check", c.label.check},
                                       {"reason", reason}};
    if (c.users > 1) fields.push_back({"members", std::to_string(c.users)});
    util::log(up ? util::LogLevel::info : util::LogLevel::warn, up ? "member up" : "member down",
              fields);
    const bool first = before == State::unknown || before == State::pending;
    queue_change({c.slot, c.key, after, first, reason, util::unix_ms_now()});
}

void Monitor::Impl::start_hold(Probe& p, int64_t now_unix_ms) {
    {
        std::lock_guard lock(status_m);
        ProbeStatus& st = status[p.spec.slot];
        st.standby = true;
        st.standby_reason = p.hold->reason();
        if (const auto k = kept.find(p.spec.slot); k != kept.end()) k->second.held = true;
        st.standby_until_unix_ms = 0;
        if (p.hold->def().mode == FailbackMode::delay)
            st.standby_until_unix_ms = now_unix_ms + p.hold->def().delay_ms;
    }
    if (p.hold->def().mode != FailbackMode::delay) return;
    if (!p.hold_timer) {
        p.hold_timer = util::make_uv<uv_timer_t>();
        if (uv_timer_init(loop.get(), p.hold_timer.get()) < 0) {
            // Held until it goes down and up again, or an operator releases it; said once.
            util::log_error("cannot time a failback delay", {{"address", p.spec.label.address}});
            p.hold_timer.reset();
            return;
        }
        p.hold_timer->data = &p;
    }
    // No reload needed: the timer ends the hold, unless the member goes down meanwhile.
    uv_timer_start(
        p.hold_timer.get(),
        [](uv_timer_t* t) {
            auto* probe = static_cast<Probe*>(t->data);
            Impl& mon = *probe->mon;
            const int64_t mono = static_cast<int64_t>(uv_now(mon.loop.get()));
            if (probe->hold->expire(std::max(mono, probe->hold->until_ms())))
                mon.end_hold(*probe, "failback delay of " + span_text(probe->hold->def().delay_ms) +
                                         " over");
        },
        p.hold->def().delay_ms, 0);
}

void Monitor::Impl::end_hold(Probe& p, const std::string& reason) {
    const int64_t now = util::unix_ms_now();
    if (p.hold_timer) uv_timer_stop(p.hold_timer.get());
    {
        std::lock_guard lock(status_m);
        ProbeStatus& st = status[p.spec.slot];
        st.standby = false;
        st.standby_reason.clear();
        st.standby_until_unix_ms = 0;
        st.state = p.state();
        if (const auto k = kept.find(p.spec.slot); k != kept.end()) k->second.held = false;
        st.since_unix_ms = now;
    }
    table.set(p.spec.slot, p.state());
    state_changes.fetch_add(1, std::memory_order_relaxed);
    const ProbeSpec& s = p.spec;
    util::log_info("member up", {{"zone", s.label.zone},
                                 {"pool", s.label.pool},
                                 {"address", s.label.address},
                                 {"check", s.label.check},
                                 {"reason", reason}});
    queue_change({s.slot, s.key, p.state(), false, reason, now});
}

void Monitor::Impl::queue_change(SlotChange c) {
    {
        std::lock_guard lock(changes_m);
        if (changes.size() >= Monitor::kMaxQueuedChanges) {
            changes.pop_front();  // nobody reads them (no control thread): keep the newest
            ++changes_dropped;
        }
        changes.push_back(std::move(c));
    }
    if (on_change) on_change();
}

void Monitor::Impl::log_damping(const Probe& p, bool suppressed, int64_t until_unix_ms) {
    const ProbeSpec& s = p.spec;
    std::vector<util::LogField> fields{{"zone", s.label.zone},
                                       {"pool", s.label.pool},
                                       {"address", s.label.address},
                                       {"check", s.label.check}};
    if (suppressed) {
        fields.push_back({"reason", p.damper->reason()});
        fields.push_back({"until", util::rfc3339(until_unix_ms)});
        // A part of a composite check is damped alone; its member follows the composite.
        util::log(util::LogLevel::warn, s.label.part ? "check suppressed" : "member suppressed",
                  fields);
    } else {
        fields.push_back({"reason", p.damper->released_by()});
        fields.push_back({"state", p.filter.state() == State::down ? "down" : "up"});
        util::log(util::LogLevel::info, s.label.part ? "check unsuppressed" : "member unsuppressed",
                  fields);
    }
}

void Monitor::Impl::note_change(const Probe& p, State before, const std::string& reason) {
    const ProbeSpec& s = p.spec;
    const bool up = p.filter.state() == State::up;
    const bool standby = p.state() == State::standby;
    const CheckDef& c = s.target->check;
    std::string after;
    if (before == State::unknown) {
        after = "first result";
    } else {
        const uint32_t n = up ? c.rise : c.fall;
        after = std::to_string(n) +
                (up ? (n == 1 ? " success" : " successes") : (n == 1 ? " failure" : " failures"));
    }
    std::vector<util::LogField> fields{
        {"zone", s.label.zone}, {"pool", s.label.pool}, {"address", s.label.address}};
    if (s.target->address_text != s.label.address) {
        fields.push_back({"probe_address", s.target->address_text});
    }
    fields.push_back({"check", s.label.check});
    fields.push_back({"reason", reason});
    fields.push_back({"after", after});
    if (s.users > 1) fields.push_back({"members", std::to_string(s.users)});
    if (standby) fields.push_back({"failback", p.hold->reason()});
    // A probe only parts of composite checks use: its member's line comes from the composite.
    const char* message = standby        ? "member standby"
                          : s.label.part ? (up ? "check up" : "check down")
                          : up           ? "member up"
                                         : "member down";
    util::log(up ? util::LogLevel::info : util::LogLevel::warn, message, fields);
    std::string why = reason + " (" + (before == State::unknown ? "" : "after ") + after + ")";
    if (standby) why.append(": ").append(p.hold->reason());
    // A pending member's first result is a change of state too (an event), not a start's.
    queue_change({s.slot, s.key, p.state(), before == State::unknown && !p.pending, std::move(why),
                  util::unix_ms_now()});
}

void Monitor::Impl::shutdown_loop() {
    stopping = true;
    probes.clear();
    composites.clear();
    composites_of.clear();
    std::vector<Attempt*> all;
    for (auto& a : attempts) all.push_back(a.get());
    for (Attempt* a : all) a->cancel();   // may destroy a; the others stay valid
    curls.clear();                        // http attempts end in cancel(): none uses them now
    if (uring) uring->close_when_idle();  // its attempts end as their cancels complete
    {
        std::lock_guard lock(m);  // update() sends on `wake` under the same lock
        wake.reset();
    }
    // tcp and exec attempts end in their callbacks while the loop runs out.
}

Monitor::Monitor(ProbeRegistry& registry, MonitorLimits limits)
    : impl_(std::make_unique<Impl>(registry, limits)) {}

const char* Monitor::probe_io() const {
    return impl_->uring ? "uring" : "libuv";
}

uint64_t Monitor::delayed() const {
    return impl_->delayed.load(std::memory_order_relaxed);
}

Monitor::~Monitor() {
    stop();
}

void Monitor::start(std::vector<unsigned> cpus) {
    if (impl_->thread.joinable()) return;
    impl_->thread = std::thread([impl = impl_.get(), cpus = std::move(cpus)] {
        util::pin_current_thread(cpus, "prober");
        uv_run(impl->loop.get(), UV_RUN_DEFAULT);
    });
}

std::unordered_map<uint32_t, ProbeStatus> Monitor::status() const {
    std::lock_guard lock(impl_->status_m);
    return impl_->status;
}

bool Monitor::status_of(uint32_t slot, ProbeStatus& out) const {
    std::lock_guard lock(impl_->status_m);
    const auto it = impl_->status.find(slot);
    if (it == impl_->status.end()) return false;
    out = it->second;
    return true;
}

bool Monitor::release_failback(uint32_t slot) {
    {
        std::lock_guard lock(impl_->status_m);
        const auto it = impl_->status.find(slot);
        if (it == impl_->status.end() || !it->second.standby) return false;
    }
    std::lock_guard lock(impl_->m);
    impl_->releases.push_back(slot);
    if (impl_->wake && !impl_->stop_requested) uv_async_send(impl_->wake.get());
    return true;
}

std::vector<SlotChange> Monitor::take_changes(uint64_t* dropped) {
    std::lock_guard lock(impl_->changes_m);
    std::vector<SlotChange> out(std::make_move_iterator(impl_->changes.begin()),
                                std::make_move_iterator(impl_->changes.end()));
    impl_->changes.clear();
    if (dropped) *dropped = std::exchange(impl_->changes_dropped, 0);
    return out;
}

void Monitor::on_change(std::function<void()> wake) {
    impl_->on_change = std::move(wake);
}

ProbeResultCounts Monitor::results() const {
    std::lock_guard lock(impl_->status_m);
    return impl_->results;
}

void Monitor::update(std::vector<ProbeSpec> probes) {
    std::lock_guard lock(impl_->m);
    impl_->pending = std::move(probes);
    if (impl_->wake && !impl_->stop_requested) uv_async_send(impl_->wake.get());
}

void Monitor::restore(std::vector<SavedProbe> saved, bool probe_unsaved_now) {
    // Read by the loop thread only after the handoff of update() (a mutex and a wake-up).
    std::lock_guard lock(impl_->m);
    for (SavedProbe& s : saved) {
        std::string key = s.key;
        impl_->restored.insert_or_assign(std::move(key), std::move(s));
    }
    impl_->probe_unsaved_now = probe_unsaved_now;
}

StartRound Monitor::wait_start(uint32_t max_wait_ms) {
    using Clock = std::chrono::steady_clock;
    using std::chrono::milliseconds;
    // Room for the answer to reach us after the check's own timeout has fired.
    constexpr uint32_t kMarginMs = 250;
    // Applying a probe set takes milliseconds: this bounds a prober that never ran.
    constexpr uint32_t kApplyWaitMs = 2000;
    Impl& i = *impl_;
    const Clock::time_point t0 = Clock::now();
    std::unique_lock lock(i.start_m);
    i.start_cv.wait_until(lock, t0 + milliseconds(kApplyWaitMs + max_wait_ms),
                          [&i] { return i.start_applied; });
    if (i.start_applied && !i.awaiting.empty()) {
        const Clock::time_point deadline =
            std::min(t0 + milliseconds(max_wait_ms),
                     i.applied_at + milliseconds(i.longest_timeout_ms + kMarginMs));
        i.start_cv.wait_until(lock, deadline, [&i] { return i.awaiting.empty(); });
    }
    i.start_over.store(true, std::memory_order_relaxed);
    StartRound r = i.round;
    for (const auto& [slot, users] : i.awaiting) r.unprobed += users;
    for (const auto& [slot, users] : i.awaiting_composites) r.unprobed += users;
    i.awaiting_composites.clear();
    i.awaiting.clear();
    r.waited_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    return r;
}

std::vector<SavedProbe> Monitor::saved() const {
    std::vector<SavedProbe> out;
    std::lock_guard lock(impl_->status_m);
    for (const auto& [slot, st] : impl_->status) {
        const auto k = impl_->kept.find(slot);
        if (!st.has_result || k == impl_->kept.end() || k->second.state == State::unknown) continue;
        SavedProbe s;
        s.key = k->second.key;
        s.address = k->second.address;
        s.state = k->second.state;
        s.count = k->second.count;
        s.since_unix_ms = st.since_unix_ms;
        s.last_unix_ms = st.last_unix_ms;
        s.last_ok = st.last_ok;
        s.reason = st.last_reason;
        s.failback_held = k->second.held;
        out.push_back(std::move(s));
    }
    // By key: the file does not reorder itself from one write to the next.
    std::sort(out.begin(), out.end(),
              [](const SavedProbe& a, const SavedProbe& b) { return a.key < b.key; });
    return out;
}

uint64_t Monitor::state_changes() const {
    return impl_->state_changes.load(std::memory_order_relaxed);
}

uint64_t Monitor::result_count() const {
    return impl_->result_count.load(std::memory_order_relaxed);
}

void Monitor::stop() {
    if (!impl_->thread.joinable()) return;
    {
        std::lock_guard lock(impl_->m);
        impl_->stop_requested = true;
        uv_async_send(impl_->wake.get());
    }
    impl_->thread.join();
}

}  // namespace steerdns::health
