// steerdns command line: `serve` (the default), `check`, `simulate`, `status`, `why` and `keys`
// (src/cli/).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <set>
#include <thread>

#include "steerdns/cli/check.h"
#include "steerdns/cli/diff.h"
#include "steerdns/cli/failback.h"
#include "steerdns/cli/keys.h"
#include "steerdns/cli/simulate.h"
#include "steerdns/cli/status.h"
#include "steerdns/cli/status_merge.h"
#include "steerdns/cli/why.h"
#include "steerdns/control/auth.h"
#include "steerdns/control/peer_page.h"
#include "steerdns/dns/nsid.h"
#include "steerdns/server/rrl.h"
#include "steerdns/server/server.h"
#include "steerdns/server/zone_dir.h"
#include "steerdns/util/clock.h"
#include "steerdns/util/cpu_affinity.h"
#include "steerdns/util/log.h"
#include "steerdns/zone/compile.h"
#include "steerdns/zone/limits.h"

namespace {

using namespace steerdns;

// CLI11 prints a range after the value's name ("N:UINT in [1 - 256]"); the help text gives it
// in words instead, so each option reads `--threads N` as in a man page.
template <class T>
CLI::Validator within(T lo, T hi) {
    CLI::Validator v = CLI::Range(lo, hi);
    v.description("");
    return v;
}

// `--diff OLD NEW` and `--json` in `check --help`, where CLI11 would write "--diff OLD NEW x 2
// Excludes: PATH" and "--json Needs: --diff" (the descriptions say so in words).
class CheckFormatter : public CLI::Formatter {
  public:
    std::string make_option_opts(const CLI::Option* opt) const override {
        if (opt->get_name() == "--diff") return " OLD NEW";
        if (opt->get_name() == "--json") return "";
        if (opt->get_name() == "--wait-drained") return " ZONE POOL ADDRESS";
        return CLI::Formatter::make_option_opts(opt);
    }
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "steerdns: an authoritative DNS server that steers traffic among health-checked "
        "backends.\nServing is the default: `steerdns --zones DIR` is `steerdns serve --zones "
        "DIR`."};
    app.set_version_flag("--version,-V", std::string("steerdns ") + STEERDNS_VERSION);
    app.require_subcommand(0, 1);

