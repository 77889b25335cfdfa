// Member state changes (README "Events"): the monitor's slot changes arrive on the control
// thread through an async handle, become one event per member using the slot, go into the
// ring GET /events reads, and run the zone's "notify" program. Drains add theirs directly.
#include <unordered_map>

#include "steerdns/server/server.h"
#include "steerdns/util/log.h"

namespace steerdns::server {

void Server::start_events() {
    control::NotifyLimits limits;
    notify_launcher_ = std::make_unique<control::UvNotifyLauncher>(loop_.get(), limits.timeout_ms);
    notify_ = std::make_unique<control::NotifyQueue>(*notify_launcher_, limits);
    changes_async_ = util::make_uv<uv_async_t>();
    util::uv_check(
        uv_async_init(loop_.get(), changes_async_.get(),
                      [](uv_async_t* a) { static_cast<Server*>(a->data)->on_slot_changes(); }),
        "uv_async_init");
    changes_async_->data = this;
    // Unreferenced: waiting for changes does not keep the daemon running.
    uv_unref(reinterpret_cast<uv_handle_t*>(changes_async_.get()));
    monitor_->on_change([async = changes_async_.get()] { uv_async_send(async); });
}

void Server::on_slot_changes() {
    if (!monitor_) return;
    uint64_t dropped = 0;
    const std::vector<health::SlotChange> changes = monitor_->take_changes(&dropped);
    if (dropped > 0)
        util::log_warn("state changes lost before they became events",
                       {{"dropped", std::to_string(dropped)}});
    const SnapshotPtr snap = slot_.get();
    if (!snap || changes.empty()) return;
    // A slot recycled for another probe since the change: its members are not the ones that
    // changed. Looked up only when there is something to expand.
    std::unordered_map<uint32_t, std::string> keys;
    for (health::ProbeSpec& s : probes_.active()) keys.emplace(s.slot, std::move(s.key));
    for (const health::SlotChange& c : changes) {
        if (!control::is_event(c)) continue;
        const auto k = keys.find(c.slot);
        if (k == keys.end() || k->second != c.key) continue;
        control::expand_slot_change(*snap, c, [this](control::Event e, const zone::Zone& z) {
            record_event(std::move(e), &z);
        });
    }
}

void Server::record_event(control::Event e, const zone::Zone* z) {
    if (notify_ && z && !z->notify.empty()) notify_->submit(control::notify_argv(z->notify, e), e);
    events_.add(std::move(e));
}

control::HttpResponse Server::events() {
    control::HttpResponse r;
    r.body = control::events_json(events_).dump(2, ' ', false,
                                                nlohmann::ordered_json::error_handler_t::replace) +
             "\n";
    return r;
}

}  // namespace steerdns::server
