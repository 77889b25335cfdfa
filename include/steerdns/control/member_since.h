// When each member's state as its zone file has it began: since it is in the file, or since
// its "enabled" (or an API drain) last changed. A reload that leaves a member alone keeps its
// time. Kept by position in the zones serving (8 bytes a member), moved at each publish by
// zone_align's maps, rather than in a map keyed by zone, pool and address strings.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "steerdns/answer/snapshot.h"

namespace steerdns::control {

class MemberSinceTable {
  public:
    // Re-keys onto `s`'s zones (about to serve): a member in the previous zones with the same
    // "enabled" keeps its time; any other starts at `now_unix_ms`.
    void update(const Snapshot& s, int64_t now_unix_ms);
    // Member `mi` of pool `pi` of `z`; none when `z` is not a zone of the last update().
    std::optional<int64_t> since(const zone::Zone& z, size_t pi, size_t mi) const;

  private:
    std::vector<zone::ZonePtr> zones_;
    std::vector<std::vector<std::vector<int64_t>>> since_;  // [zone][pool][member]
};

}  // namespace steerdns::control