    // Serve options live on the top level so `--help` shows them and `serve` is optional;
    // the `serve` subcommand falls through to them.
    server::ServeOptions opts;
    std::vector<std::string> listen = {"127.0.0.1:5300"};
    std::string log_level = "info";
    unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    app.add_option("--zones", opts.zones_dir, "Directory of *.json zone files (required to serve)")
        ->type_name("DIR");
    app.add_option("--listen", listen, "ADDR:PORT for UDP and TCP, repeatable; IPv6 as [::1]:5300")
        ->type_name("ADDR:PORT")
        ->capture_default_str();
    app.add_option(
           "--threads", threads,
           "Workers, 1-256 (default: number of cores): each a UDP thread per address, a TCP thread")
        ->type_name("N")
        ->check(within(1u, 256u));
    app.add_option("--log-level", log_level, "Least severe log lines written to stderr")
        ->type_name("LEVEL")
        ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
        ->capture_default_str();
    app.add_option("--max-udp-payload", opts.max_udp_payload,
                   "Largest UDP response with EDNS, 512-4096 (1232 avoids fragmentation)")
        ->type_name("BYTES")
        ->check(within(512, 4096))
        ->capture_default_str();
    app.add_option("--signature-cache", opts.signature_cache,
                   "Signed zones: answer sets signed on first use kept per worker thread, "
                   "0-10000000 (0: signed for every answer)")
        ->type_name("N")
        ->check(within(0u, 10000000u))
        ->capture_default_str();
    app.add_option("--tcp-idle-timeout", opts.tcp_idle_timeout,
                   "Seconds before an idle TCP connection is closed (0.1-3600)")
        ->type_name("SECONDS")
        ->check(within(0.1, 3600.0))
        ->capture_default_str();
    app.add_option("--tcp-max-clients", opts.tcp_max_clients,
                   "Open TCP connections, all worker threads together (1-1000000)")
        ->type_name("N")
        ->check(within(1u, 1000000u))
        ->capture_default_str();
    std::string worker_cpus;
    std::string probe_cpus;
    app.add_option("--worker-cpus", worker_cpus,
                   "Pin worker threads to these CPUs, one each in turn (e.g. 1 or 0-3)")
        ->type_name("CPUS");
    app.add_option("--probe-cpus", probe_cpus,
                   "Run the health prober on these CPUs (e.g. 0), away from the answering ones")
        ->type_name("CPUS");
    // Abuse limits: README "Security".
    app.add_option("--tcp-max-clients-per-address", opts.tcp_max_clients_per_address,
                   "Open TCP connections from one IPv4 address or IPv6 /64 (1-1000000)")
        ->type_name("N")
        ->check(within(1u, 1000000u))
        ->capture_default_str();
    app.add_option("--tcp-read-timeout", opts.tcp_read_timeout,
                   "Seconds a TCP message may take to arrive once its first byte has (0.1-3600)")
        ->type_name("SECONDS")
        ->check(within(0.1, 3600.0))
        ->capture_default_str();
    app.add_option(
           "--tcp-write-timeout", opts.tcp_write_timeout,
           "Seconds a TCP client may leave its answers unread before it is dropped (0.1-3600)")
        ->type_name("SECONDS")
        ->check(within(0.1, 3600.0))
        ->capture_default_str();
    app.add_option("--tcp-max-queries", opts.tcp_max_queries,
                   "Queries per TCP connection, the last answered before a clean close (0 = no "
                   "cap)")
        ->type_name("N")
        ->check(within(0u, 4000000000u))
        ->capture_default_str();
    app.add_option("--rrl-responses-per-second", opts.rrl_responses_per_second,
                   "UDP response rate limit per client prefix and response class (0 = off)")
        ->type_name("N")
        ->check(within(0u, server::RateLimiter::kMaxRate))
        ->capture_default_str();
    app.add_option("--rrl-slip", opts.rrl_slip,
                   "Every Nth rate-limited response is sent as TC=1 (0 = drop all, 1 = TC for all)")
        ->type_name("N")
        ->check(within(0u, server::RateLimiter::kMaxSlip))
        ->capture_default_str();
    unsigned rrl_ipv4_prefix = opts.rrl_ipv4_prefix;  // CLI11 reads uint8_t as a character
    unsigned rrl_ipv6_prefix = opts.rrl_ipv6_prefix;
    app.add_option("--rrl-ipv4-prefix", rrl_ipv4_prefix,
                   "IPv4 prefix length of a rate-limited client (8-32)")
        ->type_name("BITS")
        ->check(within(8u, 32u))
        ->capture_default_str();
    app.add_option("--rrl-ipv6-prefix", rrl_ipv6_prefix,
                   "IPv6 prefix length of a rate-limited client (16-128)")
        ->type_name("BITS")
        ->check(within(16u, 128u))
        ->capture_default_str();
    app.add_option(
           "--rrl-table-size", opts.rrl_table_size,
           "Rate limiter entries (8 bytes each), rounded up to a power of two (2-268435456)")
        ->type_name("N")
        ->check(within(2u, 1u << 28))
        ->capture_default_str();
    zone::ZoneLimits zone_limits;
    // `check` applies the same limits as the server, so it takes them too (after its name).
    auto add_zone_limits = [&zone_limits](CLI::App* a) {
        a->add_option("--max-zone-file-size", zone_limits.max_file_bytes,
                      "Largest zone file, in bytes (1-1099511627776)")
            ->type_name("BYTES")
            ->check(within(uint64_t{1}, uint64_t{1} << 40))
            ->capture_default_str();
        a->add_option("--max-zone-records", zone_limits.max_records, "Record lines in one zone")
            ->type_name("N")
            ->capture_default_str();
        a->add_option("--max-zone-pools", zone_limits.max_pools, "Pools in one zone")
            ->type_name("N")
            ->capture_default_str();
        a->add_option("--max-zone-members", zone_limits.max_members,
                      "Members in one zone, all pools together")
            ->type_name("N")
            ->capture_default_str();
    };
    add_zone_limits(&app);
    app.add_option("--max-probes-in-flight", opts.max_probes_in_flight,
                   "Health probes running at once; more wait their turn (1-1000000)")
        ->type_name("N")
        ->check(within(1u, 1000000u))
        ->capture_default_str();
    std::string probe_io = "auto";
    app.add_option("--probe-io", probe_io,
                   "How tcp health probes connect: uring (batched through io_uring), libuv, or "
                   "auto (io_uring when the kernel allows it, else libuv)")
        ->type_name("IO")
        ->check(CLI::IsMember({"auto", "uring", "libuv"}))
        ->capture_default_str();
    app.add_option(
           "--max-exec-checks", opts.max_exec_checks,
           "exec health checks (processes) running at once; more wait their turn (1-100000)")
        ->type_name("N")
        ->check(within(1u, 100000u))
        ->capture_default_str();
    app.add_option("--health-max-age", opts.health_max_age,
                   "Seconds a member's health saved in the state file stays true: a younger "
                   "entry is believed at start, rise/fall counting on from it (0-86400; 0: "
                   "probe everything afresh)")
        ->type_name("SECONDS")
        ->check(within(0.0, 86400.0))
        ->capture_default_str();
    app.add_option("--start-probe-wait", opts.start_probe_wait,
                   "Seconds the start may wait for a first probe of the members without fresh "
                   "saved health before answering, at most their checks' timeout (0-60; 0: "
                   "answer at once, unprobed members count as up)")
        ->type_name("SECONDS")
        ->check(within(0.0, 60.0))
        ->capture_default_str();
    app.add_option("--query-log", opts.query_log,
                   "Log every query (or 1 in --query-log-sample) to PATH, one logfmt line each; "
                   "- is stderr (default: off)")
        ->type_name("PATH");
    app.add_option("--query-log-sample", opts.query_log_sample,
                   "With --query-log, log 1 query in N (1-1000000)")
        ->type_name("N")
        ->check(within(1u, 1000000u))
        ->capture_default_str();
    app.add_option("--user", opts.user,
                   "Drop privileges to this user once the sockets are bound (start as root); "
                   "the zones directory must be readable by it")
        ->type_name("NAME");
    std::string nsid;
    app.add_option("--nsid", nsid,
                   "Identify this server in answers to the EDNS NSID option and to CH TXT "
                   "id.server. and hostname.bind.: the text itself, 0x and hex digits for raw "
                   "bytes, or `hostname` for this host's name (default: off)")
        ->type_name("ID");
    std::string read_from;
    app.add_option("--control-read-from", read_from,
                   "Networks whose reads (GET /status, /metrics, the page) need no token, e.g. "
                   "127.0.0.0/8,::1/128,172.16.0.0/12 (default: loopback; off: a token for every "
                   "read). Writes always need the token")
        ->type_name("PREFIXES");
    app.add_option("--state-file", opts.state_file,
                   "Where drained members are kept across restarts (default: "
                   "DIR/.steerdns-state.json beside the zones); must be writable by --user")
        ->type_name("PATH");
    std::string explain_from;
    app.add_option("--explain-from", explain_from,
                   "Networks that may ask decision traces (dig TXT _why.NAME, _why6.NAME); others "
                   "get REFUSED (default: loopback, 127.0.0.0/8,::1/128; off: nobody)")
        ->type_name("PREFIXES");
    std::string control_addr = "127.0.0.1:8053";
    std::string token_file;
    app.add_option(
           "--control", control_addr,
           "ADDR:PORT of the HTTP control endpoint (/, /status, /metrics, /why, POST /drain, "
           "/undrain, /reload), or off")
        ->type_name("ADDR:PORT")
        ->capture_default_str();
    app.add_option("--control-token-file", token_file,
                   "File holding the bearer token that POST requests, and reads from other hosts, "
                   "must send (without it, writes are refused)")
        ->type_name("PATH");
    std::vector<std::string> peer_status;
    app.add_option("--peer-status", peer_status,
                   "Control endpoint of another server of the NS set, e.g. "
                   "http://192.0.2.53:8053, repeatable: the status page also shows its view "
                   "(read by the browser), and this server lets the peers' pages read its "
                   "/status")
        ->type_name("URL");
    CLI::App* serve = app.add_subcommand(
        "serve",
        "Serve the zones in --zones DIR (the default command); it takes --listen, --threads and "
        "the other options listed by `steerdns --help`");
    serve->fallthrough();
    // `steerdns serve --help` lists the options serve takes: they live on the top level.
    serve->footer([&app] {
        const std::vector<CLI::Option*> found = app.get_options([&app](const CLI::Option* o) {
            return o != app.get_help_ptr() && o != app.get_version_ptr() && o->nonpositional();
        });
        const std::vector<const CLI::Option*> options(found.begin(), found.end());
        return CLI::Formatter().make_group("Serve options (also accepted before `serve`)", false,
                                           options);
    });

