#!/usr/bin/env bash
# The whole performance comparison in one command (see bench/README.md):
#   1. ../shared/bench/peers.sh: NSD, Knot DNS, gdnsd, PowerDNS (static and LUA records), the
#      no-DNS reflector and steerdns serving the same zone with three policies (weighted like
#      gdnsd's DYNA, round-robin, geo), 1 worker pinned, dnsperf and blaster, UDP and TCP,
#      interleaved rounds;
#   2. bench/ecs.sh: geo answers with and without an EDNS Client Subnet option;
#   3. bench/scaling.sh: 1 and 2 workers, unpinned; p50/p99 latency at a fixed rate;
#   4. bench/probe_load.sh: QPS while 10 000 members are probed every second (both placements);
#      bench/probe_gap.py: the worst gap between two probes of one target (10 000 members), and
#      daemon CPU per probe for tcp, http with keepalive and http without;
#      ../shared/bench/probe_peers.sh: CPU per tcp probe against gdnsd's, same rate and rounds;
#      bench/query_log.sh: QPS with --query-log sampling 1 in 100 and logging every query;
#      build-bench/probe_uring (optional, skipped when not built with -DSTEERDNS_BENCH=ON): CPU
#      per tcp probe by libuv, io_uring and epoll;
#   5. bench/status_poll.sh: QPS of the balanced name (10 000 members) while /status is fetched
#      every 2 s, against no polling;
#   6. bench/scale.py: load time and resident memory for 10 000 pools / 100 000 members (after
#      load, 1, 5 and 20 reloads, and the peak of each), and reloads of a 10 000-member zone;
#   7. bench/dnssec.sh: signed against unsigned answers of the same binary (balanced and
#      NXDOMAIN, DO=1 warm), PowerDNS signing a LUA record live, Knot serving a pre-signed zone;
#   8. bench/report.py: the tables (report.md) and the chart (chart.png) from all of the above.
#
#   bench/run.sh [--out DIR] [--quick] [--skip peers,ecs,scaling,probe,uring,qlog,status,scale,dnssec]
#
# --quick: 1 round of 2 s per run, for trying the pipeline (minutes instead of ~40).
# PEER_TARGETS=a,b,c: a subset of the peers.sh targets (default: all of them).
# Needs a Release build (cmake -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j)
# and the packages .ci/install-deps installs plus nsd knot gdnsd pdns-server pdns-backend-bind
# gnuplot-nox liburing-dev (installed here when missing; liburing-dev is for probe_uring).
# PROBE_URING=path: the probe_uring binary (default: build-bench/ or build/probe_uring).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/bench/results/$(date +%F)"
QUICK=0
SKIP=""
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT="$2"; shift 2 ;;
        --quick) QUICK=1; shift ;;
        --skip) SKIP="$2"; shift 2 ;;
        *) echo "usage: $0 [--out DIR] [--quick] [--skip peers,ecs,scaling,probe,uring,qlog,status,scale,dnssec]" >&2; exit 2 ;;
    esac
done
skip() { [[ ",$SKIP," == *",$1,"* ]]; }
PEERS="${PEERS:-$ROOT/../shared/bench/peers.sh}"
[ -f "$PEERS" ] || { echo "bench/run.sh: $PEERS not found (set PEERS=)" >&2; exit 1; }
BIN="${STEERDNS_BIN:-$ROOT/build/steerdns}"
[ -x "$BIN" ] || { echo "bench/run.sh: $BIN missing; build first: cmake -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j" >&2; exit 1; }

need=()
for p in nsd knot gdnsd pdns-server pdns-backend-bind gnuplot-nox dnsperf bind9-dnsutils time ldnsutils \
    liburing-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "bench/run.sh: installing ${need[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

mkdir -p "$OUT"
if [ "$QUICK" = 1 ]; then
    ROUNDS=1; DURATION=2; PROBE_ROUNDS=1; PROBE_DURATION=3; RELOADS=5
else
    # 5 rounds: issue 17's UDP target is a median of 5 per-round ratios.
    ROUNDS="${ROUNDS:-5}"; DURATION="${DURATION:-5}"; PROBE_ROUNDS=3; PROBE_DURATION=8; RELOADS=50
fi
{
    echo "date: $(date -u +%FT%TZ)"
    echo "steerdns: $("$BIN" --version) ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown))"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
    echo "kernel: $(uname -r)"
    echo "os: $(. /etc/os-release; echo "$PRETTY_NAME")"
    for p in nsd knot gdnsd pdns-server dnsperf libuv1 libldns3 g++-12; do
        echo "$p: $(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo n/a)"
    done
} > "$OUT/machine.txt"

EXTRA=()
steerdns_target() {  # name port zones-subdir
    EXTRA+=(--extra "$1" "$2" "exec $BIN --listen 127.0.0.1:{PORT} --control off --threads 1 --log-level warn --zones $ROOT/bench/zones/$3")
}
steerdns_target steerdns 25320 weighted
steerdns_target steerdns-rr 25321 round-robin
steerdns_target steerdns-geo 25322 geo

