// `steerdns status` with several --control: the merged table and its exit code.
#include <doctest/doctest.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include "steerdns/cli/status_merge.h"

using namespace steerdns;
using nlohmann::json;

namespace {

json member(const std::string& address, const std::string& state, const std::string& reason) {
    return {{"address", address}, {"state", state}, {"reason", reason}};
}

// One server's /status: zone lb.example.test. with pool www of two members.
json doc(const std::string& second_state, const std::string& second_reason, uint32_t serial = 7,
         const std::string& sha = "aa11") {
    json pool = {{"name", "www"},
                 {"members",
                  {member("192.0.2.10", "up", "http GET /: status 200"),
                   member("192.0.2.11", second_state, second_reason)}}};
    json zone = {{"zone", "lb.example.test."},
                 {"serial", serial},
                 {"file_sha256", sha},
                 {"errors", json::array()},
                 {"pools", {pool}}};
    return {{"version", "0.1.0"}, {"zones", {zone}}, {"rejected_files", json::array()}};
}

cli::ServerView view(const std::string& control, json d) {
    cli::ServerView v;
    v.control = control;
    v.doc = std::move(d);
    return v;
}

}  // namespace

TEST_CASE("status merge: servers that agree, exit 0") {
    const cli::MergedStatus m =
        cli::merge_status({view("10.0.0.1:8053", doc("up", "http GET /: status 200")),
                           view("10.0.0.2:8053", doc("up", "http GET /: status 200"))},
                          false);
    CHECK(m.exit_code() == 0);
    CHECK(m.members == 2);
    CHECK(m.members_differ == 0);
    CHECK(m.text.find("\033") == std::string::npos);
    CHECK(std::regex_search(
        m.text, std::regex(R"(^ZONE +POOL +ADDRESS +10\.0\.0\.1:8053 +10\.0\.0\.2:8053 +NOTE\n)")));
    CHECK(std::regex_search(m.text, std::regex(R"(192\.0\.2\.11 +up +up\n)")));
    CHECK(m.text.find("2 members on 2 servers: 2 agree, 0 differ") != std::string::npos);
    CHECK(m.text.find("zone lb.example.test.: serial 7 sha256 aa11 on every server") !=
          std::string::npos);
}

TEST_CASE("status merge: a member down on one server only is marked, exit 3") {
    const cli::MergedStatus m = cli::merge_status(
        {view("10.0.0.1:8053", doc("up", "http GET /: status 200")),
         view("10.0.0.2:8053", doc("down", "http GET /: connect: connection refused"))},
        false);
    CHECK(m.exit_code() == 3);
    CHECK(m.members_differ == 1);
    CHECK(std::regex_search(m.text, std::regex(R"(192\.0\.2\.10 +up +up\n)")));
    CHECK(std::regex_search(
        m.text, std::regex(R"(192\.0\.2\.11 +up +down +differs; 10\.0\.0\.2:8053: http GET /: )"
                           R"(connect: connection refused\n)")));
    CHECK(m.text.find("2 members on 2 servers: 1 agree, 1 differs") != std::string::npos);
    const cli::MergedStatus colored = cli::merge_status(
        {view("10.0.0.1:8053", doc("up", "ok")), view("10.0.0.2:8053", doc("down", "refused"))},
        true);
    CHECK(colored.text.find("\033[1;31mdown\033[0m") != std::string::npos);
    CHECK(colored.text.find("\033[1;31mdiffers; 10.0.0.2:8053: refused\033[0m") !=
          std::string::npos);
}

TEST_CASE("status merge: a different serial or file hash is a difference, exit 3") {
    const cli::MergedStatus serial = cli::merge_status(
        {view("a:1", doc("up", "")), view("b:1", doc("up", "", 8, "aa11"))}, false);
    CHECK(serial.exit_code() == 3);
    CHECK(serial.members_differ == 0);
    CHECK(serial.zones_differ == 1);
    CHECK(serial.text.find("zone lb.example.test. differs: a:1 serial 7 sha256 aa11, b:1 serial 8 "
                           "sha256 aa11") != std::string::npos);
    // Same serial, other text: an edit that forgot the serial, or a sync that half happened.
    const cli::MergedStatus hash = cli::merge_status(
        {view("a:1", doc("up", "")), view("b:1", doc("up", "", 7, "bb22"))}, false);
    CHECK(hash.exit_code() == 3);
    CHECK(hash.zones_differ == 1);
}