    std::vector<std::string> check_paths;
    CLI::App* check = app.add_subcommand(
        "check",
        "Validate zone files or directories; exit 0 if all are good, 1 otherwise. With --diff OLD "
        "NEW, print what an edit changes");
    CLI::Option* check_path =
        check->add_option("PATH", check_paths, "Zone file or directory")->type_name("PATH");
    std::vector<std::string> diff_paths;
    bool diff_json = false;
    CLI::Option* diff_option =
        check
            ->add_option("--diff", diff_paths,
                         "Print what changes from OLD to NEW (files or directories, e.g. "
                         "<(git show HEAD:zones/x.json) zones/x.json); exit 0 once computed, 1 "
                         "if either side is invalid")
            ->type_name("OLD NEW")
            ->expected(2)
            ->excludes(check_path);
    check->add_flag("--json", diff_json, "With --diff: print the changes as one JSON object")
        ->needs(diff_option);
    // PATH or --diff: one of them, which CLI11's required() cannot say across two options.
    check->callback([&check_paths, &diff_paths] {
        if (check_paths.empty() && diff_paths.empty())
            throw CLI::RequiredError("PATH (or --diff OLD NEW)");
    });
    check->formatter(std::make_shared<CheckFormatter>());
    add_zone_limits(check);

    // `simulate`: README "Why this answer"; the selection itself is src/cli/simulate.cc.
    cli::SimulateOptions sim;
    std::string sim_path;
    std::vector<std::string> sim_clients;
    std::string sim_type = "A";
    CLI::App* simulate = app.add_subcommand(
        "simulate",
        "Run a balanced name's selection offline for N queries from a spread of clients, with "
        "members forced down or drained; print each member's share of answers");
    simulate->add_option("PATH", sim_path, "Zone file or directory")->type_name("PATH")->required();
    simulate->add_option("NAME", sim.name, "The balanced name, e.g. www.lb.example.test")
        ->type_name("NAME")
        ->required();
    simulate->add_option("--queries", sim.queries, "Queries to run (1-100000000)")
        ->type_name("N")
        ->check(within(uint64_t{1}, uint64_t{100000000}))
        ->capture_default_str();
    simulate
        ->add_option("--clients", sim_clients,
                     "Client network spread evenly over its addresses (198.51.100.0/24), or one "
                     "address; repeatable, equal shares (default: 0.0.0.0/0)")
        ->type_name("PREFIX");
    simulate
        ->add_option("--clients-file", sim.clients_file,
                     "Clients from a file, one `ADDR_OR_PREFIX [WEIGHT]` a line")
        ->type_name("FILE");
    simulate->add_flag("--ecs", sim.ecs,
                       "Send the clients as EDNS Client Subnet (/24, /56 or the given prefix if "
                       "longer) from one resolver, instead of as the source address");
    simulate->add_option("--down", sim.down, "Member address forced down, repeatable")
        ->type_name("ADDR");
    simulate
        ->add_option("--drain", sim.drain,
                     "Member address drained (left out of every answer), repeatable")
        ->type_name("ADDR");
    simulate->add_option("--type", sim_type, "Query type")
        ->type_name("TYPE")
        ->check(CLI::IsMember({"A", "AAAA"}))
        ->capture_default_str();
    simulate->add_option("--seed", sim.seed, "Seed of the random draws (same seed, same output)")
        ->type_name("N")
        ->capture_default_str();
    simulate->add_flag("--by-network", sim.by_network,
                       "Also print answers by client network for round-robin, weighted, failover "
                       "and all (always printed for hash and geo)");
    simulate->add_option("--networks", sim.networks, "Rows of the by-network table")
        ->type_name("N")
        ->capture_default_str();
    add_zone_limits(simulate);

