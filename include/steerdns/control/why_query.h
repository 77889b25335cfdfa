// The query string of GET /why: which name, for which client, traced how (`steerdns why`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "steerdns/dns/query.h"

namespace steerdns::control {

struct WhyQuery {
    std::string name_text;      // as given, for the response
    std::vector<uint8_t> name;  // lowercased wire form
    uint16_t qtype = 1;         // A (1) or AAAA (28)
    // The client: its address (default 127.0.0.1), and the ECS option it sends, if any.
    uint8_t family = 4;
    uint8_t address[16] = {127, 0, 0, 1};
    dns::ClientSubnet ecs;
};

// name=NAME (required), type=A|AAAA, client=ADDRESS, ecs=ADDRESS/PREFIX. False with `error`
// saying what is accepted.
bool parse_why_query(std::string_view query, WhyQuery& out, std::string& error);

}  // namespace steerdns::control
