#!/usr/bin/python3
"""Reload soak: a zone with 10 000 members (100 pools x 100) is reloaded N times (default 1000)
by SIGHUP while steerdns serves it. Reports the reload time (from the server's own log line)
and resident memory after warm-up and at the end. Loopback only; bounded in count and time.

usage: bench/reload_soak.py [--binary build/steerdns] [--reloads 1000] [--members 10000]
"""
import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=str(ROOT / "build" / "steerdns"))
    ap.add_argument("--reloads", type=int, default=1000)
    ap.add_argument("--members", type=int, default=10000)
    ap.add_argument("--max-seconds", type=float, default=600)
    args = ap.parse_args()

    per_pool = 100
    pools = {}
    n = 0
    for p in range(max(1, args.members // per_pool)):
        members = []
        for _ in range(per_pool):
            members.append({"address": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"})
            n += 1
        pools[f"p{p}"] = {"answers": 2, "members": members}
    zone = {"zone": "soak.test.", "ttl": 60,
            "soa": {"mname": "ns", "rname": "hostmaster", "serial": 1},
            "ns": ["ns"], "records": ["ns A 127.0.0.1"], "pools": pools}
    tmp = Path(tempfile.mkdtemp(prefix="steerdns-soak-"))
    (tmp / "soak.test.json").write_text(json.dumps(zone))
    log_path = tmp / "stderr.log"
    port = free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([args.binary, "--zones", str(tmp), "--listen", f"127.0.0.1:{port}",
                                 "--threads", "1"], stderr=log, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + args.max_seconds
        def reload_lines() -> list:
            return re.findall(r'msg="zone reloaded" zone=soak\.test\. .* ms=([\d.]+)',
                              log_path.read_text())
        while "steerdns started" not in log_path.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                print(log_path.read_text())
                return 1
            time.sleep(0.05)
        rss = {"start": rss_kib(proc.pid)}
        for i in range(1, args.reloads + 1):
            proc.send_signal(signal.SIGHUP)
            while len(reload_lines()) < i:
                if proc.poll() is not None or time.monotonic() > deadline:
                    print(f"stopped after {i - 1} reloads", file=sys.stderr)
                    return 1
                time.sleep(0.002)
            if i in (10, 100, args.reloads // 2, args.reloads):
                time.sleep(1.2)  # let the control thread retire the previous snapshot
                rss[i] = rss_kib(proc.pid)
        times = [float(x) for x in reload_lines()]
        print(f"zone: {n} members in {len(pools)} pools; {len(times)} reloads")
        print(f"reload time ms: median {statistics.median(times):.1f}, "
              f"p99 {sorted(times)[int(len(times) * 0.99) - 1]:.1f}, max {max(times):.1f}")
        print("RSS KiB: " + ", ".join(f"{k}: {v}" for k, v in rss.items()))
        growth = rss[args.reloads] - rss[10]
        print(f"RSS growth from reload 10 to {args.reloads}: {growth} KiB")
        return 0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    sys.exit(main())
