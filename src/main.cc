// steerdns command line: `serve` (the default), `check` and `status`.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <set>
#include <thread>

#include "steerdns/control/auth.h"
#include "steerdns/control/status_client.h"
#include "steerdns/server/log.h"
#include "steerdns/server/server.h"
#include "steerdns/server/zone_dir.h"
#include "steerdns/zone/compile.h"

namespace {

using namespace steerdns;

int run_check(const std::vector<std::string>& paths) {
    int problems = 0;
    std::map<std::string, std::string> apex_file;
    for (const std::string& p : paths) {
        std::string error;
        const std::vector<std::string> files = server::zone_files(p, error);
        if (!error.empty()) {
            std::cerr << error << "\n";
            ++problems;
            continue;
        }
        if (files.empty()) std::cerr << p << ": no *.json zone files\n";
        for (const std::string& f : files) {
            zone::CompileResult r = zone::load_zone(f);
            for (const zone::Diagnostic& d : r.diags) std::cerr << d.to_string() << "\n";
            problems += static_cast<int>(r.diags.size());
            if (!r.zone) continue;
            const std::string apex = r.zone->apex_text();
            auto [it, fresh] = apex_file.emplace(apex, f);
            if (!fresh) {
                std::cerr << f << ": zone " << apex << " is also defined in " << it->second << "\n";
                ++problems;
                continue;
            }
            std::cout << f << ": ok: zone " << apex << " serial " << r.zone->serial << ", "
                      << r.zone->pools.size()
                      << (r.zone->pools.size() == 1 ? " pool, " : " pools, ")
                      << r.zone->member_count()
                      << (r.zone->member_count() == 1 ? " member, " : " members, ")
                      << r.zone->nodes.size() << " names\n";
        }
    }
    if (problems > 0) std::cerr << problems << (problems == 1 ? " problem\n" : " problems\n");
    return problems == 0 ? 0 : 1;
}

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
    app.add_option("--zones", opts.zones_dir, "Directory of *.json zone files (required to serve)");
    app.add_option("--listen", listen, "ADDR:PORT for UDP and TCP, repeatable; IPv6 as [::1]:5300")
        ->capture_default_str();
    app.add_option("--threads", threads, "Worker threads (default: number of cores)")
        ->check(CLI::Range(1u, 256u));
    app.add_option("--log-level", log_level, "debug, info, warn or error")
        ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
        ->capture_default_str();
    app.add_option("--max-udp-payload", opts.max_udp_payload,
                   "Largest UDP response with EDNS, 512-4096 (1232 avoids fragmentation)")
        ->check(CLI::Range(512, 4096))
        ->capture_default_str();
    app.add_option("--tcp-idle-timeout", opts.tcp_idle_timeout,
                   "Seconds before an idle TCP connection is closed")
        ->check(CLI::Range(0.1, 3600.0))
        ->capture_default_str();
    app.add_option("--tcp-max-clients", opts.tcp_max_clients, "TCP connections per worker thread")
        ->check(CLI::Range(1u, 1000000u))
        ->capture_default_str();
    std::string control_addr = "127.0.0.1:8053";
    std::string token_file;
    app.add_option("--control", control_addr,
                   "ADDR:PORT of the HTTP control endpoint (/, /status, /metrics, POST /drain, "
                   "/undrain, /reload), or off")
        ->capture_default_str();
    app.add_option("--control-token-file", token_file,
                   "File holding the bearer token that POST requests, and reads from other hosts, "
                   "must send (without it, writes are refused)");
    CLI::App* serve = app.add_subcommand(
        "serve",
        "Serve the zones in --zones DIR (the default command); it takes --listen, --threads and "
        "the other options listed by `steerdns --help`");
    serve->fallthrough();

    std::vector<std::string> check_paths;
    CLI::App* check = app.add_subcommand(
        "check", "Validate zone files or directories; exit 0 if all are good, 1 otherwise");
    check->add_option("PATH", check_paths, "Zone file or directory")->required();

    std::string status_control = "127.0.0.1:8053";
    std::string status_token_file;
    CLI::App* status = app.add_subcommand(
        "status", "Print the member table of a running steerdns (its GET /status)");
    status->add_option("--control", status_control, "ADDR:PORT of its control endpoint")
        ->capture_default_str();
    status->add_option("--control-token-file", status_token_file,
                       "Token file, for a control endpoint on another host");

    CLI11_PARSE(app, argc, argv);

    if (check->parsed()) return run_check(check_paths);
    if (status->parsed()) {
        return control::run_status_command(status_control, status_token_file, std::cout, std::cerr,
                                           isatty(STDOUT_FILENO) == 1);
    }
    if (opts.zones_dir.empty()) {
        std::cerr << "steerdns: --zones DIR is required to serve (see --help)\n";
        return 2;
    }

    server::LogLevel level;
    server::parse_log_level(log_level, level);
    server::set_log_level(level);
    opts.threads = threads;
    for (const std::string& l : listen) {
        server::ListenAddr at;
        std::string error;
        if (!server::parse_listen(l, at, error)) {
            std::cerr << "steerdns: --listen " << l << ": " << error << "\n";
            return 2;
        }
        opts.listen.push_back(at);
    }
    if (control_addr == "off") {
        opts.control_enabled = false;
    } else {
        std::string error;
        if (!server::parse_listen(control_addr, opts.control, error)) {
            std::cerr << "steerdns: --control " << control_addr << ": " << error
                      << " (ADDR:PORT, or off)\n";
            return 2;
        }
    }
    if (!token_file.empty()) {
        std::string token;
        std::string error;
        if (!control::read_token_file(token_file, token, error)) {
            std::cerr << "steerdns: --control-token-file " << error << "\n";
            return 2;
        }
        opts.control_token = std::move(token);
    }
    try {
        server::Server srv(std::move(opts));
        return srv.run();
    } catch (const std::exception& e) {
        server::log_error("cannot start", {{"error", e.what()}});
        return 1;
    }
}
