#include "steerdns/answer/snapshot.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "steerdns/dns/name.h"

namespace steerdns {
namespace {

uint32_t slot_hash(uint64_t h) {
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    return tag == 0 ? 1 : tag;
}

}  // namespace

Snapshot::Snapshot(std::vector<zone::ZonePtr> zones, uint64_t generation,
                   std::shared_ptr<const health::HealthTable> health, unsigned counter_rows)
    : zones_(std::move(zones)), generation_(generation), health_(std::move(health)) {
    // Deepest apex first: its names win over a parent zone's names for the same owner, and
    // parent names below a child apex are hidden (they would never be authoritative).
    std::stable_sort(zones_.begin(), zones_.end(),
                     [](const zone::ZonePtr& a, const zone::ZonePtr& b) {
                         return dns::label_count(a->apex) > dns::label_count(b->apex);
                     });
    size_t total = 0;
    for (const auto& z : zones_) total += z->nodes.size();
    const size_t cap = std::bit_ceil(std::max<size_t>(16, total * 2));
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    for (uint16_t zi = 0; zi < zones_.size(); ++zi) {
        const zone::Zone& z = *zones_[zi];
        for (uint32_t ni = 0; ni < z.nodes.size(); ++ni) {
            std::span<const uint8_t> name = z.node_name(z.nodes[ni]);
            bool hidden = false;
            for (uint16_t deeper = 0; deeper < zi && !hidden; ++deeper) {
                hidden = dns::is_subdomain(name, zones_[deeper]->apex);
            }
            if (!hidden) insert(zi, ni);
        }
    }
    uint32_t counters = 0;
    for (const auto& z : zones_) {
        zone_pool_start_.push_back(static_cast<uint32_t>(pool_base_.size()));
        for (const lb::Pool& p : z->pools) {
            pool_base_.push_back(counters);
            counters += static_cast<uint32_t>(kPoolMembers + p.members.size());
        }
    }
    for (unsigned r = 0; r < counter_rows; ++r)
        rows_.push_back(std::make_unique<std::atomic<uint64_t>[]>(counters + 2 * kRowPad));
}

uint64_t Snapshot::pool_counter_total(uint16_t zone_index, size_t pool, size_t counter) const {
    uint64_t sum = 0;
    for (unsigned r = 0; r < rows_.size(); ++r)
        sum += pool_counters(r, zone_index, pool)[counter].load(std::memory_order_relaxed);
    return sum;
}

void Snapshot::insert(uint16_t zone_index, uint32_t node_index) {
    const zone::Zone& z = *zones_[zone_index];
    std::span<const uint8_t> name = z.node_name(z.nodes[node_index]);
    const uint64_t h = dns::hash_name(name.data(), name.size());
    if (probe(name.data(), name.size()) != nullptr) return;
    for (uint64_t i = h & mask_;; i = (i + 1) & mask_) {
        if (slots_[i].hash == 0) {
            slots_[i] = Slot{slot_hash(h), zone_index, node_index};
            return;
        }
    }
}

const Snapshot::Slot* Snapshot::probe(const uint8_t* name, size_t len) const {
    const uint64_t h = dns::hash_name(name, len);
    const uint32_t tag = slot_hash(h);
    for (uint64_t i = h & mask_;; i = (i + 1) & mask_) {
        const Slot& s = slots_[i];
        if (s.hash == 0) return nullptr;
        if (s.hash != tag) continue;
        const zone::Zone& z = *zones_[s.zone];
        const zone::Node& n = z.nodes[s.node];
        if (n.name_len == len && std::memcmp(z.names.data() + n.name_offset, name, len) == 0)
            return &s;
    }
}

NodeRef Snapshot::find_exact(std::span<const uint8_t> name) const {
    const Slot* s = probe(name.data(), name.size());
    if (!s) return {};
    const zone::Zone* z = zones_[s->zone].get();
    return {z, &z->nodes[s->node], s->zone};
}

NodeRef Snapshot::wildcard_below(const NodeRef& encloser) const {
    // Most closest enclosers have no wildcard child: the flag spares them the probe. Below a
    // cut nothing is synthesized (RFC 4592 2.2.1): the referral is the answer.
    constexpr uint8_t no_synthesis = zone::node_flag::delegation | zone::node_flag::occluded;
    const zone::Node& n = *encloser.node;
    if (!(n.flags & zone::node_flag::wildcard_child) || (n.flags & no_synthesis)) return {};
    uint8_t name[2 + 255];  // "*." and the encloser: compile made it, so it fits in 255
    name[0] = 1;
    name[1] = '*';
    std::memcpy(name + 2, encloser.zone->names.data() + n.name_offset, n.name_len);
    return find_exact({name, size_t{n.name_len} + 2});
}

Lookup Snapshot::find(std::span<const uint8_t> qname) const {
    // The common case, a name that exists, costs one probe; misses walk up label by label to
    // the closest encloser, which tells NXDOMAIN (inside a zone) from REFUSED (outside all).
    size_t pos = 0;
    bool first = true;
    while (pos < qname.size()) {
        if (NodeRef r = find_exact(qname.subspan(pos))) {
            if (first) return Lookup{Lookup::exact, r};
            if (NodeRef w = wildcard_below(r)) return Lookup{Lookup::wildcard, w};
            return Lookup{Lookup::nxdomain, r};
        }
        if (qname[pos] == 0) break;
        pos += 1 + qname[pos];
        first = false;
    }
    return Lookup{};
}

}  // namespace steerdns
