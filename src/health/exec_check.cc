// exec: keepalived's MISC_CHECK. Exit 0 = up. The program gets its own session (and so
// process group), which the timeout kills whole, children included.
#include <signal.h>

#include <string>
#include <utility>
#include <vector>

#include "steerdns/health/attempt.h"
#include "steerdns/util/uv.h"

namespace steerdns::health {

namespace {

std::string substitute(std::string arg, const ProbeTarget& t) {
    const std::string port = t.check.port ? std::to_string(t.check.port) : "";
    for (const auto& [from, to] :
         {std::pair<std::string, std::string>{"{address}", t.address_text}, {"{port}", port}}) {
        for (size_t at = arg.find(from); at != std::string::npos;
             at = arg.find(from, at + to.size())) {
            arg.replace(at, from.size(), to);
        }
    }
    return arg;
}

class ExecAttempt final : public Attempt {
  public:
    using Attempt::Attempt;

    void start() override {
        std::vector<std::string> args;
        for (const std::string& a : check().command) args.push_back(substitute(a, target()));
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        // The timer before the spawn: once the program runs, only on_exit may report.
        timer_ = util::make_uv<uv_timer_t>();
        if (const int rc = uv_timer_init(loop(), timer_.get()); rc < 0) {
            return finish(false, "exec: cannot run " + args[0] + ": " + uv_strerror(rc));
        }
        timer_->data = this;
        uv_stdio_container_t stdio[3];
        for (auto& s : stdio) s.flags = UV_IGNORE;  // /dev/null: a check talks by exit code
        uv_process_options_t o{};
        o.file = argv[0];
        o.args = argv.data();
        o.exit_cb = on_exit;
        o.flags = UV_PROCESS_DETACHED;
        o.stdio_count = 3;
        o.stdio = stdio;
        proc_ = util::make_uv<uv_process_t>();
        proc_->data = this;
        const int rc = uv_spawn(loop(), proc_.get(), &o);
        if (rc < 0) {
            return finish(false, "exec: cannot run " + args[0] + ": " + uv_strerror(rc));
        }
        // The loop's clock dates from the start of this turn, before the connect (or the
        // fork) above: a timer set from it would cut the attempt's timeout short.
        uv_update_time(loop());
        uv_timer_start(timer_.get(), on_timeout, check().timeout_ms, 0);
    }

    void cancel() override { kill_group(); }

  private:
    void kill_group() {
        // Not reaped yet (on_exit has not run), so the pid, and the group it leads, are ours.
        if (proc_ && proc_->pid > 0) uv_kill(-proc_->pid, SIGKILL);
    }

    static void on_exit(uv_process_t* p, int64_t status, int term_signal) {
        auto* self = static_cast<ExecAttempt*>(p->data);
        if (self->timed_out_) {
            return self->finish(false, "exec: " + self->timeout_text() + " (killed)");
        }
        if (term_signal != 0) {
            return self->finish(false, "exec: killed by signal " + std::to_string(term_signal));
        }
        if (status != 0) return self->finish(false, "exec: exit " + std::to_string(status));
        self->finish(true, "exec: exit 0");
    }

    static void on_timeout(uv_timer_t* t) {
        auto* self = static_cast<ExecAttempt*>(t->data);
        self->timed_out_ = true;
        self->kill_group();  // on_exit follows and reports the timeout
    }

    util::UvPtr<uv_process_t> proc_;
    util::UvPtr<uv_timer_t> timer_;
    bool timed_out_ = false;
};

}  // namespace

std::unique_ptr<Attempt> make_exec_attempt(uv_loop_t* loop,
                                           std::shared_ptr<const ProbeTarget> target,
                                           Attempt::Done done) {
    return std::make_unique<ExecAttempt>(loop, std::move(target), std::move(done));
}

}  // namespace steerdns::health
