#!/usr/bin/env bash
# What EDNS Client Subnet costs a geo answer: steerdns serving bench/zones/geo (1 worker on
# SERVER_CPU) under dnsperf (on CLIENT_CPU) with plain queries (the source address picks the
# region), with EDNS but no ECS, and with ECS 198.51.100.0/24 (a net rule: region "eu").
# dnsperf, not blaster, because only dnsperf can add an EDNS option; dnsperf is the
# bottleneck near 100-165k qps here, so the server CPU per query is the figure to compare.
#
#   bench/ecs.sh [--binary PATH] [--out FILE.tsv]     (env ROUNDS, DURATION, SERVER_CPU, CLIENT_CPU)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BINARY="$ROOT/build/steerdns"
OUT=""
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-5}"
SERVER_CPU="${SERVER_CPU:-1}"
CLIENT_CPU="${CLIENT_CPU:-0}"
PORT="${ECS_PORT:-25330}"
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) BINARY="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        *) echo "usage: $0 [--binary PATH] [--out FILE.tsv]" >&2; exit 2 ;;
    esac
done
TMP="$(mktemp -d /tmp/steerdns-ecs.XXXXXX)"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

taskset -c "$SERVER_CPU" "$BINARY" --zones "$ROOT/bench/zones/geo" --listen "127.0.0.1:$PORT" --control off \
    --threads 1 --log-level warn 2> "$TMP/server.log" &
PID=$!
for _ in $(seq 1 100); do
    dig @127.0.0.1 -p "$PORT" +short +tries=1 +time=1 lb.example.test SOA >/dev/null 2>&1 && break
    sleep 0.1
done
# The ECS answer must come from the "eu" member: proof that the option is read, not skipped.
got="$(dig @127.0.0.1 -p "$PORT" +short +subnet=198.51.100.0/24 www.lb.example.test A)"
[ "$got" = "192.0.2.2" ] || { echo "ecs.sh: ECS answer $got, expected 192.0.2.2" >&2; exit 1; }
echo "www.lb.example.test A" > "$TMP/queries"

declare -A ARGS=(
    [plain]=""
    [edns]="-e"
    [ecs]="-E 8:00011800c63364"  # family 1, source /24, scope 0, 198.51.100
)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
RESULTS="$TMP/results"
echo -e "round\tmode\tqps\tsrv_us_per_q\tlat_ms" > "$RESULTS"
for r in $(seq 1 "$ROUNDS"); do
    modes=(plain edns ecs)
    [ $((r % 2)) -eq 0 ] && modes=(ecs edns plain)
    for mode in "${modes[@]}"; do
        t0="$(cpu_ticks "$PID")"
        # shellcheck disable=SC2086
        taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$PORT" -d "$TMP/queries" -l "$DURATION" \
            -c 4 -q 100 -T 1 -t 2 ${ARGS[$mode]} > "$TMP/$mode.out" 2>&1 || true
        t1="$(cpu_ticks "$PID")"
        qps="$(awk '/Queries per second:/ {print $4}' "$TMP/$mode.out")"
        done_="$(awk '/Queries completed:/ {print $3}' "$TMP/$mode.out")"
        lat="$(awk '/Average Latency/ {print $4}' "$TMP/$mode.out")"
        us="$(/usr/bin/python3 -c "print(f'{($t1 - $t0) / $(getconf CLK_TCK) * 1e6 / max(1, ${done_:-0}):.3f}')")"
        echo -e "$r\t$mode\t${qps:-0}\t$us\t$(/usr/bin/python3 -c "print(f'{${lat:-0} * 1000:.3f}')")" >> "$RESULTS"
        echo "ecs round $r $mode: qps=${qps:-?} server_us_per_query=$us" >&2
    done
done
[ -n "$OUT" ] && cp "$RESULTS" "$OUT"
cat "$RESULTS"
