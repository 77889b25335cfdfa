// The zone's "notify" program (keepalived's `notify`), run on the control loop for every
// event: its arguments with the placeholders substituted, at most 8 at once (more wait in a
// bounded queue, beyond which they are dropped and logged), killed after 10 s. A failure is
// logged once, never retried: a notify program must not hold up or flood anything.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include "steerdns/control/events.h"
#include "steerdns/util/uv.h"

namespace steerdns::control {

// `argv` with "{zone}", "{pool}", "{address}", "{state}" and "{reason}" replaced by the
// event's values (each occurrence, each argument: no shell is involved, so a value with
// spaces or quotes stays one argument).
std::vector<std::string> notify_argv(const std::vector<std::string>& argv, const Event& e);

// How one run ended.
struct NotifyExit {
    int64_t status = 0;
    int signal = 0;
    bool timed_out = false;  // killed at the timeout (then signal is SIGKILL)
};

// Runs programs; the libuv one below, or a fake in tests.
class NotifyLauncher {
  public:
    virtual ~NotifyLauncher() = default;
    // Starts `argv`; `done` is called once, later (never from within launch), when it ends.
    // False with `error` set when it could not start (then `done` is never called).
    virtual bool launch(const std::vector<std::string>& argv,
                        std::function<void(const NotifyExit&)> done, std::string& error) = 0;
};

struct NotifyLimits {
    size_t max_running = 8;
    size_t max_queued = 1000;  // waiting for a place; more are dropped
    uint32_t timeout_ms = 10000;
};

// The cap and the queue; logs what fails. Control thread only.
class NotifyQueue {
  public:
    NotifyQueue(NotifyLauncher& launcher, NotifyLimits limits = {})
        : launcher_(launcher), limits_(limits) {}
    ~NotifyQueue() { *self_ = nullptr; }
    NotifyQueue(const NotifyQueue&) = delete;
    NotifyQueue& operator=(const NotifyQueue&) = delete;

    // Runs `argv` (already substituted) for `e` now, or later when a place frees.
    void submit(std::vector<std::string> argv, Event e);

    size_t running() const { return running_; }
    size_t queued() const { return queue_.size(); }
    uint64_t dropped() const { return dropped_; }
    uint64_t failed() const { return failed_; }

  private:
    struct Job {
        std::vector<std::string> argv;
        Event event;
    };
    void start(Job job);
    void finished(const Job& job, const NotifyExit& exit);

    NotifyLauncher& launcher_;
    NotifyLimits limits_;
    size_t running_ = 0;
    std::deque<Job> queue_;
    uint64_t dropped_ = 0;
    uint64_t failed_ = 0;
    // Shared with the done callbacks: a run that ends after the queue is gone is ignored.
    std::shared_ptr<NotifyQueue*> self_ = std::make_shared<NotifyQueue*>(this);
};

// uv_spawn on `loop`: stdin and stdout on /dev/null, stderr the daemon's (its log), a session
// of its own so that the timeout's SIGKILL reaches the children of a shell script too.
// Destroying the launcher stops watching running programs; it does not kill them.
class UvNotifyLauncher final : public NotifyLauncher {
  public:
    UvNotifyLauncher(uv_loop_t* loop, uint32_t timeout_ms) : loop_(loop), timeout_ms_(timeout_ms) {}
    bool launch(const std::vector<std::string>& argv, std::function<void(const NotifyExit&)> done,
                std::string& error) override;

  private:
    struct Run {
        UvNotifyLauncher* owner = nullptr;
        std::list<Run>::iterator self;
        util::UvPtr<uv_process_t> proc;
        util::UvPtr<uv_timer_t> timer;
        std::function<void(const NotifyExit&)> done;
        bool timed_out = false;
    };
    uv_loop_t* loop_;
    uint32_t timeout_ms_;
    std::list<Run> runs_;
};

}  // namespace steerdns::control
