#!/usr/bin/env bash
# Whether serving /status slows the workers (issue 17, part 3): QPS of the balanced name of a
# zone with N members (default 10 000, one pool "www") while a client fetches /status every
# 2 s (as the status page's full reload would), against the same server not polled, in
# interleaved rounds. /status is built and serialized on the control thread; at 10 000
# members it is several MB, so the question is what that costs the answering core.
#
# Placement (--placement): "shared" pins the whole steerdns process (worker and control
# thread) to SERVER_CPU, so every /status build lands on the core that answers; "split" pins
# only the worker there (--worker-cpus) and leaves the control thread unpinned. The load
# generator (blaster, from ../shared/bench/limit) and the poller (curl) run on CLIENT_CPU.
# Prints one line per run (QPS, server CPU per query, /status fetches and their mean time and
# size), then the median of per-round QPS ratios polled / quiet.
#
#   bench/status_poll.sh [--members N] [--rounds R] [--duration S] [--interval S]
#                        [--placement shared|split] [--binary PATH] [--out FILE]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MEMBERS=10000
ROUNDS=5
DURATION=10
INTERVAL=2
BINARY="$ROOT/build/steerdns"
OUT=""
PLACEMENT=shared
SERVER_CPU="${SERVER_CPU:-1}"
CLIENT_CPU="${CLIENT_CPU:-0}"
BLASTER_SRC="${BLASTER_SRC:-$ROOT/../shared/bench/limit/blaster.c}"
usage="usage: $0 [--members N] [--rounds R] [--duration S] [--interval S] [--placement shared|split] [--binary PATH] [--out FILE]"
while [ $# -gt 0 ]; do
    case "$1" in
        --members) MEMBERS="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --duration) DURATION="$2"; shift 2 ;;
        --interval) INTERVAL="$2"; shift 2 ;;
        --binary) BINARY="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --placement) PLACEMENT="$2"; shift 2 ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
[ -x "$BINARY" ] || { echo "status_poll: build first, or pass --binary" >&2; exit 1; }
[ -f "$BLASTER_SRC" ] || { echo "status_poll: $BLASTER_SRC missing (set BLASTER_SRC=)" >&2; exit 1; }
[ "$MEMBERS" -le 65535 ] || { echo "status_poll: at most 65535 members in one pool" >&2; exit 2; }
case "$PLACEMENT" in shared|split) ;; *) echo "$usage" >&2; exit 2 ;; esac

TMP="$(mktemp -d /tmp/steerdns-status-poll.XXXXXX)"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
cc -O2 -o "$TMP/blaster" "$BLASTER_SRC"

