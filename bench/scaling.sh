#!/usr/bin/env bash
# Worker scaling: steerdns (bench/zones/weighted) with 1 and 2 workers, and gdnsd with 1 and 2
# UDP threads for reference, nothing pinned, the load generator (blaster) unpinned too, in
# interleaved rounds. On this 2-core machine the load generator takes one core's worth, so
# expect little; the figure matters for larger machines.
#
#   bench/scaling.sh [--binary PATH] [--out FILE.tsv]      (env ROUNDS, DURATION)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BINARY="$ROOT/build/steerdns"
OUT=""
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-5}"
BLASTER_SRC="${BLASTER_SRC:-$ROOT/../shared/bench/limit/blaster.c}"
PORT="${SCALING_PORT:-25340}"
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) BINARY="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        *) echo "usage: $0 [--binary PATH] [--out FILE.tsv]" >&2; exit 2 ;;
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
            "$BINARY" --zones "$ROOT/bench/zones/weighted" --listen "127.0.0.1:$PORT" \
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
