#!/usr/bin/env bash
# What health probing costs the query path: dnsperf QPS against a pool of 1000 members with a
# tcp check every 1 s (real listeners on 1000 loopback addresses, so every probe connects),
# then against the same zone without checks. Prints both and the ratio. No assertion: numbers
# on a shared 2-core machine are noisy, run it a few times.
#
#   bench/probe_load.sh [--duration SECONDS] [--threads N] [--binary PATH]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DURATION=10
THREADS=1
BINARY="$ROOT/build/steerdns"
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) DURATION="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --binary) BINARY="$2"; shift 2 ;;
        *) echo "usage: $0 [--duration S] [--threads N] [--binary PATH]" >&2; exit 2 ;;
    esac
done
command -v dnsperf >/dev/null || { echo "probe_load: dnsperf missing (.ci/install-deps)" >&2; exit 1; }
[ -x "$BINARY" ] || { echo "probe_load: build first, or pass --binary" >&2; exit 1; }

TMP="$(mktemp -d /tmp/steerdns-probe-load.XXXXXX)"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

MEMBERS=1000
PROBE_PORT="${PROBE_PORT:-29317}"
DNS_PORT="${DNS_PORT:-29353}"

# 1000 listeners, one per loopback address, accepting and closing: what a tcp check sees of
# a healthy backend. Addresses 127.1.0.1 ... 127.1.3.250.
cat > "$TMP/listeners.py" <<'EOF'
import selectors, socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
sel = selectors.DefaultSelector()
for i in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((f"127.1.{i // 250}.{i % 250 + 1}", port))
    s.listen(128)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        try:
            c, _ = key.fileobj.accept()
            c.close()
        except OSError:
            pass
EOF
/usr/bin/python3 "$TMP/listeners.py" "$PROBE_PORT" "$MEMBERS" > "$TMP/listeners.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do grep -q ready "$TMP/listeners.out" 2>/dev/null && break; sleep 0.1; done

write_zone() {  # $1 = dir, $2 = "checks" or "plain"
    /usr/bin/python3 - "$1" "$2" "$MEMBERS" "$PROBE_PORT" <<'EOF'
import json, sys
d, mode, n, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
members = [{"address": f"127.1.{i // 250}.{i % 250 + 1}"} for i in range(n)]
pool = {"ttl": 30, "answers": 4, "members": members}
z = {"zone": "bench.test.", "ttl": 300,
     "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1},
     "ns": ["ns1"], "records": ["ns1 A 127.0.0.1"], "pools": {"www": pool}}
if mode == "checks":
    z["checks"] = {"port": {"type": "tcp", "port": port, "interval": 1, "timeout": 0.5}}
    pool["check"] = "port"
json.dump(z, open(f"{d}/bench.test.json", "w"))
EOF
}

echo "www.bench.test A" > "$TMP/queries"
run() {  # $1 = checks|plain
    local dir="$TMP/$1"
    mkdir -p "$dir"
    write_zone "$dir" "$1"
    "$BINARY" --zones "$dir" --listen "127.0.0.1:$DNS_PORT" --threads "$THREADS" \
        --log-level warn 2> "$TMP/$1.log" &
    local pid=$!
    PIDS+=("$pid")
    for _ in $(seq 1 50); do
        dig @127.0.0.1 -p "$DNS_PORT" +short +tries=1 +time=1 bench.test SOA >/dev/null 2>&1 && break
        sleep 0.1
    done
    # Let every probe report once (probes are spread over the 1 s interval).
    sleep 2
    dnsperf -s 127.0.0.1 -p "$DNS_PORT" -d "$TMP/queries" -l "$DURATION" -c 8 -q 200 \
        > "$TMP/$1.perf" 2>&1 || true
    local answer
    answer="$(dig @127.0.0.1 -p "$DNS_PORT" +short www.bench.test A | wc -l)"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    local qps lost
    qps="$(awk '/Queries per second:/ {print $4}' "$TMP/$1.perf")"
    lost="$(awk '/Queries lost:/ {print $3}' "$TMP/$1.perf")"
    echo "$1: ${qps:-?} qps (lost ${lost:-?}, ${answer} records per answer)" >&2
    echo "${qps:-0}"
}

echo "probe_load: $MEMBERS members, tcp check every 1 s, $DURATION s of dnsperf per run, $THREADS worker thread(s)" >&2
WITH="$(run checks)"
WITHOUT="$(run plain)"
probes_down="$(grep -c 'member down' "$TMP/checks.log" || true)"
echo "members reported down during the run with checks: $probes_down (expected 0)" >&2
/usr/bin/python3 - "$WITH" "$WITHOUT" <<'EOF'
import sys
w, wo = float(sys.argv[1]), float(sys.argv[2])
print(f"QPS with probing: {w:.0f}")
print(f"QPS without probing: {wo:.0f}")
print(f"ratio (with / without): {w / wo:.3f}" if wo > 0 else "ratio: n/a")
EOF
