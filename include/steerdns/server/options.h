// What `steerdns serve` was asked to do.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "steerdns/server/log.h"
#include "steerdns/server/socket.h"

namespace steerdns::server {

struct ServeOptions {
    std::string zones_dir;
    std::vector<ListenAddr> listen;
    unsigned threads = 1;
    LogLevel log_level = LogLevel::info;
    uint16_t max_udp_payload = 1232;  // DNS flag day 2020: no IP fragmentation
    double tcp_idle_timeout = 10.0;   // seconds, RFC 7766 6.2.3 ("a few seconds")
    unsigned tcp_max_clients = 1000;  // per worker
    // The HTTP control endpoint (--control; "off" clears control_enabled).
    bool control_enabled = true;
    ListenAddr control;
    std::optional<std::string> control_token;  // from --control-token-file; none: no writes
};

}  // namespace steerdns::server
