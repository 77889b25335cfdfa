#include "steerdns/control/notify.h"

#include <signal.h>

#include <utility>

#include "steerdns/util/log.h"

namespace steerdns::control {

std::vector<std::string> notify_argv(const std::vector<std::string>& argv, const Event& e) {
    const std::pair<std::string_view, const std::string*> values[] = {
        {"{zone}", &e.zone},   {"{pool}", &e.pool},     {"{address}", &e.address},
        {"{state}", &e.state}, {"{reason}", &e.reason},
    };
    std::vector<std::string> out;
    out.reserve(argv.size());
    for (const std::string& a : argv) {
        // One pass left to right: a value that contains "{zone}" is not substituted again.
        std::string arg;
        for (size_t i = 0; i < a.size();) {
            bool replaced = false;
            if (a[i] == '{') {
                for (const auto& [name, value] : values) {
                    if (a.compare(i, name.size(), name) == 0) {
                        arg += *value;
                        i += name.size();
                        replaced = true;
                        break;
                    }
                }
            }
            if (!replaced) arg += a[i++];
        }
        out.push_back(std::move(arg));
    }
    return out;
}

void NotifyQueue::submit(std::vector<std::string> argv, Event e) {
    Job job{std::move(argv), std::move(e)};
    if (running_ < limits_.max_running) return start(std::move(job));
    if (queue_.size() < limits_.max_queued) {
        queue_.push_back(std::move(job));
        return;
    }
    ++dropped_;
    util::log_warn("notify program not run: too many waiting",
                   {{"zone", job.event.zone},
                    {"pool", job.event.pool},
                    {"address", job.event.address},
                    {"state", job.event.state},
                    {"running", std::to_string(running_)},
                    {"waiting", std::to_string(queue_.size())},
                    {"dropped_total", std::to_string(dropped_)}});
}

void NotifyQueue::start(Job job) {
    // Failures to start end here and go on with the next job: a loop, not recursion.
    for (;;) {
        std::string error;
        auto shared_job = std::make_shared<Job>(std::move(job));
        const bool started = launcher_.launch(
            shared_job->argv,
            [self = self_, shared_job](const NotifyExit& exit) {
                if (*self) (*self)->finished(*shared_job, exit);
            },
            error);
        if (started) {
            ++running_;
            return;
        }
        ++failed_;
        util::log_error("notify program cannot run", {{"program", shared_job->argv.at(0)},
                                                      {"zone", shared_job->event.zone},
                                                      {"pool", shared_job->event.pool},
                                                      {"address", shared_job->event.address},
                                                      {"state", shared_job->event.state},
                                                      {"error", error}});
        if (queue_.empty() || running_ >= limits_.max_running) return;
        job = std::move(queue_.front());
        queue_.pop_front();
    }
}

void NotifyQueue::finished(const Job& job, const NotifyExit& exit) {
    --running_;
    if (exit.timed_out || exit.signal != 0 || exit.status != 0) {
        ++failed_;
        std::string outcome =
            exit.timed_out
                ? "killed after " + std::to_string(limits_.timeout_ms / 1000) + " s (SIGKILL)"
            : exit.signal != 0 ? "killed by signal " + std::to_string(exit.signal)
                               : "exit " + std::to_string(exit.status);
        util::log_warn("notify program failed", {{"program", job.argv.at(0)},
                                                 {"zone", job.event.zone},
                                                 {"pool", job.event.pool},
                                                 {"address", job.event.address},
                                                 {"state", job.event.state},
                                                 {"outcome", outcome}});
    }
    if (queue_.empty()) return;
    Job next = std::move(queue_.front());
    queue_.pop_front();
    start(std::move(next));
}

bool UvNotifyLauncher::launch(const std::vector<std::string>& argv,
                              std::function<void(const NotifyExit&)> done, std::string& error) {
    if (argv.empty()) {
        error = "no program";
        return false;
    }
    std::vector<std::string> args = argv;
    std::vector<char*> cargv;
    for (std::string& a : args) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    Run& run = runs_.emplace_back();
    run.owner = this;
    run.self = std::prev(runs_.end());
    run.done = std::move(done);
    run.timer = util::make_uv<uv_timer_t>();
    if (const int rc = uv_timer_init(loop_, run.timer.get()); rc < 0) {
        error = uv_strerror(rc);
        runs_.pop_back();
        return false;
    }
    run.timer->data = &run;
    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_IGNORE;
    stdio[2].flags = UV_INHERIT_FD;  // what it says on stderr lands in the daemon's log
    stdio[2].data.fd = 2;
    uv_process_options_t o{};
    o.file = cargv[0];
    o.args = cargv.data();
    o.flags = UV_PROCESS_DETACHED;
    o.stdio_count = 3;
    o.stdio = stdio;
    o.exit_cb = [](uv_process_t* p, int64_t status, int term_signal) {
        auto* r = static_cast<Run*>(p->data);
        NotifyExit exit{status, term_signal, r->timed_out};
        auto finish = std::move(r->done);
        r->owner->runs_.erase(r->self);  // closes both handles
        finish(exit);
    };
    run.proc = util::make_uv<uv_process_t>();
    run.proc->data = &run;
    if (const int rc = uv_spawn(loop_, run.proc.get(), &o); rc < 0) {
        error = uv_strerror(rc);
        runs_.pop_back();
        return false;
    }
    uv_timer_start(
        run.timer.get(),
        [](uv_timer_t* t) {
            auto* r = static_cast<Run*>(t->data);
            r->timed_out = true;
            // Not reaped yet (exit_cb has not run): the pid, and the group it leads, are ours.
            if (r->proc && r->proc->pid > 0) uv_kill(-r->proc->pid, SIGKILL);
        },
        timeout_ms_, 0);
    return true;
}

}  // namespace steerdns::control
