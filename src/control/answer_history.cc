#include "steerdns/control/answer_history.h"

#include <algorithm>
#include <limits>
#include <unordered_map>

#include "steerdns/zone/drain_set.h"

namespace steerdns::control {

void AnswerHistory::sample(const Snapshot& current, const ResponseTotals& totals,
                           uint64_t revision) {
    const uint64_t n = samples_;
    const size_t slot = n % kAnswerSamples;
    std::map<std::pair<std::string, std::string>, Pool> next;
    for (const zone::ZonePtr& z : current.zones()) {
        const std::string apex = z->apex_text();
        const auto* aligned = totals.aligned(*z);  // by position: no string per member
        for (size_t pi = 0; pi < z->pools.size(); ++pi) {
            const lb::Pool& lp = z->pools[pi];
            std::pair<std::string, std::string> key{apex, lp.name};
            Pool old;
            if (const auto it = pools_.find(key); it != pools_.end()) old = std::move(it->second);
            Pool p;
            p.addresses.reserve(lp.members.size());
            for (const lb::Member& m : lp.members) {
                std::string a = zone::canonical_address(m.address_text);
                p.addresses.push_back(a.empty() ? m.address_text : std::move(a));
            }
            // Same members in the same order (no reload, or one that left the pool alone):
            // keep the rings where they are.
            const bool same = old.addresses == p.addresses;
            const std::vector<int32_t> from =
                same ? std::vector<int32_t>{} : align(old, p.addresses);
            if (same) {
                p.totals = std::move(old.totals);
                p.rings = std::move(old.rings);
            } else {
                p.totals.assign(p.addresses.size(), 0);
                p.rings.assign(p.addresses.size(), Ring{});
            }
            for (size_t i = 0; i < p.addresses.size(); ++i) {
                const uint64_t total =
                    aligned ? (*aligned)[pi][Snapshot::kPoolMembers + i] : totals.member(*z, pi, i);
                uint64_t delta = 0;
                if (same || from[i] >= 0) {
                    if (!same) {
                        p.totals[i] = old.totals[static_cast<size_t>(from[i])];
                        p.rings[i] = old.rings[static_cast<size_t>(from[i])];
                    }
                    delta = total >= p.totals[i] ? total - p.totals[i] : 0;
                } else if (n == 0) {
                    delta = total;  // the first sample covers everything since the start
                }
                p.totals[i] = total;
                p.rings[i].put(slot, static_cast<uint32_t>(std::min<uint64_t>(
                                         delta, std::numeric_limits<uint32_t>::max())));
            }
            next.emplace(std::move(key), std::move(p));
        }
    }
    pools_ = std::move(next);
    revisions_[slot] = revision;
    samples_ = n + 1;
}

namespace {

constexpr uint64_t kMaxSample = std::numeric_limits<uint16_t>::max();

}  // namespace

void AnswerHistory::Ring::put(size_t slot, uint32_t count) {
    constexpr uint64_t kMax = kMaxSample;
    if (shift_ == 0 && count < kMax) {
        samples_[slot] = static_cast<uint16_t>(count);  // nearly always: exact
        return;
    }
    samples_[slot] = 0;  // replaced: it no longer needs the range
    uint64_t largest = count;
    for (const uint16_t s : samples_) largest = std::max(largest, uint64_t{s} << shift_);
    // The smallest shift that fits every sample kept, so that it shrinks back once the large
    // samples have left the ring.
    unsigned shift = 0;
    while (shift < 16 && (largest >> shift) >= kMax) ++shift;
    // Rounded to the nearest, and never to 0: a member that answered shows on the sparkline.
    const auto scaled = [shift](uint64_t answers) {
        if (answers == 0) return uint16_t{0};
        const uint64_t r = shift == 0 ? answers : (answers + (uint64_t{1} << (shift - 1))) >> shift;
        return static_cast<uint16_t>(std::clamp<uint64_t>(r, 1, kMaxSample));
    };
    if (shift != shift_) {
        for (uint16_t& s : samples_) s = scaled(uint64_t{s} << shift_);
        shift_ = static_cast<uint8_t>(shift);
    }
    samples_[slot] = scaled(count);
}

const AnswerHistory::Pool* AnswerHistory::pool(const std::string& zone,
                                               const std::string& pool) const {
    const auto it = pools_.find({zone, pool});
    return it == pools_.end() ? nullptr : &it->second;
}

uint64_t AnswerHistory::last_minute(const Pool& p, size_t i) const {
    uint64_t sum = 0;
    for (uint64_t n = samples_; n > first_kept() && n + kAnswerSamplesPerMinute > samples_; --n)
        sum += count(p, i, n - 1);
    return sum;
}

std::vector<int32_t> AnswerHistory::align(const Pool& p,
                                          const std::vector<std::string>& addresses) {
    std::vector<int32_t> out(addresses.size(), -1);
    if (p.addresses == addresses) {
        for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<int32_t>(i);
        return out;
    }
    std::unordered_map<std::string_view, int32_t> at;
    at.reserve(p.addresses.size());
    for (size_t i = 0; i < p.addresses.size(); ++i)
        at.emplace(p.addresses[i], static_cast<int32_t>(i));
    for (size_t i = 0; i < addresses.size(); ++i)
        if (const auto it = at.find(addresses[i]); it != at.end()) out[i] = it->second;
    return out;
}

}  // namespace steerdns::control
