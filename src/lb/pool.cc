#include "steerdns/lb/pool.h"

#include <string_view>

namespace steerdns::lb {

const char* policy_name(Policy p) {
    switch (p) {
        case Policy::round_robin:
            return "round-robin";
        case Policy::weighted:
            return "weighted";
        case Policy::failover:
            return "failover";
        case Policy::hash:
            return "hash";
        case Policy::geo:
            return "geo";
        case Policy::all:
            return "all";
    }
    return "?";
}

bool parse_policy(std::string_view text, Policy& out) {
    static constexpr Policy kAll[] = {Policy::round_robin, Policy::weighted, Policy::failover,
                                      Policy::hash,        Policy::geo,      Policy::all};
    for (Policy p : kAll) {
        if (text == policy_name(p)) {
            out = p;
            return true;
        }
    }
    return false;
}

}  // namespace steerdns::lb
