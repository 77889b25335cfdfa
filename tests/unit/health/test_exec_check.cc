// exec checks on a real loop: exit codes, the timeout that kills the process group, and
// the substitution of {address} and {port}.
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "attempt_runner.h"

namespace steerdns::test {
namespace {

health::CheckDef exec_check(std::vector<std::string> command, uint32_t timeout_ms = 2000) {
    health::CheckDef c;
    c.type = health::CheckType::exec;
    c.command = std::move(command);
    c.timeout_ms = timeout_ms;
    return c;
}

health::AttemptResult run_exec(std::vector<std::string> command, uint32_t timeout_ms = 2000) {
    AttemptRunner r;
    return r.run(health::make_exec_attempt(
        r.loop(), loopback_target(exec_check(std::move(command), timeout_ms)), r.done()));
}

// Gone, or a zombie nobody reaped yet: either way no longer running.
bool process_ended(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return true;
    std::string line;
    std::getline(stat, line);
    const size_t paren = line.rfind(')');
    return paren == std::string::npos || line.substr(paren + 2, 1) == "Z";
}

}  // namespace

TEST_CASE("exec check: exit 0 is up, any other exit is down") {
    auto res = run_exec({"/bin/true"});
    CHECK(res.ok);
    CHECK(res.reason == "exec: exit 0");
    CHECK(res.seconds < 2);
    res = run_exec({"/bin/false"});
    CHECK_FALSE(res.ok);
    CHECK(res.reason == "exec: exit 1");
    res = run_exec({"/bin/sh", "-c", "exit 7"});
    CHECK_FALSE(res.ok);
    CHECK(res.reason == "exec: exit 7");
}

TEST_CASE("exec check: a program that runs past the timeout is killed") {
    const auto res = run_exec({"/bin/sleep", "10"}, 200);
    CHECK_FALSE(res.ok);
    CHECK(res.reason == "exec: timeout after 0.2s (killed)");
    CHECK(res.seconds >= 0.19);
    CHECK(res.seconds < 2);
}

TEST_CASE("exec check: the timeout kills the whole process group, children included") {
    char dir[] = "/tmp/steerdns-exec-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    const std::string pidfile = std::string(dir) + "/child.pid";
    const auto res = run_exec({"/bin/sh", "-c", "sleep 10 & echo $! > " + pidfile + "; wait"}, 300);
    CHECK(res.reason == "exec: timeout after 0.3s (killed)");
    pid_t child = 0;
    std::ifstream(pidfile) >> child;
    ::unlink(pidfile.c_str());
    ::rmdir(dir);
    REQUIRE(child > 0);
    bool ended = false;
    for (int i = 0; i < 100 && !(ended = process_ended(child)); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(ended);
}

TEST_CASE("exec check: killed by a signal, and a program that cannot run") {
    auto res = run_exec({"/bin/sh", "-c", "kill -TERM $$"});
    CHECK_FALSE(res.ok);
    CHECK(res.reason == "exec: killed by signal 15");
    res = run_exec({"/nonexistent/check-program"});
    CHECK_FALSE(res.ok);
    CHECK(res.reason == "exec: cannot run /nonexistent/check-program: no such file or directory");
}

TEST_CASE("exec check: {address} and {port} are substituted in every argument") {
    health::CheckDef c =
        exec_check({"/bin/sh", "-c", "test \"$1 $2\" = \"127.0.0.1 8080\" && test \"$3\" = x8080y",
                    "sh", "{address}", "{port}", "x{port}y"});
    c.port = 8080;
    AttemptRunner r;
    auto res = r.run(health::make_exec_attempt(r.loop(), loopback_target(c), r.done()));
    CHECK(res.ok);
    c.port = 8081;
    res = r.run(health::make_exec_attempt(r.loop(), loopback_target(c), r.done()));
    CHECK_FALSE(res.ok);
    CHECK(res.reason == "exec: exit 1");
}

}  // namespace steerdns::test
