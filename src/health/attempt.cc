#include "steerdns/health/attempt.h"

namespace steerdns::health {

Attempt::Attempt(uv_loop_t* loop, std::shared_ptr<const ProbeTarget> target, Done done)
    : loop_(loop), target_(std::move(target)), done_(std::move(done)), started_(uv_hrtime()) {}

void Attempt::finish(bool ok, const std::string& reason) {
    AttemptResult result{ok, reason, static_cast<double>(uv_hrtime() - started_) / 1e9};
    // Out of the attempt first: `done` may destroy it, and with it `done_`.
    const Done done = std::move(done_);
    done(result);
}

std::string Attempt::timeout_text() const {
    return "timeout after " + seconds_text(check().timeout_ms) + "s";
}

}  // namespace steerdns::health