    std::vector<std::string> status_controls;
    std::vector<std::string> status_control_files;
    std::string status_token_file;
    CLI::App* status = app.add_subcommand(
        "status", "Print the member table of a running steerdns (its GET /status)");
    status
        ->add_option("--control", status_controls,
                     "ADDR:PORT of its control endpoint (default 127.0.0.1:8053); repeat it for "
                     "several servers: one table with each member's state on each server, "
                     "exit 3 when they differ, 1 when one does not answer")
        ->type_name("ADDR:PORT")
        ->allow_extra_args(false);
    status
        ->add_option("--control-file", status_control_files,
                     "A file of control endpoints, one ADDR:PORT per line (# comments), read as "
                     "as many --control")
        ->type_name("PATH")
        ->allow_extra_args(false);
    status
        ->add_option("--control-token-file", status_token_file,
                     "Token file, for a control endpoint on another host")
        ->type_name("PATH");
    std::vector<std::string> wait_drained;
    double wait_timeout = 600;
    CLI::Option* wait_option =
        status
            ->add_option("--wait-drained", wait_drained,
                         "Wait until this member is drained: out of answers and past the pool's "
                         "TTL, so no resolver still holds it (exit 0), or until --timeout (exit 1)")
            ->expected(3);
    status
        ->add_option("--timeout", wait_timeout,
                     "With --wait-drained: give up after this many seconds (default 600)")
        ->type_name("SECONDS")
        ->check(within(0.0, 86400.0))
        ->needs(wait_option);
    status->formatter(std::make_shared<CheckFormatter>());