if ! skip peers; then
    echo "== peers: $ROUNDS rounds x $DURATION s" >&2
    ROUNDS="$ROUNDS" DURATION="$DURATION" bash "$PEERS" --out "$OUT/peers" \
        --only "${PEER_TARGETS:-nsd,knot,gdnsd,pdns-static,pdns-lua,pdns-lua-shared,reflector-mmsg,steerdns,steerdns-rr,steerdns-geo}" \
        "${EXTRA[@]}" > "$OUT/peers.log" 2>&1 || { tail -20 "$OUT/peers.log" >&2; exit 1; }
    grep -E 'CHECK FAILED|WARNING' "$OUT/peers.log" >&2 || true
fi
if ! skip ecs; then
    echo "== ecs" >&2
    ROUNDS="$ROUNDS" DURATION="$DURATION" bash "$ROOT/bench/ecs.sh" --binary "$BIN" --out "$OUT/ecs.tsv"
fi
if ! skip scaling; then
    echo "== scaling" >&2
    ROUNDS="$ROUNDS" DURATION="$DURATION" bash "$ROOT/bench/scaling.sh" --binary "$BIN" --out "$OUT/scaling.tsv" \
        --latency-out "$OUT/latency.tsv"
fi
if ! skip probe; then
    for placement in shared split; do
        echo "== probe load ($placement)" >&2
        bash "$ROOT/bench/probe_load.sh" --binary "$BIN" --rounds "$PROBE_ROUNDS" \
            --duration "$PROBE_DURATION" --placement "$placement" --out "$OUT/probe-$placement.txt"
    done
    # The spread of 10 000 probes over their interval (worst gap), and CPU per probe by type.
    gap_args=()
    [ "$QUICK" = 1 ] && gap_args=(--duration 10)
    echo "== probe gap" >&2
    /usr/bin/python3 "$ROOT/bench/probe_gap.py" --binary "$BIN" "${gap_args[@]}" > "$OUT/probe-gap.txt"
    echo "== probe CPU by check type" >&2
    /usr/bin/python3 "$ROOT/bench/probe_gap.py" --mode cpu --binary "$BIN" "${gap_args[@]}" \
        > "$OUT/probe-cpu.txt"
    # CPU per tcp probe against gdnsd's tcp_connect at the same rate (10 000 members every 2 s).
    PROBE_PEERS="${PROBE_PEERS:-$(dirname "$PEERS")/probe_peers.sh}"
    if [ -f "$PROBE_PEERS" ]; then
        echo "== probe peers (steerdns against gdnsd)" >&2
        peer_args=(--rounds 5 --duration 5)
        [ "$QUICK" = 1 ] && peer_args=(--rounds 1 --duration 3 --no-verify)
        bash "$PROBE_PEERS" "${peer_args[@]}" --steer-intervals 2 --binary "$BIN" \
            --out "$OUT/probe-peers.txt" > "$OUT/probe-peers.log" 2>&1 || tail -20 "$OUT/probe-peers.log" >&2
    else
        echo "== probe peers: $PROBE_PEERS not found, skipped" >&2
    fi
fi
if ! skip uring; then
    # A tcp probe by libuv (tcp_check.cc's calls), io_uring and epoll; a program of its own,
    # built only with -DSTEERDNS_BENCH=ON, so optional.
    uring_bin="${PROBE_URING:-}"
    for candidate in "$ROOT/build-bench/probe_uring" "$ROOT/build/probe_uring"; do
        if [ -z "$uring_bin" ] && [ -x "$candidate" ]; then uring_bin="$candidate"; fi
    done
    if [ -n "$uring_bin" ] && [ -x "$uring_bin" ]; then
        echo "== probe_uring" >&2
        uring_args=()
        [ "$QUICK" = 1 ] && uring_args=(--rounds 1 --targets 2000)
        "$uring_bin" "${uring_args[@]}" > "$OUT/probe-uring.txt"
    else
        echo "== probe_uring: skipped (not built: cmake -S . -B build-bench -DSTEERDNS_BENCH=ON" \
            "-DSTEERDNS_TESTS=OFF && cmake --build build-bench --target probe_uring)" >&2
    fi
fi
if ! skip qlog; then
    echo "== query log" >&2
    bash "$ROOT/bench/query_log.sh" --binary "$BIN" --rounds "$PROBE_ROUNDS" \
        --duration "$PROBE_DURATION" --out "$OUT/query-log.txt"
fi
if ! skip status; then
    echo "== status poll" >&2
    bash "$ROOT/bench/status_poll.sh" --binary "$BIN" --rounds "$PROBE_ROUNDS" \
        --duration "$PROBE_DURATION" --out "$OUT/status-poll.txt"
fi
if ! skip scale; then
    echo "== scale" >&2
    /usr/bin/python3 "$ROOT/bench/scale.py" --binary "$BIN" --reloads "$RELOADS" --out "$OUT/scale.txt"
fi
if ! skip dnssec; then
    echo "== dnssec" >&2
    ROUNDS="$ROUNDS" DURATION="$DURATION" bash "$ROOT/bench/dnssec.sh" --binary "$BIN" \
        --out "$OUT/dnssec.tsv" > "$OUT/dnssec.txt"
fi
/usr/bin/python3 "$ROOT/bench/report.py" "$OUT"
echo "bench/run.sh: results in $OUT (report.md, chart.png)" >&2
