#!/usr/bin/env bash
# What health probing costs the query path: QPS of one pinned worker while N members (default
# 10 000: 1 000 pools x 10) are probed by a tcp check every second, against the same zone
# without checks, in interleaved rounds. The backends are real listeners, one per loopback
# address (127.1.x.y), that accept and close, as a healthy backend does for a tcp check.
#
# Placement (--placement): "shared", as in ../shared/bench, pins the whole steerdns process
# (worker and prober) to SERVER_CPU, so every probe's cost lands on the core that answers;
# "split" pins only the worker there (--worker-cpus) and the prober to CLIENT_CPU
# (--probe-cpus), as an operator keeps probing off the answering cores. The load generator
# (blaster, sendmmsg/recvmmsg, from ../shared/bench/limit) and the listeners run on CLIENT_CPU.
# Prints one line per run, then the median QPS ratio and the server CPU per query (the
# worker's and the prober's CPU time, wherever they ran, per query answered).
#
#   bench/probe_load.sh [--members N] [--rounds R] [--duration S] [--placement shared|split]
#                       [--binary PATH] [--out FILE]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MEMBERS=10000
ROUNDS=3
DURATION=10
BINARY="$ROOT/build/steerdns"
OUT=""
PLACEMENT=shared
SERVER_CPU="${SERVER_CPU:-1}"
CLIENT_CPU="${CLIENT_CPU:-0}"
BLASTER_SRC="${BLASTER_SRC:-$ROOT/../shared/bench/limit/blaster.c}"
while [ $# -gt 0 ]; do
    case "$1" in
        --members) MEMBERS="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --duration) DURATION="$2"; shift 2 ;;
        --binary) BINARY="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --placement) PLACEMENT="$2"; shift 2 ;;
        *) echo "usage: $0 [--members N] [--rounds R] [--duration S] [--placement shared|split] [--binary PATH] [--out FILE]" >&2
           exit 2 ;;
    esac
done
[ -x "$BINARY" ] || { echo "probe_load: build first, or pass --binary" >&2; exit 1; }
[ -f "$BLASTER_SRC" ] || { echo "probe_load: $BLASTER_SRC missing (set BLASTER_SRC=)" >&2; exit 1; }
[ "$MEMBERS" -le 60000 ] || { echo "probe_load: at most 60000 members (127.1.0.0/16)" >&2; exit 2; }

TMP="$(mktemp -d /tmp/steerdns-probe-load.XXXXXX)"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
cc -O2 -o "$TMP/blaster" "$BLASTER_SRC"

PROBE_PORT="${PROBE_PORT:-29317}"
DNS_PORT="${DNS_PORT:-29353}"
POOL_SIZE=10
POOLS=$(( (MEMBERS + POOL_SIZE - 1) / POOL_SIZE ))

# One listener per member address, accepting and closing.
cat > "$TMP/listeners.py" <<'EOF'
import resource, selectors, socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 1024, n + 1024))
sel = selectors.DefaultSelector()
for i in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((f"127.1.{i // 250}.{i % 250 + 1}", port))
    s.listen(1024)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        while True:
            try:
                c, _ = key.fileobj.accept()
            except OSError:
                break
            c.close()
EOF
taskset -c "$CLIENT_CPU" /usr/bin/python3 "$TMP/listeners.py" "$PROBE_PORT" "$MEMBERS" \
    > "$TMP/listeners.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do grep -q ready "$TMP/listeners.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$TMP/listeners.out" || { echo "probe_load: listeners failed" >&2; cat "$TMP/listeners.out" >&2; exit 1; }

for mode in checks plain; do
    mkdir -p "$TMP/$mode"
    /usr/bin/python3 - "$TMP/$mode" "$mode" "$MEMBERS" "$POOL_SIZE" "$PROBE_PORT" <<'EOF'
import json, sys
d, mode, n, size, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
pools = {}
for i in range(n):
    pools.setdefault(f"p{i // size}", {"ttl": 30, "answers": 1, "members": []})["members"].append(
        {"address": f"127.1.{i // 250}.{i % 250 + 1}"})
z = {"zone": "bench.test.", "ttl": 300,
     "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1},
     "ns": ["ns1"], "records": ["ns1 A 127.0.0.1"], "pools": pools}
