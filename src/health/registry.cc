#include "steerdns/health/registry.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>

#include "steerdns/health/composite.h"

namespace steerdns::health {
namespace detail {

struct SlotInfo {
    std::string key;  // empty: free
    std::shared_ptr<const ProbeTarget> target;
    uint32_t refs = 0;
    std::vector<std::pair<uint64_t, ProbeLabel>> users;  // lease id, label
    // A composite's derived slot (ProbeSpec::parts).
    std::vector<uint32_t> parts;
    std::vector<std::string> part_names;
    uint32_t require = 0;
};

struct RegistryState {
    explicit RegistryState(size_t n) : table(std::make_shared<HealthTable>(n)), capacity(n) {}

    std::mutex m;
    std::shared_ptr<HealthTable> table;
    size_t capacity;
    std::unordered_map<std::string, uint32_t> by_key;
    std::vector<SlotInfo> slots;  // grows up to capacity
    std::vector<uint32_t> free;
    uint64_t next_lease = 1;
    std::atomic<uint64_t> version{1};
    bool loaded = false;  // set_loaded(): new keys start pending
};

}  // namespace detail

namespace {

std::string key_of(const ProbeTarget& t) {
    std::string k(reinterpret_cast<const char*>(t.address), t.family == 4 ? 4 : 16);
    k.insert(k.begin(), static_cast<char>(t.family));
    k += '|';
    k += t.check.key();
    return k;
}

}  // namespace

ProbeLease::~ProbeLease() {
    std::lock_guard lock(state_->m);
    for (uint32_t slot : slots_) {
        detail::SlotInfo& s = state_->slots[slot];
        const auto it = std::find_if(s.users.begin(), s.users.end(),
                                     [&](const auto& u) { return u.first == id_; });
        if (it != s.users.end()) s.users.erase(it);
        if (--s.refs == 0) state_->version.fetch_add(1, std::memory_order_relaxed);
    }
}

uint32_t ProbeLease::acquire(const ProbeTarget& target, ProbeLabel label) {
    return take(key_of(target), target, std::move(label), {});
}

uint32_t ProbeLease::acquire_composite(const ProbeTarget& member, std::vector<uint32_t> parts,
                                       std::vector<std::string> names, uint32_t require,
                                       ProbeLabel label) {
    // Identity: the parts' own keys (stable across reloads, unlike a recycled slot's number)
    // with their names, which its log lines carry, and the require.
    std::string key = "composite|" + std::to_string(require);
    {
        std::lock_guard lock(state_->m);
        for (size_t i = 0; i < parts.size(); ++i) {
            key.append("|");
            key.append(names[i]);
            key.append("=");
            key.append(state_->slots[parts[i]].key);
        }
    }
    Composite c{std::move(parts), std::move(names), require};
    return take(std::move(key), member, std::move(label), std::move(c));
}

uint32_t ProbeLease::take(std::string key, const ProbeTarget& target, ProbeLabel label,
                          Composite composite) {
    std::lock_guard lock(state_->m);
    detail::RegistryState& st = *state_;
    uint32_t slot;
    if (const auto it = st.by_key.find(key); it != st.by_key.end()) {
        slot = it->second;
        if (st.slots[slot].refs == 0) st.version.fetch_add(1, std::memory_order_relaxed);
    } else {
        if (!st.free.empty()) {
            slot = st.free.back();
            st.free.pop_back();
        } else if (st.slots.size() < st.capacity) {
            slot = static_cast<uint32_t>(st.slots.size());
            st.slots.emplace_back();
        } else {
            return kNoProbe;
        }
        detail::SlotInfo& s = st.slots[slot];
        s.key = key;
        s.target = std::make_shared<const ProbeTarget>(target);
        // A new key starts as "no result yet": up at the first load, pending after it.
        State first = st.loaded ? State::pending : State::unknown;
        if (!composite.parts.empty()) {
            // What its parts say already (a new composite over probes with results).
            std::vector<State> states;
            for (uint32_t p : composite.parts) states.push_back(st.table->state(p));
            first = derived_state(states, composite.require);
        }
        st.table->set(slot, first);
        s.parts = std::move(composite.parts);
        s.part_names = std::move(composite.names);
        s.require = composite.require;
        st.by_key.emplace(std::move(key), slot);
        st.version.fetch_add(1, std::memory_order_relaxed);
    }
    detail::SlotInfo& s = st.slots[slot];
    ++s.refs;
    s.users.emplace_back(id_, std::move(label));
    slots_.push_back(slot);
    return slot;
}

ProbeRegistry::ProbeRegistry(size_t capacity)
    : state_(std::make_shared<detail::RegistryState>(capacity)) {}

ProbeRegistry::~ProbeRegistry() = default;

std::unique_ptr<ProbeLease> ProbeRegistry::lease() {
    uint64_t id;
    {
        std::lock_guard lock(state_->m);
        id = state_->next_lease++;
    }
    // The constructor is private: make_unique cannot reach it.
    return std::unique_ptr<ProbeLease>(new ProbeLease(state_, id));
}

void ProbeRegistry::set_loaded() {
    std::lock_guard lock(state_->m);
    state_->loaded = true;
}

std::shared_ptr<const HealthTable> ProbeRegistry::table() const {
    return state_->table;
}

HealthTable& ProbeRegistry::states() {
    return *state_->table;
}

std::vector<ProbeSpec> ProbeRegistry::active() const {
    std::lock_guard lock(state_->m);
    std::vector<ProbeSpec> out;
    for (uint32_t i = 0; i < state_->slots.size(); ++i) {
        const detail::SlotInfo& s = state_->slots[i];
        if (s.refs == 0) continue;
        ProbeSpec p;
        p.slot = i;
        p.key = s.key;
        p.target = s.target;
        p.label = s.users.front().second;
        for (const auto& u : s.users) {
            if (u.second.part) continue;
            p.label = u.second;
            break;
        }
        p.users = static_cast<uint32_t>(s.users.size());
        p.parts = s.parts;
        p.part_names = s.part_names;
        p.require = s.require;
        out.push_back(std::move(p));
    }
    return out;
}

uint64_t ProbeRegistry::version() const {
    return state_->version.load(std::memory_order_relaxed);
}

void ProbeRegistry::recycle(std::span<const uint32_t> slots) {
    std::lock_guard lock(state_->m);
    for (uint32_t slot : slots) {
        if (slot >= state_->slots.size()) continue;
        detail::SlotInfo& s = state_->slots[slot];
        if (s.refs != 0 || s.key.empty()) continue;  // taken back by a reload meanwhile
        state_->by_key.erase(s.key);
        s = detail::SlotInfo{};
        state_->table->set(slot, State::unknown);
        state_->free.push_back(slot);
    }
}

size_t ProbeRegistry::capacity() const {
    return state_->capacity;
}

}  // namespace steerdns::health