TEST_CASE("status merge: a member or zone only one server has") {
    json other = doc("up", "");
    other["zones"][0]["pools"][0]["members"].erase(1);
    const cli::MergedStatus m =
        cli::merge_status({view("a:1", doc("up", "")), view("b:1", other)}, false);
    CHECK(m.exit_code() == 3);
    CHECK(std::regex_search(
        m.text, std::regex(R"(192\.0\.2\.11 +up +- +differs; b:1: not in its zone file)")));
    json none = doc("up", "");
    none["zones"] = json::array();
    const cli::MergedStatus z =
        cli::merge_status({view("a:1", doc("up", "")), view("b:1", none)}, false);
    CHECK(z.zones_differ == 1);
    CHECK(z.members_differ == 2);
    CHECK(z.text.find("b:1 not served") != std::string::npos);
}

TEST_CASE("status merge: a server that did not answer is listed, exit 1 over 3") {
    cli::ServerView down;
    down.control = "10.0.0.3:8053";
    down.error = "cannot reach the control endpoint at 10.0.0.3:8053: Connection refused";
    const cli::MergedStatus m =
        cli::merge_status({view("10.0.0.1:8053", doc("up", "")), down}, false);
    CHECK(m.exit_code() == 1);
    CHECK(m.not_answering == 1);
    CHECK(m.text.find("10.0.0.3:8053 ") == std::string::npos);  // no column for it
    CHECK(m.text.find("not answering: 10.0.0.3:8053: cannot reach") != std::string::npos);
    const cli::MergedStatus both =
        cli::merge_status({view("a:1", doc("up", "")), view("b:1", doc("down", "x")), down}, false);
    CHECK(both.members_differ == 1);
    CHECK(both.exit_code() == 1);
}

TEST_CASE("status merge: a server's rejected zone file is named with the server") {
    json d = doc("up", "");
    d["zones"][0]["errors"] = {"lb.json:3:5: zone.ttl: not a number"};
    d["rejected_files"] = {{{"file", "other.json"}, {"errors", {"bad"}}}};
    const cli::MergedStatus m =
        cli::merge_status({view("a:1", doc("up", "")), view("b:1", d)}, false);
    CHECK(m.text.find("b:1: zone lb.example.test.: file rejected, previous version serving: "
                      "lb.json:3:5") != std::string::npos);
    CHECK(m.text.find("b:1: not served: other.json") != std::string::npos);
}

TEST_CASE("status merge: --control-file") {
    char path[] = "/tmp/steerdns-controls-XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    {
        std::ofstream f(path);
        f << "# the NS set of lb.example.test.\n127.0.0.2:8053\n\n  127.0.0.3:8053  # ns2\n";
    }
    std::vector<std::string> controls;
    std::string error;
    CHECK(cli::read_control_file(path, controls, error));
    CHECK(controls == std::vector<std::string>{"127.0.0.2:8053", "127.0.0.3:8053"});
    {
        std::ofstream f(path);
        f << "127.0.0.2:8053\nnot-an-address\n";
    }
    controls.clear();
    CHECK_FALSE(cli::read_control_file(path, controls, error));
    CHECK(error.find(std::string(path) + ":2: not-an-address") == 0);
    {
        std::ofstream f(path);
        f << "# nothing\n";
    }
    CHECK_FALSE(cli::read_control_file(path, controls, error));
    CHECK(error.find("no ADDR:PORT") != std::string::npos);
    unlink(path);
    CHECK_FALSE(cli::read_control_file(path, controls, error));
}
