#!/usr/bin/env bash
# Runs the shared peer benchmark (../shared/bench/peers.sh) with steerdns as an extra target,
# serving bench/zones/ (the JSON twin of the peers' zone). Extra arguments go to peers.sh,
# e.g.  bench/run.sh --rounds 1 --duration 2 --only nsd,knot,gdnsd,reflector-mmsg,steerdns
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEERS="${PEERS:-$ROOT/../shared/bench/peers.sh}"
[ -x "$PEERS" ] || [ -f "$PEERS" ] || { echo "bench/run.sh: $PEERS not found (set PEERS=)" >&2; exit 1; }
BIN="${STEERDNS_BIN:-$ROOT/build/steerdns}"  # a Release build: cmake -B build -DCMAKE_BUILD_TYPE=Release
[ -x "$BIN" ] || { echo "bench/run.sh: $BIN missing; build first: cmake -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j" >&2; exit 1; }
THREADS="${STEERDNS_THREADS:-1}"
exec bash "$PEERS" --extra steerdns 25320 \
    "exec $BIN --listen 127.0.0.1:{PORT} --threads $THREADS --log-level warn --zones $ROOT/bench/zones" "$@"
