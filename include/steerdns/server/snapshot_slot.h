// Where control publishes the current snapshot. Workers take it once per reload (woken by
// their mailbox), never per query, so the mutex is uncontended and off the hot path; this
// gives RCU's guarantees (readers never wait, old data lives until its last reader lets go)
// without liburcu. std::atomic<std::shared_ptr> is not lock-free in libstdc++ 12.
#pragma once

#include <mutex>

#include "steerdns/answer/snapshot.h"

namespace steerdns::server {

class SnapshotSlot {
  public:
    void publish(SnapshotPtr s) {
        std::lock_guard lock(m_);
        current_ = std::move(s);
    }
    SnapshotPtr get() const {
        std::lock_guard lock(m_);
        return current_;
    }

  private:
    mutable std::mutex m_;
    SnapshotPtr current_;
};

}  // namespace steerdns::server