DNS_PORT="${DNS_PORT:-29453}"
CONTROL_PORT="${CONTROL_PORT:-29454}"
mkdir -p "$TMP/zones"
# No checks: every member is "unchecked", the answers do not depend on probes, and the
# /status document still has one entry per member.
/usr/bin/python3 - "$TMP/zones" "$MEMBERS" <<'EOF'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
members = [{"address": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"} for i in range(n)]
z = {"zone": "bench.test.", "ttl": 300,
     "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1},
     "ns": ["ns1"], "records": ["ns1 A 127.0.0.1"],
     "pools": {"www": {"ttl": 30, "answers": 1, "members": members}}}
json.dump(z, open(f"{d}/bench.test.json", "w"))
EOF
echo "www.bench.test A" > "$TMP/queries"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() {  # $1 = polled|quiet; prints "qps cpu_us_per_query fetches mean_fetch_s mean_bytes"
    local mode="$1"
    if [ "$PLACEMENT" = split ]; then
        "$BINARY" --worker-cpus "$SERVER_CPU" --zones "$TMP/zones" --listen "127.0.0.1:$DNS_PORT" \
            --control "127.0.0.1:$CONTROL_PORT" --threads 1 --log-level warn 2> "$TMP/$mode.log" &
    else
        taskset -c "$SERVER_CPU" "$BINARY" --zones "$TMP/zones" --listen "127.0.0.1:$DNS_PORT" \
            --control "127.0.0.1:$CONTROL_PORT" --threads 1 --log-level warn 2> "$TMP/$mode.log" &
    fi
    local pid=$!
    PIDS+=("$pid")
    for _ in $(seq 1 300); do
        curl -sf -o /dev/null "http://127.0.0.1:$CONTROL_PORT/status" 2>/dev/null && break
        sleep 0.1
    done
    : > "$TMP/$mode.fetches"
    local poller=""
    if [ "$mode" = polled ]; then
        # One fetch at the start of every interval, as a browser's timer would, whatever the
        # previous fetch took (a fetch slower than the interval runs back to back).
        taskset -c "$CLIENT_CPU" bash -c '
            while :; do
                start=$(date +%s.%N)
                curl -s -o /dev/null -w "%{time_total} %{size_download}\n" "$1" >> "$2" || true
                left=$(/usr/bin/python3 -c "import sys; print(max(0, $3 - ($(date +%s.%N) - $start)))")
                sleep "$left"
            done' _ "http://127.0.0.1:$CONTROL_PORT/status" "$TMP/$mode.fetches" "$INTERVAL" \
            2>/dev/null &
        poller=$!
        PIDS+=("$poller")
    fi
    local t0 t1
    t0="$(cpu_ticks "$pid")"
    taskset -c "$CLIENT_CPU" "$TMP/blaster" -s 127.0.0.1 -p "$DNS_PORT" -d "$TMP/queries" \
        -l "$DURATION" > "$TMP/$mode.perf" 2>&1 || true
    t1="$(cpu_ticks "$pid")"
    if [ -n "$poller" ]; then kill "$poller" 2>/dev/null || true; wait "$poller" 2>/dev/null || true; fi
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    local qps done
    qps="$(awk '/Queries per second:/ {print $4}' "$TMP/$mode.perf")"
    done="$(awk '/Queries completed:/ {print $3}' "$TMP/$mode.perf")"
    local hz; hz="$(getconf CLK_TCK)"
    /usr/bin/python3 - "${qps:-0}" "$t0" "$t1" "$hz" "${done:-0}" "$TMP/$mode.fetches" <<'EOF'
import sys
qps, t0, t1, hz, done, fetches = sys.argv[1:]
rows = [l.split() for l in open(fetches) if len(l.split()) == 2]
secs = sum(float(r[0]) for r in rows) / len(rows) if rows else 0.0
size = sum(float(r[1]) for r in rows) / len(rows) if rows else 0.0
cpu = (int(t1) - int(t0)) / int(hz) * 1e6 / max(1, int(done))
print(f"{qps} {cpu:.2f} {len(rows)} {secs:.4f} {size:.0f}")
EOF
}

echo "status_poll: $MEMBERS members in pool www; /status every $INTERVAL s; $ROUNDS rounds x $DURATION s; placement $PLACEMENT: server on CPU $SERVER_CPU, blaster and poller on CPU $CLIENT_CPU" >&2
RESULTS="$TMP/results"
: > "$RESULTS"
for r in $(seq 1 "$ROUNDS"); do
    # Alternate the order so a trend in foreign load does not favour one mode.
    if [ $((r % 2)) -eq 1 ]; then order="polled quiet"; else order="quiet polled"; fi
    for mode in $order; do
        line="$(run "$mode")"
        read -r qps cpu fetches secs size <<< "$line"
        echo "round $r $mode: qps=$qps cpu_us_per_query=$cpu status_fetches=$fetches mean_fetch_s=$secs mean_bytes=$size" >&2
        echo "$r $mode $line" >> "$RESULTS"
    done
done
/usr/bin/python3 - "$RESULTS" "$MEMBERS" "$OUT" "$PLACEMENT" "$INTERVAL" <<'EOF'
import statistics, sys
by = {}
fetch = []
for line in open(sys.argv[1]):
    r, mode, qps, cpu, n, secs, size = line.split()
    by.setdefault(int(r), {})[mode] = (float(qps), float(cpu))
    if mode == "polled" and int(n) > 0:
        fetch.append((int(n), float(secs), float(size)))
ratios = [v["polled"][0] / v["quiet"][0] for v in by.values() if v["quiet"][0] > 0]
cpu = [v["polled"][1] / v["quiet"][1] for v in by.values() if v["quiet"][1] > 0]
text = f"members: {sys.argv[2]} (one pool), /status every {sys.argv[5]} s, placement {sys.argv[4]}\n"
if ratios:
    text += (f"QPS polled / quiet, median of per-round ratios: {statistics.median(ratios):.3f} "
             f"(range {min(ratios):.3f}-{max(ratios):.3f})\n")
if cpu:
    text += f"server CPU per query polled / quiet: {statistics.median(cpu):.3f}\n"
if fetch:
    text += (f"/status fetches per run: {statistics.median(f[0] for f in fetch):.0f}, "
             f"mean time {statistics.median(f[1] for f in fetch) * 1000:.1f} ms, "
             f"size {statistics.median(f[2] for f in fetch) / 1e6:.2f} MB\n")
print(text, end="")
if sys.argv[3]:
    open(sys.argv[3], "w").write(text)
EOF
