// Lists of networks an option names ("127.0.0.0/8,::1/128", or "off"): who may read the
// control endpoint without a token, who may ask `_why` queries.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "steerdns/lb/geo_map.h"

namespace steerdns::lb {

// Comma-separated prefixes -> `out`; "off" -> empty. False with `error` ("\"x\": why") on a
// malformed prefix; an empty list other than "off" is also refused.
bool parse_net_list(std::string_view text, std::vector<Cidr>& out, std::string& error);

// Whether the address (`family` 4 or 6; 4 or 16 bytes) lies in one of `nets`.
bool net_list_contains(std::span<const Cidr> nets, uint8_t family, const uint8_t* address);

// 127.0.0.0/8 and ::1/128.
std::vector<Cidr> loopback_nets();

}  // namespace steerdns::lb
