// What `steerdns serve` was asked to do.
#pragma once

#include <cstdint>
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
    std::string query_log;            // --query-log PATH ("-" = stderr); empty = off
    unsigned query_log_sample = 1;    // log 1 query in N
    std::string user;                 // --user: drop to this account once sockets are bound
};

}  // namespace steerdns::server
