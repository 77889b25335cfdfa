#include "steerdns/control/events.h"

#include "steerdns/util/clock.h"

namespace steerdns::control {

void EventRing::add(Event e) {
    if (capacity_ == 0) return;
    if (events_.size() >= capacity_) events_.pop_front();
    events_.push_back(std::move(e));
}

nlohmann::ordered_json events_json(const EventRing& ring) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    ring.for_each_newest_first([&out](const Event& e) {
        nlohmann::ordered_json j;
        j["time"] = util::rfc3339(e.unix_ms);
        j["zone"] = e.zone;
        j["pool"] = e.pool;
        j["address"] = e.address;
        j["state"] = e.state;
        j["reason"] = e.reason;
        out.push_back(std::move(j));
    });
    return out;
}

bool is_event(const health::SlotChange& c) {
    if (c.state == health::State::unknown) return false;
    return !c.first || c.state == health::State::down;
}

void expand_slot_change(const Snapshot& snapshot, const health::SlotChange& c,
                        const std::function<void(Event, const zone::Zone&)>& f) {
    for (const zone::ZonePtr& z : snapshot.zones()) {
        std::string apex;  // formatted once per zone, only when a member matches
        for (const lb::Pool& p : z->pools) {
            for (const lb::Member& m : p.members) {
                if (m.probe_slot != c.slot) continue;
                if (apex.empty()) apex = z->apex_text();
                f(Event{c.unix_ms, apex, p.name, m.address_text, health::state_name(c.state),
                        c.reason},
                  *z);
            }
        }
    }
}

}  // namespace steerdns::control
