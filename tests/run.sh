#!/usr/bin/env bash
# Runs every test: installs missing packages, checks the C++ formatting (clang-format-14), builds
# an ASan+UBSan tree (clang-14, with the libFuzzer harnesses in it) and a Release tree (g++, the
# compiler steerdns ships with) and runs the unit, end-to-end and differential (NSD) tests
# (CTest) in both, then runs each fuzz harness for FUZZ_SECONDS (default 20 here;
# tests/fuzz/run.sh). Prints the wall time of every stage and the total; exits 1 when anything
# failed.
#
# On two cores the builds are the long part and the tests mostly wait (servers, timers,
# subprocesses), so each tree's tests run while the next tree builds or the fuzzers run:
#   asan build | asan tests + release build | release tests + fuzz run
# clang compiles the sanitizer tree in well under g++'s time, and building the harnesses in it
# saves the third tree a separate fuzz build would need.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
JOBS="$(nproc)"
# The tests wait more than they compute: twice the cores keeps them moving beside a build.
TEST_JOBS="${TEST_JOBS:-$((JOBS * 2))}"
LOGS="$(mktemp -d "${TMPDIR:-/tmp}/steerdns-run.XXXXXX")"
bg_pids=()
cleanup() {
    for pid in "${bg_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$LOGS"
}
trap cleanup EXIT
START="$(date +%s)"
status=0
failed=()

elapsed() { echo $(($(date +%s) - $1)); }
# Timings mean little on a busy machine: each stage's line shows the load average too.
load() { echo "load $(cut -d' ' -f1-3 /proc/loadavg)"; }

# stage NAME COMMAND...: runs COMMAND in the foreground and prints its wall time.
stage() {
    local name="$1" t0 rc=0
    shift
    t0="$(date +%s)"
    echo "== $name ..." >&2
    "$@" || rc=$?
    echo "== $name: $(elapsed "$t0") s$([ $rc -eq 0 ] || echo " (FAILED, exit $rc)"); $(load)" >&2
    if [ $rc -ne 0 ]; then
        status=1
        failed+=("$name")
    fi
    return $rc
}

# Ninja: it keeps both cores busy through each library's tail where make -j2 idles (about 30 s
# less per tree here). A tree configured another way (generator, compiler) starts afresh.
configure() {
    local dir="$1" compiler="${CXX:-c++}"
    shift
    if [ -f "$dir/CMakeCache.txt" ] && ! { grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' \
        "$dir/CMakeCache.txt" && grep -q "^CMAKE_CXX_COMPILER:.*$compiler\$" "$dir/CMakeCache.txt"; }; then
        rm -rf "$dir"
    fi
    cmake -S . -B "$dir" -G Ninja "$@" >"$LOGS/configure-$dir.log" 2>&1 || {
        cat "$LOGS/configure-$dir.log"
        return 1
    }
}

# Only the compiler's messages (stderr) reach the terminal. Niced: the tests running beside a
# build have timing bounds (health probes, rate limits); the build only needs throughput.
build() { nice -n 15 cmake --build "$1" -j "$JOBS" >/dev/null; }

# The tests of one tree, in the background; their output is kept and shown at collect_tests.
start_tests() {
    local variant="$1"
    (
        t0="$(date +%s)"
        rc=0
        # halt_on_error makes any sanitizer report fail the test that triggered it.
        ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
            ctest --test-dir "build-test-$variant" --output-on-failure -j "$TEST_JOBS" \
            >"$LOGS/ctest-$variant.log" 2>&1 || rc=$?
        elapsed "$t0" >"$LOGS/ctest-$variant.time"
        exit $rc
    ) &
    bg_pids+=($!)
    echo "== $variant ctest ... (in the background)" >&2
}

collect_tests() {
    local variant="$1" pid="$2" rc=0
    wait "$pid" || rc=$?
    cat "$LOGS/ctest-$variant.log"
    echo "== $variant ctest: $(cat "$LOGS/ctest-$variant.time" 2>/dev/null || echo "?") s$(
        [ $rc -eq 0 ] || echo " (FAILED, exit $rc)")" >&2
    if [ $rc -ne 0 ]; then
        status=1
        failed+=("$variant ctest")
    fi
}

# Every git-tracked C++ file as .clang-format wants it; lists the ones that differ.
check_format() {
    if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        echo "clang-format: not a git checkout, skipped" >&2
        return 0
    fi
    local files
    files="$(git ls-files -z -- '*.cc' '*.h' | xargs -0 clang-format-14 --dry-run --Werror 2>&1 |
        sed -n 's/^\([^: ]*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' |
        sort -u)" || true
    if [ -n "$files" ]; then
        echo "clang-format: these files differ from .clang-format (clang-format-14 -i FILE):" >&2
        echo "$files" | sed 's/^/  /' >&2
        return 1
    fi
}

stage install-deps "$ROOT/.ci/install-deps"
stage clang-format check_format || true

# The ASan tree: Debug, so assert() stays on (no NDEBUG); -O1, which clang compiles in 1.3 times
# -O0's time and which runs the fuzzers many times faster (libFuzzer's advice); -g1 (line
# tables: sanitizer reports keep file:line) compiles faster than -g. STEERDNS_FUZZ adds the
# coverage instrumentation and the harnesses.
asan_ok=1
stage "asan build" eval 'CC=clang-14 CXX=clang++-14 configure build-test-asan \
    -DCMAKE_BUILD_TYPE=Debug -DSTEERDNS_SANITIZE=ON -DSTEERDNS_FUZZ=ON \
    "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1" && build build-test-asan' || asan_ok=0
[ $asan_ok -eq 0 ] || {
    start_tests asan
    asan_tests=$!
}
release_ok=1
# The unit tests run in the sanitizer tree only (ASan+UBSan judge the same logic more strictly);
# the Release tree runs what depends on the shipped build: the end-to-end tests, the
# differential test and the no-allocation test of the query path.
stage "release build" eval 'configure build-test-release -DCMAKE_BUILD_TYPE=Release \
    -DSTEERDNS_UNIT_TESTS=OFF && build build-test-release' || release_ok=0
[ $asan_ok -eq 0 ] || collect_tests asan "$asan_tests"
[ $release_ok -eq 0 ] || {
    start_tests release
    release_tests=$!
}
# 20 s per harness, two at a time (tests/fuzz/run.sh alone defaults to 60 s), niced beside the
# Release tests as the builds are.
[ $asan_ok -eq 0 ] || stage "fuzz run" nice -n 15 env FUZZ_SECONDS="${FUZZ_SECONDS:-20}" \
    FUZZ_BUILD_DIR="$ROOT/build-test-asan" FUZZ_NO_BUILD=1 tests/fuzz/run.sh || true
[ $release_ok -eq 0 ] || collect_tests release "$release_tests"

echo "== total: $(elapsed "$START") s$([ $status -eq 0 ] || echo "; failed: ${failed[*]}"); $(load)" >&2
exit $status
