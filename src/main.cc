// steerdns command line: `serve` (the default) and `check`.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <set>
#include <thread>

#include "steerdns/server/cpu_affinity.h"
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
    std::string worker_cpus;
    std::string probe_cpus;
    app.add_option("--worker-cpus", worker_cpus,
                   "Pin worker threads to these CPUs, one each in turn (e.g. 1 or 0-3)");
    app.add_option("--probe-cpus", probe_cpus,
                   "Run the health prober on these CPUs (e.g. 0), away from the answering ones");
    CLI::App* serve = app.add_subcommand(
        "serve",
        "Serve the zones in --zones DIR (the default command); it takes --listen, --threads and "
        "the other options listed by `steerdns --help`");
    serve->fallthrough();

    std::vector<std::string> check_paths;
    CLI::App* check = app.add_subcommand(
        "check", "Validate zone files or directories; exit 0 if all are good, 1 otherwise");
    check->add_option("PATH", check_paths, "Zone file or directory")->required();

    CLI11_PARSE(app, argc, argv);

    if (check->parsed()) return run_check(check_paths);
    if (opts.zones_dir.empty()) {
        std::cerr << "steerdns: --zones DIR is required to serve (see --help)\n";
        return 2;
    }

    server::LogLevel level;
    server::parse_log_level(log_level, level);
    server::set_log_level(level);
    opts.threads = threads;
    for (auto [text, cpus, flag] : {std::tuple{&worker_cpus, &opts.worker_cpus, "--worker-cpus"},
                                    std::tuple{&probe_cpus, &opts.probe_cpus, "--probe-cpus"}}) {
        std::string error;
        if (!text->empty() && !server::parse_cpu_list(*text, *cpus, error)) {
            std::cerr << "steerdns: " << flag << " " << *text << ": " << error << "\n";
            return 2;
        }
    }
    for (const std::string& l : listen) {
        server::ListenAddr at;
        std::string error;
        if (!server::parse_listen(l, at, error)) {
            std::cerr << "steerdns: --listen " << l << ": " << error << "\n";
            return 2;
        }
        opts.listen.push_back(at);
    }
    try {
        server::Server srv(std::move(opts));
        return srv.run();
    } catch (const std::exception& e) {
        server::log_error("cannot start", {{"error", e.what()}});
        return 1;
    }
}
