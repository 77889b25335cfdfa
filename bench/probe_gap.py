#!/usr/bin/python3
"""How evenly steerdns spreads its probes, and what a probe costs.

gap (default): N members (default 10 000, 127.4.x.y) behind one tcp check (interval 1 s) to
a closed port (every member probed down, as often as an up one). The time of each probe is
the kernel's timestamp of its SYN on lo (an AF_PACKET socket with a BPF filter and
SO_TIMESTAMPNS: honest whatever this script's own scheduling; needs root or CAP_NET_RAW).
Over --duration seconds (default 60) it reports, per
target, the gaps between consecutive probes relative to the interval: the worst one (target:
no probe late by more than 10 % of its interval, worst gap <= 1.10), percentiles, how many
targets ever exceeded 1.10, and the busiest 10 ms of the window against the mean (a burst at
the interval's boundary shows there). Halfway through it edits the zone (one member more) so
the reload's effect on the schedule is in the window.

cpu: the daemon's CPU per probe (utime+stime of /proc/PID/stat over --duration) for tcp,
http with keepalive (the default) and http with "keepalive": false, each in a fresh process
probing N members (default 2 000) every --interval, and the same zone without checks as the
base. The listeners speak HTTP/1.1 (they keep connections open) and count requests.
--probe-io libuv,uring runs each kind once per listed backend (the daemon's --probe-io; plain
once), --rounds N repeats the whole set with the order rotating by one each round, and the
per-round ratio of each backend's us per probe to the first one's is printed (median, range).

    bench/probe_gap.py [--mode gap|cpu] [--members N] [--interval S] [--duration S]
                       [--binary PATH] [--kinds tcp,http,http-close,plain]
                       [--probe-io libuv,uring] [--rounds N]

Loopback only; everything under one temporary directory, removed at exit; it stops only the
processes it started, by PID; every wait is bounded.
"""

import argparse
import json
import os
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HZ = os.sysconf("SC_CLK_TCK")


def addr(i: int) -> str:
    return f"127.4.{i // 250}.{i % 250 + 1}"


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Listeners:
    """One listening socket per member address; records accept times or answers HTTP/1.1."""

    RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    def __init__(self, n: int, port: int, record: bool):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 3 * n + 1024), hard))
        self.n, self.record = n, record
        self.sel = selectors.DefaultSelector()
        self.times = [[] for _ in range(n)]
        self.accepts = 0
        self.requests = 0
        self.recording = False
        self.stop_flag = False
        for i in range(n):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr(i), port))
            s.listen(1024)
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ, ("listen", i))
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        mono = time.monotonic
        while not self.stop_flag:
            for key, _ in self.sel.select(0.1):
                kind, i = key.data
                s = key.fileobj
                if kind == "listen":
                    while True:
                        try:
                            c, _ = s.accept()
                        except OSError:
                            break
                        self.accepts += 1
                        if self.record:
                            if self.recording:
                                self.times[i].append(mono())
                            c.close()
                        else:
                            c.setblocking(False)
                            self.sel.register(c, selectors.EVENT_READ, ("conn", i))
                else:
                    try:
                        data = s.recv(4096)
                    except OSError:
                        data = b""
                    if not data:
                        self.sel.unregister(s)
                        s.close()
                        continue
                    # One GET per read is what a prober sends; count the request heads.
                    heads = data.count(b"\r\n\r\n")
                    self.requests += heads
                    try:
                        s.send(self.RESPONSE * heads)
                    except OSError:
                        pass

    def stop(self) -> None:
        self.stop_flag = True
        self.thread.join(5)


