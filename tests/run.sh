#!/usr/bin/env bash
# Runs every test: installs missing packages, builds a Release tree and an ASan+UBSan tree,
# and runs the unit, end-to-end and differential (NSD) tests (CTest) in both; then builds the
# libFuzzer harnesses with clang and runs each for FUZZ_SECONDS (default 30 here;
# tests/fuzz/run.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
"$ROOT/.ci/install-deps"
JOBS="$(nproc)"
status=0
for variant in release asan; do
    dir="build-test-$variant"
    if [ "$variant" = release ]; then flags=(-DCMAKE_BUILD_TYPE=Release)
    else flags=(-DCMAKE_BUILD_TYPE=Debug -DSTEERDNS_SANITIZE=ON); fi
    echo "== $variant: build" >&2
    cmake -S . -B "$dir" "${flags[@]}" >/dev/null
    cmake --build "$dir" -j "$JOBS" >/dev/null
    echo "== $variant: test" >&2
    # halt_on_error makes any sanitizer report fail the test that triggered it.
    ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        ctest --test-dir "$dir" --output-on-failure -j "$JOBS" || status=1
done
echo "== fuzz" >&2
# 30 s per harness keeps the whole run near 9 minutes on a 2-core machine (the fuzz tree
# builds in about 1.3 min); tests/fuzz/run.sh alone defaults to 60 s.
FUZZ_SECONDS="${FUZZ_SECONDS:-30}" tests/fuzz/run.sh || status=1
exit $status
