#!/usr/bin/python3
"""Large zones: load time and resident memory of a 10 000-pool / 100 000-member zone (one
worker, no checks), RSS after a reload of it, and the reload time of a 10 000-member zone
(100 pools x 100) over --reloads SIGHUPs. Times are the server's own "zone loaded/reloaded
... ms=" log figures. Loopback only; bounded in count and time.

The memory table (issue 17: < 100 MB after any number of reloads, < 150 MB peak during one):
the 100 000-member zone with the control endpoint off and on (on: /metrics and the status
page's answer history keep per-member side tables), RSS settled after load and after 1, 5
and 20 reloads, and the peak of each phase. VmHWM cannot be reset, so VmRSS is sampled every
10 ms and the phase's peak is the largest sample.

usage: bench/scale.py [--binary build/steerdns] [--reloads 50] [--memory-only] [--control off|on]
                      [--out FILE]
"""
import argparse
import json
import re
import signal
import statistics
import subprocess
import sys
import socket
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def zone(pools: int, per_pool: int) -> dict:
    out = {}
    n = 0
    for p in range(pools):
        members = []
        for _ in range(per_pool):
            members.append({"address": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"})
            n += 1
        out[f"p{p}"] = {"answers": 1, "members": members}
    return {"zone": "scale.test.", "ttl": 60,
            "soa": {"mname": "ns", "rname": "hostmaster", "serial": 1},
            "ns": ["ns"], "records": ["ns A 127.0.0.1"], "pools": out}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary: str, zone_dir: Path, control: str = "off"):
        self.log_path = zone_dir.parent / (zone_dir.name + ".log")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [binary, "--zones", str(zone_dir), "--listen", "127.0.0.1:0", "--control", control,
                 "--threads", "1"],
                stderr=log, stdout=subprocess.DEVNULL)

    def log(self) -> str:
        return self.log_path.read_text()

    def times(self, what: str) -> list:
        return [float(x) for x in re.findall(rf'msg="zone {what}" .* ms=([\d.]+)', self.log())]

    def wait_for(self, predicate, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not predicate():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server stopped or timed out:\n" + self.log()[-2000:])
            time.sleep(0.01)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class RssSampler:
    """VmRSS every 10 ms in a thread; peak() is the largest sample since the last reset()."""

    def __init__(self, pid: int):
        self.pid = pid
        self.lock = threading.Lock()
        self.top = 0
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while self.running:
            try:
                kib = status_kib(self.pid, "VmRSS")
            except OSError:
                return
            with self.lock:
                self.top = max(self.top, kib)
            time.sleep(0.01)

    def reset(self) -> int:
        with self.lock:
            top, self.top = self.top, 0
        return top

    def stop(self) -> None:
        self.running = False
        self.thread.join()


def memory_run(binary: str, zone_dir: Path, control: bool, checkpoints: list) -> list:
    """One server on the 100 000-member zone: (phase, settled RSS KiB, phase peak KiB)."""
    for attempt in range(3):
        # Port 0 for DNS: the kernel picks the UDP port, and TCP on it may be taken meanwhile.
        s = Server(binary, zone_dir, f"127.0.0.1:{free_port()}" if control else "off")
        sampler = RssSampler(s.proc.pid)
        try:
            s.wait_for(lambda: "steerdns started" in s.log(), 300)
            break
        except RuntimeError:
            sampler.stop()
            s.stop()
            if attempt == 2 or "in use" not in s.log():
                raise
    rows = []
    try:
        # The control thread retires an old snapshot within a second; with the control
        # endpoint on, the answer history samples every 10 s: settle past one sample.
        settle = 11.0 if control else 2.5
        time.sleep(settle)
        rows.append(("after load", status_kib(s.proc.pid, "VmRSS"), sampler.reset()))
        done = 0
        for target in checkpoints:
            while done < target:
                done += 1
                s.proc.send_signal(signal.SIGHUP)
                # "reload done" follows the publish; the old snapshot is retired within 1 s.
                s.wait_for(lambda: s.log().count('msg="reload done"') >= done, 300)
                time.sleep(1.5)
            time.sleep(settle)
            rows.append((f"after {target} reload{'s' if target > 1 else ''}",
                         status_kib(s.proc.pid, "VmRSS"), sampler.reset()))
        sampler.stop()
    finally:
        s.stop()
    return rows


def memory_table(binary: str, tmp: Path, only: str = "") -> list:
    big = tmp / "mem"
    big.mkdir()
    (big / "scale.test.json").write_text(json.dumps(zone(10000, 10)))
    modes = [("control off", False), ("control on", True)]
    modes = [m for m in modes if m[0].split()[1] in only] if only else modes
    lines = ["memory, 100000 members (10000 pools x 10), 1 worker, no checks; MiB "
             "(settled RSS / peak VmRSS in the phase, sampled every 10 ms)",
             "| phase | " + " | ".join(m[0] for m in modes) + " |",
             "|---|" + "---|" * len(modes)]
    runs = [memory_run(binary, big, control, [1, 5, 20]) for _, control in modes]
    for i, (phase, _, _) in enumerate(runs[0]):
        lines.append(f"| {phase} | " + " | ".join(
            f"{r[i][1] / 1024:.1f} / {r[i][2] / 1024:.1f}" for r in runs) + " |")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=str(ROOT / "build" / "steerdns"))
    ap.add_argument("--reloads", type=int, default=50)
    ap.add_argument("--memory-only", action="store_true", help="only the memory table")
    ap.add_argument("--control", default="", choices=["", "off", "on"],
                    help="the memory table with the control endpoint off or on only")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="steerdns-scale-"))
    lines = memory_table(args.binary, tmp, args.control)
    if args.memory_only:
        text = "\n".join(lines) + "\n"
        print(text, end="")
        if args.out:
            Path(args.out).write_text(text)
        return 0

    big = tmp / "big"
    big.mkdir()
    (big / "scale.test.json").write_text(json.dumps(zone(10000, 10)))
    s = Server(args.binary, big)
    try:
        s.wait_for(lambda: "steerdns started" in s.log(), 300)
        time.sleep(2)
        rss_loaded = status_kib(s.proc.pid, "VmRSS")
        s.proc.send_signal(signal.SIGHUP)
        s.wait_for(lambda: len(s.times("reloaded")) >= 1, 300)
        time.sleep(3)  # the control thread retires the old snapshot within a second
        rss_reloaded = status_kib(s.proc.pid, "VmRSS")
        peak = status_kib(s.proc.pid, "VmHWM")
        lines.append("zone of 10000 pools x 10 members (100000 members), 1 worker, no checks")
        lines.append(f"load time ms: {s.times('loaded')[0]:.0f}; reload time ms: {s.times('reloaded')[0]:.0f}")
        lines.append(f"RSS MiB: after load {rss_loaded / 1024:.1f}, after a reload "
                     f"{rss_reloaded / 1024:.1f}, peak (during load/reload) {peak / 1024:.1f}")
    finally:
        s.stop()

    mid = tmp / "mid"
    mid.mkdir()
    (mid / "scale.test.json").write_text(json.dumps(zone(100, 100)))
    s = Server(args.binary, mid)
    try:
        s.wait_for(lambda: "steerdns started" in s.log(), 120)
        rss_start = status_kib(s.proc.pid, "VmRSS")
        for i in range(1, args.reloads + 1):
            s.proc.send_signal(signal.SIGHUP)
            s.wait_for(lambda: len(s.times("reloaded")) >= i, 60)
        time.sleep(1.5)
        rss_end = status_kib(s.proc.pid, "VmRSS")
        t = sorted(s.times("reloaded"))
        lines.append(f"zone of 100 pools x 100 members (10000 members): {len(t)} reloads")
        lines.append(f"reload time ms: median {statistics.median(t):.1f}, min {t[0]:.1f}, max {t[-1]:.1f}")
        lines.append(f"RSS MiB: start {rss_start / 1024:.1f}, after the reloads {rss_end / 1024:.1f}")
    finally:
        s.stop()
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