class SynRecorder:
    """The time the kernel saw each probe's SYN leave for `port`, per destination address:
    an AF_PACKET socket on lo with a classic BPF filter (TCP SYN to the port) and
    SO_TIMESTAMPNS, so the times are the kernel's, whatever this process's scheduling."""

    def __init__(self, port: int):
        import ctypes
        import struct
        ins = [
            (0x20, 0, 0, 0xFFFFF004),  # ld pkttype (SKF_AD_OFF + SKF_AD_PKTTYPE)
            (0x15, 0, 9, 0),           # == PACKET_HOST (lo's copy to the stack), else drop
            (0x30, 0, 0, 9),           # ldb [9]: protocol
            (0x15, 0, 7, 6),           # == TCP
            (0xB1, 0, 0, 0),           # ldxb 4*([0]&0xf): IP header length
            (0x50, 0, 0, 13),          # ldb [x+13]: TCP flags
            (0x54, 0, 0, 0x12),        # & (SYN|ACK)
            (0x15, 0, 3, 0x02),        # == SYN alone
            (0x48, 0, 0, 2),           # ldh [x+2]: destination port
            (0x15, 0, 1, port),
            (0x06, 0, 0, 0xFFFF),      # keep
            (0x06, 0, 0, 0),           # drop
        ]
        prog = b"".join(struct.pack("HBBI", *i) for i in ins)
        self._buf = ctypes.create_string_buffer(prog)
        fprog = struct.pack("HL", len(ins), ctypes.addressof(self._buf))
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
        self.sock.setsockopt(socket.SOL_SOCKET, 26, fprog)  # SO_ATTACH_FILTER
        self.sock.setsockopt(socket.SOL_SOCKET, 35, 1)  # SO_TIMESTAMPNS
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, 33, 256 << 20)  # SO_RCVBUFFORCE
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 << 20)
        self.sock.bind(("lo", 0x0800))
        self.sock.settimeout(0.2)
        self.times = {}
        self.recording = False
        self.stop_flag = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        import struct
        while not self.stop_flag:
            try:
                data, anc, _, _ = self.sock.recvmsg(64, 64)
            except socket.timeout:
                continue
            if not self.recording or len(data) < 20:
                continue
            t = None
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == 35:
                    sec, nsec = struct.unpack("qq", payload[:16])
                    t = sec + nsec / 1e9
            if t is not None:
                self.times.setdefault(data[16:20], []).append(t)

    def stop(self) -> None:
        self.stop_flag = True
        self.thread.join(5)


