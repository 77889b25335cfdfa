// Member state changes as operators see them: one Event per member (zone, pool, address) and
// change, kept in a ring of the last 1000 for GET /events. The health thread reports slot
// changes (health::SlotChange); the control thread expands each to the members using that
// slot in the current snapshot, since one probe may serve members in several pools and zones.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "steerdns/answer/snapshot.h"
#include "steerdns/health/monitor.h"

namespace steerdns::control {

struct Event {
    int64_t unix_ms = 0;
    std::string zone;     // apex, "lb.example.test."
    std::string pool;     // as written in the zone file
    std::string address;  // the answered address
    // "up", "down", "drained", "undrained"; a string so that later states (pending,
    // suppressed, awaiting failback, draining) need no new type.
    std::string state;
    std::string reason;
};

// The last `capacity` events; the oldest goes first when full.
class EventRing {
  public:
    static constexpr size_t kDefaultCapacity = 1000;
    explicit EventRing(size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

    void add(Event e);
    size_t size() const { return events_.size(); }
    // Newest first, as GET /events lists them.
    template <class F>
    void for_each_newest_first(F&& f) const {
        for (auto it = events_.rbegin(); it != events_.rend(); ++it) f(*it);
    }

  private:
    size_t capacity_;
    std::deque<Event> events_;
};

// GET /events: a JSON array, newest first, each {"time" (RFC 3339), "zone", "pool",
// "address", "state", "reason"}.
nlohmann::ordered_json events_json(const EventRing& ring);

// Whether a slot change is an event: a first result only when it is down (a member counts as
// up until its first result, so a first "up" changes nothing and would flood the ring and the
// notify program at every start).
bool is_event(const health::SlotChange& c);

// Calls `f(event, zone)` for every member of `snapshot` probed by `c.slot`, in zone, pool and
// member order.
void expand_slot_change(const Snapshot& snapshot, const health::SlotChange& c,
                        const std::function<void(Event, const zone::Zone&)>& f);

}  // namespace steerdns::control