    cli::WhyRequest why_request;
    CLI::App* why = app.add_subcommand(
        "why",
        "Print why a running steerdns answers NAME as it does (its GET /why): the "
        "decision trace, as dig TXT _why.NAME gives it");
    why->add_option("NAME", why_request.name, "A balanced name (or any name: it says what it is)")
        ->type_name("NAME")
        ->required();
    why->add_option("--type", why_request.type, "Trace the A or the AAAA selection")
        ->type_name("A|AAAA")
        ->check(CLI::IsMember({"A", "AAAA", "a", "aaaa"}))
        ->capture_default_str();
    why->add_option("--client", why_request.client,
                    "The asking client's address (default: 127.0.0.1)")
        ->type_name("ADDR");
    why->add_option("--ecs", why_request.ecs,
                    "Trace as if a resolver sent this EDNS Client Subnet, e.g. 198.51.100.0/24")
        ->type_name("NET");
    why->add_option("--control", why_request.control, "ADDR:PORT of its control endpoint")
        ->type_name("ADDR:PORT")
        ->capture_default_str();
    why->add_option("--control-token-file", why_request.token_file,
                    "Token file, for a control endpoint on another host")
        ->type_name("PATH");

    std::vector<std::string> failback_member;
    std::string failback_control = "127.0.0.1:8053";
    std::string failback_token_file;
    CLI::App* failback = app.add_subcommand(
        "failback",
        "Let a member awaiting failback (a pool's \"failback\": \"manual\") back into the "
        "answers of a running steerdns (its POST /failback)");
    failback_member.resize(3);
    failback->add_option("ZONE", failback_member[0], "The member's zone")->required();
    failback->add_option("POOL", failback_member[1], "Its pool")->required();
    failback->add_option("ADDRESS", failback_member[2], "Its address, as the pool has it")
        ->required();
    failback->add_option("--control", failback_control, "ADDR:PORT of its control endpoint")
        ->type_name("ADDR:PORT")
        ->capture_default_str();
    failback
        ->add_option("--control-token-file", failback_token_file,
                     "Token file, for a control endpoint on another host")
        ->type_name("PATH");
    // `keys`: DNSSEC keys in BIND's format (README "DNSSEC"); src/cli/keys.cc.
    CLI::App* keys = app.add_subcommand(
        "keys", "DNSSEC keys: create a zone's keys, print the DS records its parent needs");
    keys->require_subcommand(1);
    dnssec::KeygenRequest keygen;
    CLI::App* keys_create = keys->add_subcommand(
        "create", "Write a new CSK (or a KSK and a ZSK) for ZONE in BIND's format into --dir");
    keys_create->add_option("ZONE", keygen.zone, "The zone, e.g. lb.example.test")
        ->type_name("ZONE")
        ->required();
    keys_create
        ->add_option("--dir", keygen.dir,
                     "Key directory (created 0700 when missing); the zone's \"dnssec\" \"keys\"")
        ->type_name("DIR")
        ->required();
    keys_create
        ->add_option("--algorithm", keygen.algorithm,
                     "13 ECDSAP256SHA256 (default), 15 ED25519 or 8 RSASHA256")
        ->type_name("N")
        ->check(CLI::IsMember({13, 15, 8}).description(""));
    keys_create->add_flag("--ksk-zsk", keygen.ksk_zsk,
                          "A KSK (flags 257) and a ZSK (256) instead of one CSK");
    std::string keys_ds_path;
    CLI::App* keys_ds = keys->add_subcommand(
        "ds", "Print the DS records (SHA-256) of a zone's key-signing keys, for its parent");
    keys_ds
        ->add_option("PATH", keys_ds_path,
                     "A signed zone file (its \"dnssec\" \"keys\"), a key directory or a .key file")
        ->type_name("PATH")
        ->required();

