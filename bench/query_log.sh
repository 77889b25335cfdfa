#!/usr/bin/env bash
# What the query log costs the answering core (issue 17, part 1): QPS and server CPU per query
# of the balanced name with `--query-log FILE --query-log-sample N` (default 1 in 100) and with
# --query-log-sample 1 (every query), against the same binary without a query log, in
# interleaved rounds (the order rotating each round). One worker; the whole process pinned to
# SERVER_CPU, so the log's writer thread shares the answering core (the worst case); the
# sendmmsg blaster (../shared/bench/limit) on CLIENT_CPU. Prints one line per run, then the
# medians of per-round ratios against "off".
#
#   bench/query_log.sh [--rounds R] [--duration S] [--sample N] [--binary PATH] [--out FILE]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ROUNDS=5
DURATION=8
SAMPLE=100
BINARY="$ROOT/build/steerdns"
OUT=""
SERVER_CPU="${SERVER_CPU:-1}"
CLIENT_CPU="${CLIENT_CPU:-0}"
BLASTER_SRC="${BLASTER_SRC:-$ROOT/../shared/bench/limit/blaster.c}"
usage="usage: $0 [--rounds R] [--duration S] [--sample N] [--binary PATH] [--out FILE]"
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS="$2"; shift 2 ;;
        --duration) DURATION="$2"; shift 2 ;;
        --sample) SAMPLE="$2"; shift 2 ;;
        --binary) BINARY="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
TMP="$(mktemp -d /tmp/steerdns-qlog.XXXXXX)"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
cc -O2 -o "$TMP/blaster" "$BLASTER_SRC"
DNS_PORT="${DNS_PORT:-29463}"
mkdir -p "$TMP/zones"
cp "$ROOT/zones/lb.example.test.json" "$TMP/zones/"
echo "www.lb.example.test A" > "$TMP/queries"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() {  # $1 = off|sampled|every; prints "qps cpu_us_per_query log_lines"
    local mode="$1" args=()
    case "$mode" in
        sampled) args=(--query-log "$TMP/q.log" --query-log-sample "$SAMPLE") ;;
        every) args=(--query-log "$TMP/q.log" --query-log-sample 1) ;;
    esac
    rm -f "$TMP/q.log"
    taskset -c "$SERVER_CPU" "$BINARY" --zones "$TMP/zones" --listen "127.0.0.1:$DNS_PORT" \
        --control off --threads 1 --log-level warn "${args[@]}" 2> "$TMP/$mode.err" &
    local pid=$!
    PIDS+=("$pid")
    for _ in $(seq 1 100); do
        dig @127.0.0.1 -p "$DNS_PORT" +short +tries=1 +time=1 lb.example.test SOA 2>/dev/null |
            grep -q . && break
        sleep 0.1
    done
    local t0 t1
    t0="$(cpu_ticks "$pid")"
    taskset -c "$CLIENT_CPU" "$TMP/blaster" -s 127.0.0.1 -p "$DNS_PORT" -d "$TMP/queries" \
        -l "$DURATION" > "$TMP/$mode.perf" 2>&1 || true
    t1="$(cpu_ticks "$pid")"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    local qps done lines hz
    qps="$(awk '/Queries per second:/ {print $4}' "$TMP/$mode.perf")"
    done="$(awk '/Queries completed:/ {print $3}' "$TMP/$mode.perf")"
    lines="$( [ -f "$TMP/q.log" ] && wc -l < "$TMP/q.log" || echo 0)"
    hz="$(getconf CLK_TCK)"
    /usr/bin/python3 -c "import sys; q, t0, t1, hz, d, l = sys.argv[1:]; \
print(f'{q} {(int(t1) - int(t0)) / int(hz) * 1e6 / max(1, int(d)):.3f} {l}')" \
        "${qps:-0}" "$t0" "$t1" "$hz" "${done:-0}" "$lines"
}

modes=(off sampled every)
: > "$TMP/rows"
for r in $(seq 1 "$ROUNDS"); do
    for i in 0 1 2; do
        mode="${modes[$(((i + r) % 3))]}"
        line="$(run "$mode")"
        echo "round $r $mode: qps cpu_us_per_query log_lines = $line" >&2
        echo "$r $mode $line" >> "$TMP/rows"
    done
done
/usr/bin/python3 - "$TMP/rows" "$SAMPLE" <<'EOF' | tee ${OUT:+"$OUT"}
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
by = {}
for r, mode, qps, cpu, lines in rows:
    by.setdefault(r, {})[mode] = (float(qps), float(cpu), int(lines))
print(f"query log cost, 1 worker pinned with its log writer, {len(by)} rounds")
for mode, label in (("sampled", f"1 in {sys.argv[2]}"), ("every", "every query")):
    q = [v[mode][0] / v["off"][0] for v in by.values() if mode in v and "off" in v]
    c = [v[mode][1] / v["off"][1] for v in by.values() if mode in v and "off" in v]
    n = [v[mode][2] for v in by.values() if mode in v]
    print(f"{label}: QPS / off {statistics.median(q):.3f} (range {min(q):.3f}-{max(q):.3f}), "
          f"CPU per query / off {statistics.median(c):.3f}, log lines per run {statistics.median(n):.0f}")
EOF
