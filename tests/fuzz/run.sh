#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang-14, ASan+UBSan, in build-fuzz) and runs each for
# FUZZ_SECONDS (default 60) on a temporary copy of its seed corpus (the committed corpus never
# grows), two harnesses at a time. Any crash, leak, timeout or sanitizer report fails the run;
# the input that caused it is kept in build-fuzz/artifacts/. Prints the executions per harness.
#
#   tests/fuzz/run.sh                    # all three, 60 s each
#   FUZZ_BUILD_ONLY=1 tests/fuzz/run.sh  # only build them
#   FUZZ_BUILD_DIR=build-test-asan FUZZ_NO_BUILD=1 tests/fuzz/run.sh  # run harnesses built
#                                        # elsewhere (tests/run.sh: in its sanitizer tree)
#   FUZZ_SECONDS=600 tests/fuzz/run.sh fuzz_query
#   build-fuzz/fuzz_query build-fuzz/artifacts/crash-...   # replay one input
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
FUZZ="$ROOT/tests/fuzz"
BUILD="${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
SECONDS_EACH="${FUZZ_SECONDS:-60}"
HARNESSES=("$@")
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=(fuzz_query fuzz_zone fuzz_ecs)

if [ -n "${FUZZ_NO_BUILD:-}" ]; then
    for h in "${HARNESSES[@]}"; do
        [ -x "$BUILD/$h" ] || { echo "fuzz: $BUILD/$h is not built" >&2; exit 1; }
    done
else
    echo "== fuzz: build ($BUILD)" >&2
    CC=clang-14 CXX=clang++-14 cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug \
        "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g" -DSTEERDNS_FUZZ=ON -DSTEERDNS_TESTS=OFF >/dev/null
    cmake --build "$BUILD" -j "$(nproc)" --target "${HARNESSES[@]}" >/dev/null
fi
[ -z "${FUZZ_BUILD_ONLY:-}" ] || exit 0

# Longest input per harness: a UDP query slot (TCP queries are rarely longer), a zone file of a
# few hundred lines, an ECS option with room to spare.
declare -A MAX_LEN=([fuzz_query]=4096 [fuzz_zone]=16384 [fuzz_ecs]=256)
declare -A EXTRA=([fuzz_zone]="-dict=$FUZZ/zone.dict")

WORK="$(mktemp -d "${TMPDIR:-/tmp}/steerdns-fuzz.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$BUILD/artifacts"

run_one() {
    local h="$1" dir="$WORK/$1"
    mkdir -p "$dir/corpus"
    cp -r "$FUZZ/corpus/$h/." "$dir/corpus/"
    # halt_on_error: the first report ends the run with a failure; detect_leaks: a leak too.
    # ${EXTRA[$h]:-} is unquoted on purpose: it is empty or one flag without spaces.
    # shellcheck disable=SC2086
    ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$BUILD/$h" -max_total_time="$SECONDS_EACH" -max_len="${MAX_LEN[$h]}" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$h-" \
        ${EXTRA[$h]:-} "$dir/corpus" >"$dir/log" 2>&1
}

report() {
    local h="$1" rc="$2" log="$WORK/$1/log"
    local runs seconds corpus
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    seconds="$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)"
    corpus="$(find "$WORK/$h/corpus" -type f | wc -l)"
    if [ "$rc" -eq 0 ]; then
        echo "fuzz: $h: ${runs:-?} executions in ${seconds:-?} s, corpus $(find "$FUZZ/corpus/$h" -type f | wc -l) -> $corpus inputs, no crash"
    else
        echo "fuzz: $h: FAILED (exit $rc) after ${runs:-?} executions; input kept in $BUILD/artifacts/"
        grep -E "ERROR|SUMMARY|runtime error|invariant broken|^==[0-9]+==|#[0-9]+ " "$log" | head -60
        tail -5 "$log"
    fi
}

status=0
passed=0
failed=0
i=0
while [ $i -lt ${#HARNESSES[@]} ]; do
    # Two at a time: the CI machine has two cores.
    batch=("${HARNESSES[@]:$i:2}")
    echo "== fuzz: ${batch[*]} (${SECONDS_EACH} s each)" >&2
    pids=()
    for h in "${batch[@]}"; do
        run_one "$h" &
        pids+=($!)
    done
    for k in "${!batch[@]}"; do
        rc=0
        wait "${pids[$k]}" || rc=$?
        report "${batch[$k]}" "$rc"
        if [ "$rc" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
    done
    i=$((i + 2))
done
echo "fuzz: $passed passed, $failed failed"
exit $status