def write_zone(dirpath: str, n: int, port: int, kind: str, interval: float, extra: int = 0):
    checks = {}
    if kind == "tcp":
        checks["c"] = {"type": "tcp", "port": port}
    elif kind in ("http", "http-close"):
        checks["c"] = {"type": "http", "port": port, "paths": ["/"]}
        if kind == "http-close":
            checks["c"]["keepalive"] = False
    for c in checks.values():
        c.update(interval=interval, timeout=round(interval / 2, 3), rise=2, fall=3)
    pools = {}
    for p in range((n + extra + 9) // 10):
        members = [{"address": addr(i)} for i in range(p * 10, min(n + extra, (p + 1) * 10))]
        pools[f"p{p}"] = {"members": members, "answers": 1}
        if checks:
            pools[f"p{p}"]["check"] = "c"
    z = {"zone": "gap.test.", "ttl": 300,
         "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1 + extra},
         "ns": ["ns1"], "records": ["ns1 A 127.0.0.1"], "pools": pools, "checks": checks}
    if not checks:
        del z["checks"]
    path = os.path.join(dirpath, "gap.test.json")
    with open(path + ".tmp", "w") as f:
        json.dump(z, f)
    os.replace(path + ".tmp", path)


def start_server(binary: str, zones: str, log: str, probe_io: str = "") -> subprocess.Popen:
    port = free_port()
    extra = ["--probe-io", probe_io] if probe_io else []
    with open(log, "w") as err:
        proc = subprocess.Popen([binary, "--zones", zones, "--listen", f"127.0.0.1:{port}",
                                 "--control", "off", "--threads", "1", "--start-probe-wait", "0"]
                                + extra, stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"probe_gap: steerdns exited: {open(log).read()[-2000:]}")
        if "steerdns started" in open(log).read():
            break
        time.sleep(0.2)
    return proc


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ  # utime, stime


def run_delay_seconds(pid: int) -> float:
    """Time the daemon's threads spent runnable but waiting for a CPU (schedstat)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[1])
        except OSError:
            pass
    return total / 1e9


def pct(values, q):
    if not values:
        return float("nan")
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def mode_gap(a, tmp) -> None:
    # A closed port: every member is probed down (a SYN answered by a reset), as often as
    # an up one, and nothing in this process has to keep up with 10 000 accepts a second.
    port = free_port()
    lis = SynRecorder(port)
    zones = os.path.join(tmp, "zones")
    os.makedirs(zones)
    write_zone(zones, a.members, port, "tcp", a.interval)
    log = os.path.join(tmp, "steerdns.log")
    proc = start_server(a.binary, zones, log)
    try:
        time.sleep(a.warmup + a.interval)  # the start's first round and one whole interval
        lis.recording = True
        t0 = time.monotonic()
        cpu0, wait0 = cpu_seconds(proc.pid), run_delay_seconds(proc.pid)
        reload_at = t0 + a.duration / 2
        reloaded = False
        while time.monotonic() - t0 < a.duration:
            time.sleep(0.2)
            if not reloaded and time.monotonic() >= reload_at:
                # One member more (no listener: it is probed down); every other probe kept.
                write_zone(zones, a.members, port, "tcp", a.interval, extra=1)
                reloaded = True
                reload_mono = time.monotonic()
        lis.recording = False
        t1 = time.monotonic()
        cpu, wait = cpu_seconds(proc.pid) - cpu0, run_delay_seconds(proc.pid) - wait0
        time.sleep(0.5)  # what the kernel queued before the end
    finally:
        stop_server(proc)
        lis.stop()
    # Kernel times are CLOCK_REALTIME: the window in the same clock.
    shift = time.time() - time.monotonic()
    times = [sorted(x for x in lis.times.get(socket.inet_aton(addr(i)), [])
                    if t0 + shift <= x <= t1 + shift) for i in range(a.members)]
    times = [[x - shift for x in ts] for ts in times]
    iv = a.interval
    gaps, worst, over, probes = [], [], 0, 0
    worst_target = (0.0, -1)
    for i, ts in enumerate(times):
        probes += len(ts)
        g = [(ts[k + 1] - ts[k]) / iv for k in range(len(ts) - 1)]
        gaps.extend(g)
        if g:
            m = max(g)
            worst.append(m)
            over += m > 1.10
            worst_target = max(worst_target, (m, i))
    silent = sum(1 for ts in times if len(ts) < 2)
    # Burstiness: probes per 10 ms bucket over the window.
    buckets = {}
    for ts in times:
        for x in ts:
            b = int((x - t0) * 100)
            buckets[b] = buckets.get(b, 0) + 1
    nb = max(1, int((t1 - t0) * 100))
    mean_b = probes / nb
    max_b = max(buckets.values()) if buckets else 0
    reload_b = [buckets.get(b, 0) for b in range(int((reload_mono - t0) * 100),
                                                 int((reload_mono - t0) * 100) + 300)]
    out = [
        f"members {a.members}, tcp check interval {iv:g} s, window {t1 - t0:.1f} s, "
        f"zone edited (one member more) at {reload_mono - t0:.1f} s",
        f"probes seen {probes} ({probes / (t1 - t0):.0f}/s, expected {a.members / iv:.0f}/s); "
        f"targets with fewer than 2 probes: {silent}",
        f"gap / interval over {len(gaps)} gaps: p50 {pct(gaps, 0.5):.3f}, p99 {pct(gaps, 0.99):.3f}, "
        f"p99.9 {pct(gaps, 0.999):.3f}, min {min(gaps):.3f}, max {max(gaps):.3f}",
        f"worst gap of one target: {worst_target[0]:.3f} x interval ({addr(worst_target[1])}); "
        f"targets ever above 1.10: {over} of {len(worst)}",
        f"probes per 10 ms: mean {mean_b:.1f}, max {max_b} (x{max_b / mean_b:.2f}); in the 3 s "
        f"after the reload: max {max(reload_b)}",
        f"daemon CPU in the window: {cpu:.2f} s ({1e6 * cpu / max(1, probes):.0f} us per probe); "
        f"its threads waited {wait:.2f} s for a CPU (runnable, not running: a loaded machine)",
        "target: worst gap <= 1.10 x interval: " + ("met" if worst_target[0] <= 1.10 else "NOT met"),
    ]
    print("\n".join(out))


def mode_cpu(a, tmp) -> None:
    port = free_port()
    lis = Listeners(a.members, port, record=False)
    ios = a.probe_io.split(",") if a.probe_io else [""]
    runs = []  # (kind, io): plain once, each other kind once per backend
    for kind in a.kinds.split(","):
        runs += [(kind, ios[0])] if kind == "plain" else [(kind, io) for io in ios]
    per_round = []  # per round: {(kind, io): us per probe}
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    try:
        for rnd in range(a.rounds):
            order = runs[rnd % len(runs):] + runs[:rnd % len(runs)]
            results = {}
            for kind, io in order:
                label = f"{kind}/{io}" if io and kind != "plain" else kind
                zones = os.path.join(tmp, f"zones-{rnd}-{kind}-{io}")
                os.makedirs(zones)
                write_zone(zones, a.members, port, kind, a.interval)
                log = os.path.join(tmp, f"{rnd}-{kind}-{io}.log")
                proc = start_server(a.binary, zones, log, io if kind != "plain" else "")
                try:
                    time.sleep(a.warmup)
                    c0, acc0, req0, w0 = (cpu_seconds(proc.pid), lis.accepts, lis.requests,
                                          time.monotonic())
                    time.sleep(a.duration)
                    c1, acc1, req1, w1 = (cpu_seconds(proc.pid), lis.accepts, lis.requests,
                                          time.monotonic())
                finally:
                    stop_server(proc)
                used = next((l.split("probe_io=")[1].split()[0] for l in open(log)
                             if "steerdns started" in l and "probe_io=" in l), "?")
                wall = w1 - w0
                probes = (req1 - req0) if kind.startswith("http") else (acc1 - acc0)
                results[(kind, io)] = (c1 - c0, wall, probes)
                print(f"round {rnd + 1} {label:<11} (probe_io={used}) CPU "
                      f"{100 * (c1 - c0) / wall:5.1f} %  probes {probes / wall:7.0f}/s  "
                      f"connections {(acc1 - acc0) / wall:7.0f}/s  load "
                      f"{os.getloadavg()[0]:.2f}", flush=True)
            base = results.get(("plain", ios[0]), (0.0, 1.0, 0))
            base_share = base[0] / base[1]
            us = {}
            for key, (cpu, wall, probes) in results.items():
                if key[0] != "plain" and probes > 0:
                    us[key] = 1e6 * (cpu / wall - base_share) / (probes / wall)
            per_round.append(us)
    finally:
        lis.stop()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("us per probe (daemon CPU share less the plain run's of the same round, over "
          "probes/s), median (min-max) of rounds:")
    for key in [r for r in runs if r[0] != "plain"]:
        vals = [u[key] for u in per_round if key in u]
        if vals:
            label = f"{key[0]}/{key[1]}" if key[1] else key[0]
            print(f"  {label:<16} {statistics.median(vals):6.1f} us ({min(vals):.1f}-"
                  f"{max(vals):.1f})")
    for kind in dict.fromkeys(k for k, _ in runs if k != "plain"):
        for io in ios[1:]:
            ratios = [u[(kind, io)] / u[(kind, ios[0])] for u in per_round
                      if (kind, io) in u and u.get((kind, ios[0]), 0) > 0]
            if ratios:
                print(f"  {kind} {io}/{ios[0]} per round: "
                      f"{', '.join(f'{r:.2f}' for r in ratios)}; median "
                      f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=("gap", "cpu"), default="gap")
    ap.add_argument("--members", type=int)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--duration", type=float)
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--kinds", default="plain,tcp,http,http-close")
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "steerdns"))
    ap.add_argument("--probe-io", default="",
                    help="cpu mode: the daemon's --probe-io values to compare, e.g. libuv,uring")
    ap.add_argument("--rounds", type=int, default=1)
    a = ap.parse_args()
    if a.members is None:
        a.members = 10000 if a.mode == "gap" else 2000
    if a.duration is None:
        a.duration = 60.0 if a.mode == "gap" else 30.0
    if not 1 <= a.members <= 60000:
        sys.exit("probe_gap: --members must be 1-60000 (127.4.0.0/16)")
    if not os.access(a.binary, os.X_OK):
        sys.exit(f"probe_gap: no steerdns at {a.binary} (--binary)")
    tmp = tempfile.mkdtemp(prefix="probe-gap-")
    try:
        (mode_gap if a.mode == "gap" else mode_cpu)(a, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
