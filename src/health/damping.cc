#include "steerdns/health/damping.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace steerdns::health {

namespace {
constexpr double kCalm = 0.125;
}  // namespace

std::string span_text(int64_t ms) {
    if (ms < 0) ms = 0;
    if (ms < 9950) {  // tenths below 10 s: "1.2s", "7s"
        char buf[32];
        std::snprintf(buf, sizeof buf, "%gs", static_cast<double>((ms + 50) / 100) / 10.0);
        return buf;
    }
    int64_t s = (ms + 500) / 1000;
    std::string out;
    if (s >= 3600) {
        out += std::to_string(s / 3600) + "h";
        s %= 3600;
    }
    if (s >= 60) {
        out += std::to_string(s / 60) + "m";
        s %= 60;
    }
    if (s > 0 || out.empty()) out += std::to_string(s) + "s";
    return out;
}

Damper::Damper(DampingDef def) : def_(def) {
    def_.half_life_ms = std::max<uint32_t>(1, def_.half_life_ms);
}

double Damper::penalty(int64_t now_ms) const {
    const double dt = static_cast<double>(std::max<int64_t>(0, now_ms - last_ms_));
    return penalty_ * std::exp2(-dt / def_.half_life_ms);
}

bool Damper::change(int64_t now_ms) {
    const double before = penalty(now_ms);
    // A change after the penalty all but decayed (below what a lone change leaves after
    // three half-lives) starts a new count: the reason tells the changes that built up this
    // penalty, not every change since start.
    if (before < kCalm) {
        changes_ = 0;
        episode_ms_ = now_ms;
    }
    ++changes_;
    // RFC 2439's ceiling: never more than decays to reuse within max_suppress, so a member
    // that flapped for an hour is not held down for hours after it settles.
    const double ceiling =
        def_.reuse * std::exp2(static_cast<double>(def_.max_suppress_ms) / def_.half_life_ms);
    penalty_ = std::min(before + 1, std::max(ceiling, def_.suppress + 1));
    last_ms_ = now_ms;
    if (!suppressed_ && penalty_ > def_.suppress) {
        suppressed_ = true;
        suppressed_ms_ = now_ms;
        reason_ = "flapping: " + std::to_string(changes_) + " changes in " +
                  span_text(now_ms - episode_ms_);
        return true;
    }
    return false;
}

bool Damper::release(int64_t now_ms, State filtered) {
    if (!suppressed_) return false;
    if (now_ms - suppressed_ms_ >= static_cast<int64_t>(def_.max_suppress_ms)) {
        released_by_ = "max_suppress";
    } else if (filtered != State::down && penalty(now_ms) < def_.reuse) {
        released_by_ = "penalty below reuse";
    } else {
        return false;
    }
    suppressed_ = false;
    reason_.clear();
    return true;
}

int64_t Damper::until_ms() const {
    const int64_t cap = suppressed_ms_ + def_.max_suppress_ms;
    if (penalty_ <= def_.reuse) return std::min(cap, last_ms_);
    const double wait = def_.half_life_ms * std::log2(penalty_ / def_.reuse);
    return std::min(cap, last_ms_ + static_cast<int64_t>(std::ceil(wait)));
}

}  // namespace steerdns::health
