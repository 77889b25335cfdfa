// What `steerdns serve` was asked to do.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "steerdns/control/auth.h"
#include "steerdns/dns/nsid.h"
#include "steerdns/health/tcp_uring.h"
#include "steerdns/lb/net_list.h"
#include "steerdns/server/socket.h"
#include "steerdns/util/log.h"

namespace steerdns::server {

struct ServeOptions {
    std::string zones_dir;
    std::vector<ListenAddr> listen;
    unsigned threads = 1;
    util::LogLevel log_level = util::LogLevel::info;
    uint16_t max_udp_payload = 1232;  // DNS flag day 2020: no IP fragmentation
    // --signature-cache: RRSIGs of balanced answer sets signed on first use, kept per worker
    // thread (answer/signature_cache.h); 0 signs such a set for every answer.
    unsigned signature_cache = 10000;
    double tcp_idle_timeout = 10.0;   // seconds, RFC 7766 6.2.3 ("a few seconds")
    unsigned tcp_max_clients = 4096;  // open TCP connections, all workers together
    // Abuse limits (README "Security").
    unsigned tcp_max_clients_per_address = 256;  // per IPv4 address / IPv6 /64
    double tcp_read_timeout = 5.0;               // a started message must arrive whole by then
    double tcp_write_timeout = 5.0;              // a client must take our answers by then
    unsigned tcp_max_queries = 0;  // per connection, then answered and closed; 0 = no cap (NSD)
    uint32_t rrl_responses_per_second = 0;  // per prefix and response class; 0 = off
    uint32_t rrl_slip = 2;
    uint8_t rrl_ipv4_prefix = 24;
    uint8_t rrl_ipv6_prefix = 56;
    uint32_t rrl_table_size = 1u << 18;
    unsigned max_probes_in_flight = 1000;  // health probes running at once
    unsigned max_exec_checks = 32;         // of which exec checks (processes)
    // --probe-io: tcp probes through io_uring when the kernel allows a ring, else libuv.
    health::ProbeIo probe_io = health::ProbeIo::automatic;
    // README "Health at start": saved health younger than this is believed at start (seconds)
    double health_max_age = 300;
    // ... and members without are probed once first, waiting at most this long (0: not)
    double start_probe_wait = 5;
    std::vector<unsigned> worker_cpus;  // worker i runs on worker_cpus[i % size]; empty: any
    std::vector<unsigned> probe_cpus;   // the prober thread's CPUs; empty: any
    std::string query_log;              // --query-log PATH ("-" = stderr); empty = off
    unsigned query_log_sample = 1;      // log 1 query in N
    std::string user;                   // --user: drop to this account once sockets are bound
    dns::Nsid nsid;  // --nsid: the identifier answered to NSID and CH TXT id.server.; off unset
    // --state-file: drained members kept across restarts; empty = <zones>/.steerdns-state.json
    std::string state_file;
    // The HTTP control endpoint (--control; "off" clears control_enabled).
    bool control_enabled = true;
    ListenAddr control;
    std::optional<std::string> control_token;  // from --control-token-file; none: no writes
    // --control-read-from: peers whose GETs need no token (loopback by default).
    std::vector<lb::Cidr> control_read_from = control::AuthConfig::default_read_from();
    // --peer-status: the other servers' control endpoints, shown on the status page.
    std::vector<std::string> peer_status;
    // --explain-from: who may ask `_why` decision traces (loopback by default; empty: nobody).
    std::vector<lb::Cidr> explain_from = lb::loopback_nets();
};

}  // namespace steerdns::server
