// `steerdns simulate PATH NAME`: the selection of a balanced name, run offline N times from a
// spread of clients, with members forced down or drained. It compiles the zones and calls
// lb::select_with_fallback as the server does (the same library, not a copy), so its shares
// answer "are my weights right?" and "where does the traffic go when X fails?" without
// touching production.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "steerdns/cli/client_spread.h"
#include "steerdns/lb/pool.h"

namespace steerdns::cli {

struct SimulateOptions {
    std::vector<std::string> paths;  // zone files or directories, as `check` takes them
    std::string name;                // the balanced name ("www.lb.example.test", dot optional)
    uint16_t rrtype = 1;             // A or AAAA
    uint64_t queries = 100000;
    std::vector<ClientSource> clients;  // with clients_file's; both empty: 0.0.0.0/0
    std::string clients_file;           // --clients-file (parse_clients_file)
    bool ecs = false;                // queries carry the clients as ECS from one resolver address
    std::vector<std::string> down;   // member addresses forced down (every pool of the zones)
    std::vector<std::string> drain;  // member addresses drained, as POST /drain would
    uint64_t seed = 1;
    bool by_network = false;  // the per-network table for every policy (hash, geo: always)
    size_t networks = 20;     // rows of that table
    // Networks that table tallies, about 200 bytes each: 100 million queries spread over
    // 0.0.0.0/0 would otherwise hold all 16 million /24s in memory.
    size_t max_networks = size_t{1} << 18;
};

struct MemberShare {
    std::string address;
    std::string pool;                  // the pool it belongs to
    std::optional<double> configured;  // share the policy means it to get; none for hash, geo
    uint64_t answered = 0;             // answers it appears in
    uint64_t first = 0;                // answers it comes first in
    std::string note;                  // "down", "drained", "fallback pool x", ...
};

// Queries from one client network, by the answer they got.
struct NetworkShare {
    std::string network;  // "198.51.100.0/24": the ECS source network, or the source's /24 or /56
    uint64_t queries = 0;
    // The members of an answer in table order, space-separated ("NODATA" for none), and how
    // many queries got it; most first.
    std::vector<std::pair<std::string, uint64_t>> answers;
};

struct SimulateReport {
    std::string name;  // absolute, as text
    std::string zone;
    std::string pool;
    lb::Policy policy = lb::Policy::round_robin;
    uint16_t rrtype = 1;
    uint16_t answers = 0;  // the pool's "answers" (0: every member)
    uint64_t queries = 0;
    uint64_t nodata = 0;  // queries answered NODATA (no member of the family, fallback none)
    std::optional<double> nodata_configured;  // what the policy means to answer NODATA
    uint64_t fallback = 0;                    // queries the fallback answered
    std::vector<MemberShare> members;    // the pool's members in file order, then fallback pools'
    std::vector<NetworkShare> networks;  // empty unless by_network or hash/geo; most queries first
    size_t network_count = 0;            // networks tallied (more than `networks` may hold)
    uint64_t untallied = 0;              // queries from networks past max_networks
    std::vector<std::string> warnings;   // zone files left out because they do not load
};

// Loads and compiles the zones, applies --drain/--down and runs the queries. False with
// `error` set when a zone holding the name does not load, the name is not balanced (static
// records, CNAME, delegation, NXDOMAIN), or a --down/--drain address is no member.
bool simulate(const SimulateOptions& options, SimulateReport& report, std::string& error);

void print_report(const SimulateReport& report, std::ostream& out);

// The subcommand: 0 on a report, 1 when simulate() fails (its error on `err`).
int run_simulate(const SimulateOptions& options, std::ostream& out, std::ostream& err);

}  // namespace steerdns::cli
