#include "steerdns/zone/zone.h"

#include "steerdns/dns/name.h"

namespace steerdns::zone {

size_t Zone::member_count() const {
    size_t n = 0;
    for (const lb::Pool& p : pools) n += p.members.size();
    return n;
}

std::string Zone::apex_text() const {
    return dns::name_to_text(apex);
}

}  // namespace steerdns::zone