if mode == "checks":
    z["checks"] = {"port": {"type": "tcp", "port": port, "interval": 1, "timeout": 0.5}}
    for p in pools.values():
        p["check"] = "port"
json.dump(z, open(f"{d}/bench.test.json", "w"))
EOF
done
# Queries spread over every pool, as real traffic for many names would be.
/usr/bin/python3 -c "
import sys
for i in range(min($POOLS, 10000)): print(f'p{i}.bench.test A')" > "$TMP/queries"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() {  # $1 = checks|plain; prints "qps cpu_us_per_query"
    local mode="$1"
    if [ "$PLACEMENT" = split ]; then
        "$BINARY" --worker-cpus "$SERVER_CPU" --probe-cpus "$CLIENT_CPU" --zones "$TMP/$mode" \
            --listen "127.0.0.1:$DNS_PORT" --control off --threads 1 --log-level warn 2> "$TMP/$mode.log" &
    else
        taskset -c "$SERVER_CPU" "$BINARY" --zones "$TMP/$mode" --listen "127.0.0.1:$DNS_PORT" \
            --control off --threads 1 --log-level warn 2> "$TMP/$mode.log" &
    fi
    local pid=$!
    PIDS+=("$pid")
    for _ in $(seq 1 100); do
        dig @127.0.0.1 -p "$DNS_PORT" +short +tries=1 +time=1 bench.test SOA >/dev/null 2>&1 && break
        sleep 0.1
    done
    sleep 3  # every probe reports once (start offsets are spread over the interval)
    local t0 t1
    t0="$(cpu_ticks "$pid")"
    taskset -c "$CLIENT_CPU" "$TMP/blaster" -s 127.0.0.1 -p "$DNS_PORT" -d "$TMP/queries" \
        -l "$DURATION" > "$TMP/$mode.perf" 2>&1 || true
    t1="$(cpu_ticks "$pid")"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    local qps done
    qps="$(awk '/Queries per second:/ {print $4}' "$TMP/$mode.perf")"
    done="$(awk '/Queries completed:/ {print $3}' "$TMP/$mode.perf")"
    local hz; hz="$(getconf CLK_TCK)"
    /usr/bin/python3 -c "print(f'${qps:-0} {($t1 - $t0) / $hz * 1e6 / max(1, ${done:-0}):.2f}')"
}

echo "probe_load: $MEMBERS members in $POOLS pools, tcp check every 1 s; $ROUNDS rounds x $DURATION s; placement $PLACEMENT: worker on CPU $SERVER_CPU, blaster and listeners on CPU $CLIENT_CPU" >&2
RESULTS="$TMP/results"
: > "$RESULTS"
for r in $(seq 1 "$ROUNDS"); do
    # Alternate the order so a trend in foreign load does not favour one mode.
    if [ $((r % 2)) -eq 1 ]; then order="checks plain"; else order="plain checks"; fi
    for mode in $order; do
        line="$(run "$mode")"
        echo "round $r $mode: qps=${line% *} cpu_us_per_query=${line#* }" >&2
        echo "$r $mode $line" >> "$RESULTS"
    done
done
down="$(grep -c 'member down' "$TMP/checks.log" || true)"
echo "members reported down during the last run with checks: $down (expected 0)" >&2
/usr/bin/python3 - "$RESULTS" "$MEMBERS" "$OUT" "$PLACEMENT" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
by = {}
for r, mode, qps, cpu in rows:
    by.setdefault(int(r), {})[mode] = (float(qps), float(cpu))
ratios = [v["checks"][0] / v["plain"][0] for v in by.values() if v["plain"][0] > 0]
cpu = [v["checks"][1] / v["plain"][1] for v in by.values() if v["plain"][1] > 0]
text = (f"members probed: {sys.argv[2]}, placement {sys.argv[4]}\n"
        f"QPS with / without probing, median of per-round ratios: {statistics.median(ratios):.3f} "
        f"(range {min(ratios):.3f}-{max(ratios):.3f})\n"
        f"server CPU per query with / without: {statistics.median(cpu):.3f}\n")
print(text, end="")
if sys.argv[3]:
    open(sys.argv[3], "w").write(text)
EOF
