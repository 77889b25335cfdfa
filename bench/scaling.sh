#!/usr/bin/env bash
# Worker scaling: steerdns (bench/zones/weighted) with 1 and 2 workers, and gdnsd with 1 and 2
# UDP threads for reference, nothing pinned, the load generator (blaster) unpinned too, in
# interleaved rounds. On this 2-core machine the load generator takes one core's worth, so
# expect little; the figure matters for larger machines.
# Then latency: dnsperf at a fixed 20 000 qps against each with 1 thread, every query's
# latency logged (-v), p50/p99/p99.9 computed (dnsperf itself reports only the average).
#
#   bench/scaling.sh [--binary PATH] [--out FILE.tsv] [--latency-out FILE.tsv]  (env ROUNDS, DURATION)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BINARY="$ROOT/build/steerdns"
OUT=""
LAT_OUT=""
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-5}"
BLASTER_SRC="${BLASTER_SRC:-$ROOT/../shared/bench/limit/blaster.c}"
PORT="${SCALING_PORT:-25340}"
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) BINARY="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --latency-out) LAT_OUT="$2"; shift 2 ;;
        *) echo "usage: $0 [--binary PATH] [--out FILE.tsv] [--latency-out FILE.tsv]" >&2; exit 2 ;;
    esac
done
TMP="$(mktemp -d /tmp/steerdns-scaling.XXXXXX)"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
cc -O2 -o "$TMP/blaster" "$BLASTER_SRC"
echo "www.lb.example.test A" > "$TMP/queries"

# gdnsd with the shared bench's zone and weighted DYNA, N UDP threads.
GDNSD="$(command -v gdnsd || echo /usr/sbin/gdnsd)"
gdnsd_config() {  # dir threads
    local d="$1"
    mkdir -p "$d/zones" "$d/run" "$d/state"
    sed -e "s/@PORT@/$PORT/g" -e "s|@DIR@|$d|g" "$ROOT/../shared/bench/conf/gdnsd.config.in" \
        | sed -e "s/udp_threads *=> *1/udp_threads => $2/" > "$d/config"
    sed -e "/^@WWW@\$/{r $ROOT/../shared/bench/zones/www.gdnsd" -e 'd}' \
        "$ROOT/../shared/bench/zones/lb.example.test.zone.in" > "$d/zones/lb.example.test"
}

start() {  # target threads
    case "$1" in
        steerdns)
            "$BINARY" --zones "$ROOT/bench/zones/weighted" --listen "127.0.0.1:$PORT" --control off \
                --threads "$2" --log-level warn 2> "$TMP/server.log" &
            PID=$! ;;
        gdnsd)
            gdnsd_config "$TMP/gdnsd$2" "$2"
            "$GDNSD" -c "$TMP/gdnsd$2" start > "$TMP/server.log" 2>&1 &
            PID=$! ;;
    esac
    for _ in $(seq 1 100); do
        dig @127.0.0.1 -p "$PORT" +short +tries=1 +time=1 lb.example.test SOA 2>/dev/null | grep -q . && return 0
        sleep 0.1
    done
    echo "scaling: $1 with $2 threads did not answer" >&2
    cat "$TMP/server.log" >&2
    return 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }

RESULTS="$TMP/results"
echo -e "round\ttarget\tthreads\tqps" > "$RESULTS"
for r in $(seq 1 "$ROUNDS"); do
    for run in "steerdns 1" "steerdns 2" "gdnsd 1" "gdnsd 2"; do
        set -- $run
        start "$1" "$2" || continue
        "$TMP/blaster" -s 127.0.0.1 -p "$PORT" -d "$TMP/queries" -l "$DURATION" > "$TMP/out" 2>&1 || true
        stop
        qps="$(awk '/Queries per second:/ {print $4}' "$TMP/out")"
        echo -e "$r\t$1\t$2\t${qps:-0}" >> "$RESULTS"
        echo "scaling round $r: $1 x$2 threads: ${qps:-?} qps" >&2
    done
done
[ -n "$OUT" ] && cp "$RESULTS" "$OUT"
cat "$RESULTS"

LAT="$TMP/latency"
echo -e "round\ttarget\tqueries\tp50_ms\tp99_ms\tp999_ms" > "$LAT"
for r in $(seq 1 "$ROUNDS"); do
    for target in steerdns gdnsd; do
        start "$target" 1 || continue
        dnsperf -s 127.0.0.1 -p "$PORT" -d "$TMP/queries" -l "$DURATION" -Q 20000 -c 4 -v \
            2>/dev/null | awk '/^> / {print $NF}' > "$TMP/lat.txt" || true
        stop
        /usr/bin/python3 - "$TMP/lat.txt" "$r" "$target" >> "$LAT" <<'EOF'
import sys
v = sorted(float(x) * 1000 for x in open(sys.argv[1]) if x.strip())
q = lambda p: v[min(len(v) - 1, int(len(v) * p))] if v else 0
print(f"{sys.argv[2]}\t{sys.argv[3]}\t{len(v)}\t{q(0.5):.3f}\t{q(0.99):.3f}\t{q(0.999):.3f}")
EOF
        echo "latency round $r $target: $(tail -1 "$LAT")" >&2
    done
done
[ -n "$LAT_OUT" ] && cp "$LAT" "$LAT_OUT"
cat "$LAT"
