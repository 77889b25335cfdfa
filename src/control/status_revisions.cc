#include "steerdns/control/status_revisions.h"

#include <functional>

namespace steerdns::control {
namespace {

// Fields joined with a separator no field holds, then hashed: a 64-bit collision between a
// member's consecutive states is not a practical concern.
struct Print {
    std::string text;
    template <typename T>
    Print& operator<<(const T& v) {
        if constexpr (std::is_convertible_v<T, std::string_view>)
            text += v;
        else
            text += std::to_string(v);
        text += '\x1f';
        return *this;
    }
    template <typename T>
    Print& operator<<(const std::optional<T>& v) {
        return v ? (*this << *v) : (*this << "\x1e");
    }
    uint64_t hash() const { return std::hash<std::string>{}(text); }
};

uint64_t member_print(const MemberStatus& m) {
    Print p;
    p << m.state << m.since_unix_ms << m.check << m.probe_address << m.health << m.last_ok
      << m.last_reason << m.weight << m.priority << m.region << m.drained << m.drained_by
      << m.suppressed_reason << m.suppressed_until_unix_ms << m.require;
    for (const MemberStatus::CheckPartStatus& c : m.checks) p << c.name << c.state << c.reason;
    return p.hash();
}

uint64_t pool_print(const PoolStatus& ps) {
    Print p;
    p << ps.policy << ps.ttl << ps.ttl_degraded << ps.fallback << ps.fallback_pool << ps.state
      << ps.up << ps.down << ps.drained;
    return p.hash();
}

uint64_t zone_print(const ZoneStatus& z) {
    Print p;
    p << z.serial << z.file << z.loaded_unix_ms;
    for (const std::string& e : z.errors) p << e;
    return p.hash();
}

uint64_t rejected_print(const std::vector<RejectedFile>& rejected) {
    Print p;
    for (const RejectedFile& r : rejected) {
        p << r.file << r.errors.size();
        for (const std::string& e : r.errors) p << e;
    }
    return p.hash();
}

}  // namespace

bool StatusRevisions::same_structure(const StatusModel& model) const {
    if (model.zones.size() != zones_.size()) return false;
    for (size_t zi = 0; zi < zones_.size(); ++zi) {
        const Zone& z = zones_[zi];
        const ZoneStatus& mz = model.zones[zi];
        if (z.name != mz.zone || z.pools.size() != mz.pools.size()) return false;
        for (size_t pi = 0; pi < z.pools.size(); ++pi) {
            const Pool& p = z.pools[pi];
            const PoolStatus& mp = mz.pools[pi];
            if (p.name != mp.name || p.addresses.size() != mp.members.size()) return false;
            for (size_t mi = 0; mi < p.addresses.size(); ++mi)
                if (p.addresses[mi] != mp.members[mi].address) return false;
        }
    }
    return true;
}

void StatusRevisions::observe(const StatusModel& model) {
    const uint64_t next = current_ + 1;
    bool changed = false;
    const auto mark = [&](uint64_t& rev) {
        rev = next;
        changed = true;
    };
    if (!same_structure(model)) {
        // Rebuilt from scratch: every record is news, and older clients start over.
        zones_.clear();
        for (const ZoneStatus& mz : model.zones) {
            Zone z;
            z.name = mz.zone;
            z.rev = next;
            for (const PoolStatus& mp : mz.pools) {
                Pool p;
                p.name = mp.name;
                p.rev = next;
                for (const MemberStatus& mm : mp.members) {
                    p.addresses.push_back(mm.address);
                    Member m;
                    m.rev = next;
                    m.phase_ms = static_cast<int64_t>(
                        std::hash<std::string>{}(z.name + "/" + p.name + "/" + mm.address) %
                        kProbeRefreshMs);
                    p.members.push_back(m);
                }
                z.pools.push_back(std::move(p));
            }
            zones_.push_back(std::move(z));
        }
        structure_ = next;
        changed = true;
    }
    for (size_t zi = 0; zi < zones_.size(); ++zi) {
        Zone& z = zones_[zi];
        const ZoneStatus& mz = model.zones[zi];
        if (const uint64_t print = zone_print(mz); print != z.print) {
            z.print = print;
            mark(z.rev);
        }
        for (size_t pi = 0; pi < z.pools.size(); ++pi) {
            Pool& p = z.pools[pi];
            const PoolStatus& mp = mz.pools[pi];
            if (const uint64_t print = pool_print(mp); print != p.print) {
                p.print = print;
                mark(p.rev);
            }
            for (size_t mi = 0; mi < p.members.size(); ++mi) {
                Member& m = p.members[mi];
                const MemberStatus& mm = mp.members[mi];
                const int64_t turn = (model.now_unix_ms + m.phase_ms) / kProbeRefreshMs;
                if (const uint64_t print = member_print(mm); print != m.print) {
                    m.print = print;
                    mark(m.rev);
                    m.probe_ms = mm.last_probe_unix_ms;  // sent with the whole member
                    m.probe_turn = turn;
                } else if (mm.last_probe_unix_ms != m.probe_ms && turn != m.probe_turn) {
                    mark(m.probe_rev);
                    m.probe_ms = mm.last_probe_unix_ms;
                    m.probe_turn = turn;
                }
            }
        }
    }
    if (const uint64_t print = rejected_print(model.rejected); print != rejected_print_) {
        rejected_print_ = print;
        mark(rejected_rev_);
    }
    if (changed) current_ = next;
}

}  // namespace steerdns::control