    app.footer(
        "Signals: SIGHUP re-reads every zone file; SIGUSR1 reopens --query-log; SIGTERM or SIGINT "
        "stops.\nExit status: 0 stopped cleanly or all files good; 1 cannot start, or `check` "
        "found problems; 2 bad command line.\nSee steerdns(8).");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help and --version end here with 0; every usage error exits 2, as is usual.
        return app.exit(e) == 0 ? 0 : 2;
    }
    zone::set_zone_limits(zone_limits);  // before any zone is read, `check` included
    opts.rrl_ipv4_prefix = static_cast<uint8_t>(rrl_ipv4_prefix);
    opts.rrl_ipv6_prefix = static_cast<uint8_t>(rrl_ipv6_prefix);

    if (check->parsed() && !diff_paths.empty())
        return cli::run_diff(diff_paths[0], diff_paths[1], diff_json, std::cout, std::cerr);
    if (check->parsed()) return cli::run_check(check_paths, std::cout, std::cerr);
    if (keys_create->parsed()) {
        keygen.now = util::unix_ms_now() / 1000;
        return cli::run_keys_create(keygen, std::cout, std::cerr);
    }
    if (keys_ds->parsed())
        return cli::run_keys_ds(keys_ds_path, util::unix_ms_now() / 1000, std::cout, std::cerr);
    if (why->parsed()) return cli::run_why_command(why_request, std::cout, std::cerr);
    if (failback->parsed())
        return cli::run_failback(failback_control, failback_token_file, failback_member[0],
                                 failback_member[1], failback_member[2], std::cout, std::cerr);
    if (simulate->parsed()) {
        for (const std::string& c : sim_clients) {
            cli::ClientSource source;
            std::string error;
            if (!cli::parse_client_source(c, source, error)) {
                std::cerr << "steerdns: --clients " << error << "\n";
                return 2;
            }
            sim.clients.push_back(source);
        }
        sim.paths = {sim_path};
        sim.rrtype = sim_type == "AAAA" ? dns::type::AAAA : dns::type::A;
        return cli::run_simulate(sim, std::cout, std::cerr);
    }
    if (status->parsed()) {
        for (const std::string& f : status_control_files) {
            std::string error;
            if (!cli::read_control_file(f, status_controls, error)) {
                std::cerr << "steerdns status: --control-file " << error << "\n";
                return 2;
            }
        }
        if (status_controls.empty()) status_controls.push_back("127.0.0.1:8053");
    }
    if (status->parsed() && !wait_drained.empty()) {
        if (status_controls.size() > 1) {
            std::cerr << "steerdns status: --wait-drained waits on one server: give one "
                         "--control (run it once per server)\n";
            return 2;
        }
        return cli::run_wait_drained(status_controls[0], status_token_file, wait_drained[0],
                                     wait_drained[1], wait_drained[2], wait_timeout, std::cout,
                                     std::cerr);
    }
    if (status->parsed() && status_controls.size() > 1) {
        return cli::run_merged_status(status_controls, status_token_file, std::cout, std::cerr,
                                      isatty(STDOUT_FILENO) == 1);
    }
    if (status->parsed()) {
        return cli::run_status_command(status_controls[0], status_token_file, std::cout, std::cerr,
                                       isatty(STDOUT_FILENO) == 1);
    }
    if (opts.zones_dir.empty()) {
        std::cerr << "steerdns: --zones DIR is required to serve (see --help)\n";
        return 2;
    }

    util::LogLevel level;
    util::parse_log_level(log_level, level);
    util::set_log_level(level);
    opts.threads = threads;
    opts.probe_io = probe_io == "uring"   ? health::ProbeIo::uring
                    : probe_io == "libuv" ? health::ProbeIo::libuv
                                          : health::ProbeIo::automatic;
    for (auto [text, cpus, flag] : {std::tuple{&worker_cpus, &opts.worker_cpus, "--worker-cpus"},
                                    std::tuple{&probe_cpus, &opts.probe_cpus, "--probe-cpus"}}) {
        std::string error;
        if (!text->empty() && !util::parse_cpu_list(*text, *cpus, error)) {
            std::cerr << "steerdns: " << flag << " " << *text << ": " << error << "\n";
            return 2;
        }
    }
    for (const std::string& l : listen) {
        util::ListenAddr at;
        std::string error;
        if (!util::parse_listen(l, at, error)) {
            std::cerr << "steerdns: --listen " << l << ": " << error << "\n";
            return 2;
        }
        opts.listen.push_back(at);
    }
    if (!nsid.empty()) {
        std::string error;
        if (!dns::parse_nsid(nsid, opts.nsid, error)) {
            std::cerr << "steerdns: --nsid " << nsid << ": " << error << "\n";
            return 2;
        }
    }
    if (control_addr == "off") {
        opts.control_enabled = false;
    } else {
        std::string error;
        if (!util::parse_listen(control_addr, opts.control, error)) {
            std::cerr << "steerdns: --control " << control_addr << ": " << error
                      << " (ADDR:PORT, or off)\n";
            return 2;
        }
    }
    if (!explain_from.empty()) {
        std::string error;
        if (!lb::parse_net_list(explain_from, opts.explain_from, error)) {
            std::cerr << "steerdns: --explain-from " << explain_from << ": " << error << "\n";
            return 2;
        }
    }
    if (!read_from.empty()) {
        std::string error;
        if (!control::parse_read_from(read_from, opts.control_read_from, error)) {
            std::cerr << "steerdns: --control-read-from " << read_from << ": " << error << "\n";
            return 2;
        }
    }
    for (const std::string& peer : peer_status) {
        std::string url;
        std::string error;
        if (!control::parse_peer_url(peer, url, error)) {
            std::cerr << "steerdns: --peer-status " << peer << ": " << error << "\n";
            return 2;
        }
        opts.peer_status.push_back(std::move(url));
    }
    if (!token_file.empty()) {
        std::string token;
        std::string error;
        if (!control::read_token_file(token_file, token, error)) {
            // The option is well-formed; the file is what is wrong, as with an unreadable zone
            // directory or a port in use: a start failure, logged like the others.
            util::log_error("cannot start", {{"error", "--control-token-file " + error}});
            return 1;
        }
        opts.control_token = std::move(token);
    }
    try {
        server::Server srv(std::move(opts));
        return srv.run();
    } catch (const std::exception& e) {
        util::log_error("cannot start", {{"error", e.what()}});
        return 1;
    }
}
