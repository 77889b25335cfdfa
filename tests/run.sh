#!/usr/bin/env bash
# Runs every test: installs missing packages, builds a Release tree and an ASan+UBSan tree,
# and runs the unit and end-to-end tests (CTest) in both.
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
exit $status
