#!/usr/bin/python3
"""Soak test: one steerdns under steady UDP and TCP query load (dnsperf at a fixed rate) for a
bounded time, while it is abused and reconfigured:
  - a zone file edited every few seconds (in place and by rename), every reload checked;
  - HTTP backends started and stopped (members flapping through http checks);
  - bursts of malformed packets;
  - TCP connection floods from one address (over the per-address cap);
  - a UDP flood from one address, rate limited (RRL on, per /32);
and at the end: queries sent/answered/lost per transport, errors, RSS at start, end and max,
the server PID unchanged and its exit clean. Loopback only. Results in bench/results/.

Run from the repo root with a Release build:  bench/soak.py [--seconds 600]
Exit status 0 when every criterion holds."""

import argparse
import datetime
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import backends  # noqa: E402
import harness as h  # noqa: E402

import dns.flags  # noqa: E402
import dns.message  # noqa: E402

ZONE = "soak.test."
BACKENDS = [f"127.0.0.{i}" for i in range(51, 55)]
ATTACKER, MALFORMED_SRC, FLOODER, LEGIT_TCP = "127.0.0.66", "127.0.0.77", "127.0.0.88", "127.0.0.2"
LEGIT_UDP = ["127.0.0.3", "127.0.0.4"]  # each sends half the UDP load, well under the RRL rate
RRL_RATE = 1000
ATTACK = 5000  # queries per attack burst, at up to ~10 000/s


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def zone_json(serial, http_port):
    return {
        "zone": ZONE, "ttl": 60,
        "soa": {"mname": "ns1", "rname": "hostmaster", "serial": serial},
        "ns": ["ns1"],
        "records": ["ns1 A 127.0.0.1", "static A 192.0.2.1", f'version TXT "v{serial}"',
                    "docs CNAME web"] + [f"host{i} A 192.0.2.{i}" for i in range(2, 50)],
        "checks": {"web": {"type": "http", "port": http_port, "paths": ["/healthz"],
                           "interval": 1, "timeout": 0.5, "rise": 1, "fall": 1}},
        "pools": {
            "web": {"check": "web", "answers": 2, "ttl": 10, "members": h.members(*BACKENDS)},
            "rr": {"answers": 2, "members": h.members("192.0.2.100", "192.0.2.101",
                                                      "192.0.2.102", "2001:db8::100")},
        },
    }


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def parse_dnsperf(text):
    out = {}
    for key, pat in (("sent", r"Queries sent:\s+(\d+)"), ("completed", r"Queries completed:\s+(\d+)"),
                     ("lost", r"Queries lost:\s+(\d+)"), ("qps", r"Queries per second:\s+([\d.]+)"),
                     ("latency", r"Average Latency \(s\):\s+([\d.]+)"),
                     ("reconnections", r"Reconnections:\s+(\d+)")):
        m = re.search(pat, text)
        if m:
            out[key] = float(m.group(1)) if "." in m.group(1) else int(m.group(1))
    codes = re.search(r"Response codes:\s+(.*)", text)
    out["rcodes"] = {}
    if codes:
        for name, n in re.findall(r"([A-Z]+) (\d+)", codes.group(1)):
            out["rcodes"][name] = int(n)
    return out


class Soak:
    def __init__(self, args):
        self.args = args
        self.seconds = args.seconds
        self.tmp = Path(tempfile.mkdtemp(prefix="steerdns-soak-"))
        self.zones = self.tmp / "zones"
        self.zones.mkdir()
        self.port = h.free_port()
        self.http_port = backends.common_port(BACKENDS)
        self.serial = 1
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.c = {k: 0 for k in (
            "reloads_written", "check_queries", "check_errors", "flaps", "malformed_sent",
            "malformed_bursts", "flood_connections", "flood_rejected", "flood_rounds",
            "rrl_sent", "rrl_full", "rrl_tc", "rrl_rounds", "rrl_over")}
        self.errors = []
        self.rss = []  # (seconds, KiB)
        self.backends = [backends.HttpBackend(a, self.http_port, want_host=False)
                         for a in BACKENDS]
        self.up = [False] * len(BACKENDS)

    # -- setup -------------------------------------------------------------------------------
    def write_zone(self, rename):
        path = self.zones / "soak.test.json"
        text = json.dumps(zone_json(self.serial, self.http_port), indent=1)
        if rename:
            tmp = self.zones / ".soak.test.json.tmp"
            tmp.write_text(text)
            os.replace(tmp, path)
        else:
            with open(path, "w") as f:
                f.write(text)

    def start_server(self):
        for i, b in enumerate(self.backends):
            if i % 2 == 0:
                b.start()
                self.up[i] = True
        self.write_zone(rename=False)
        lb = json.loads((ROOT / "zones" / "lb.example.test.json").read_text())
        (self.zones / "lb.example.test.json").write_text(json.dumps(lb))
        self.cmd = [self.args.binary, "--zones", str(self.zones),
                    "--listen", f"127.0.0.1:{self.port}", "--threads", str(self.args.threads),
                    "--rrl-responses-per-second", str(RRL_RATE), "--rrl-ipv4-prefix", "32",
                    "--rrl-slip", "2"]
        self.stderr = open(self.tmp / "server.log", "wb")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self.stderr,
                                     stderr=self.stderr)
        self.pid = self.proc.pid
        for _ in range(100):
            if self.query("static." + ZONE, "A") is not None:
                return
            time.sleep(0.05)
        raise SystemExit(f"server did not start: {(self.tmp / 'server.log').read_text()}")

    def query(self, name, rdtype, timeout=1.0, tcp=False):
        q = dns.message.make_query(name, rdtype)
        try:
            if tcp:
                with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
                    s.sendall(h.frame(q.to_wire()))
                    d = h.recv_frame(s, timeout)
            else:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.settimeout(timeout)
                    s.sendto(q.to_wire(), ("127.0.0.1", self.port))
                    d = s.recvfrom(65535)[0]
            return dns.message.from_wire(d) if d else None
        except (OSError, dns.exception.DNSException):
            return None

    def error(self, what):
        with self.lock:
            self.errors.append(f"{time.monotonic() - self.t0:.1f}s {what}")

    # -- load ----------------------------------------------------------------------------------
    def start_dnsperf(self):
        qfile = self.tmp / "queries.txt"
        names = [("static", "A"), ("web", "A"), ("rr", "A"), ("rr", "AAAA"), ("docs", "A"),
                 ("version", "TXT"), ("@", "SOA"), ("host7", "A"), ("host42", "A")]
        qfile.write_text("".join(f"{(n + '.' if n != '@' else '')}{ZONE} {t}\n" for n, t in names))
        common = ["dnsperf", "-s", "127.0.0.1", "-p", str(self.port), "-d", str(qfile),
                  "-l", str(self.seconds), "-t", "2", "-c", "4"]
        self.perf = []
        for i, src in enumerate(LEGIT_UDP):
            out = open(self.tmp / f"dnsperf-udp{i + 1}.txt", "w")
            self.perf.append((out, subprocess.Popen(
                common + ["-a", src, "-Q", str(self.args.udp_qps // len(LEGIT_UDP))],
                stdout=out, stderr=subprocess.STDOUT)))
        out = open(self.tmp / "dnsperf-tcp.txt", "w")
        self.perf.append((out, subprocess.Popen(
            common + ["-m", "tcp", "-a", LEGIT_TCP, "-Q", str(self.args.tcp_qps)],
            stdout=out, stderr=subprocess.STDOUT)))

    # -- the events ------------------------------------------------------------------------------
    def reload(self, n):
        self.serial += 1
        self.write_zone(rename=n % 2 == 0)
        self.c["reloads_written"] += 1

    def check_answers(self):
        """Answers a client can verify: static data, the zone's current version (the last or
        the one before, a reload may be under way), a pool answer among its members."""
        r = self.query("static." + ZONE, "A")
        self.c["check_queries"] += 1
        if r is None or h.addresses(r) != ["192.0.2.1"]:
            self.error(f"static.{ZONE} A: {r and r.to_text()}")
            self.c["check_errors"] += 1
        r = self.query("version." + ZONE, "TXT", tcp=True)
        self.c["check_queries"] += 1
        got = [rd.to_text().strip('"') for rr in (r.answer if r else []) for rd in rr]
        if got not in ([f"v{self.serial}"], [f"v{self.serial - 1}"], [f"v{self.serial - 2}"]):
            self.error(f"version TXT: {got} (serial {self.serial})")
            self.c["check_errors"] += 1
        r = self.query("web." + ZONE, "A")
        self.c["check_queries"] += 1
        got = h.addresses(r) if r else None
        if not got or not set(got) <= set(BACKENDS):
            self.error(f"web A: {got}")
            self.c["check_errors"] += 1

    def flap(self, n):
        i = n % len(self.backends)
        if self.up[i]:
            self.backends[i].stop()
        else:
            self.backends[i].start()
        self.up[i] = not self.up[i]
        self.c["flaps"] += 1

    def malformed_burst(self, n):
        rng = random.Random(1000 + n)
        valid = dns.message.make_query("static." + ZONE, "A").to_wire()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((MALFORMED_SRC, 0))
            s.setblocking(False)
            for i in range(2000):
                kind = i % 4
                if kind == 0:
                    pkt = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
                elif kind == 1:
                    pkt = valid[: rng.randrange(0, len(valid))]
                elif kind == 2:
                    b = bytearray(valid)
                    for _ in range(rng.randrange(1, 6)):
                        b[rng.randrange(len(b))] = rng.randrange(256)
                    pkt = bytes(b)
                else:
                    pkt = valid[:12] + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80)))
                try:
                    s.sendto(pkt, ("127.0.0.1", self.port))
                except BlockingIOError:
                    time.sleep(0.001)
                if i % 100 == 99:
                    time.sleep(0.005)  # a burst, not a send-buffer overflow on our side
                    try:
                        while s.recv(65535):
                            pass
                    except BlockingIOError:
                        pass
        self.c["malformed_sent"] += 2000
        self.c["malformed_bursts"] += 1

    def tcp_flood(self, n):
        conns = []
        deadline = time.monotonic() + 5
        for _ in range(400):
            if time.monotonic() > deadline:
                break
            try:
                conns.append(socket.create_connection(("127.0.0.1", self.port), timeout=2,
                                                      source_address=(FLOODER, 0)))
            except OSError:
                break
        time.sleep(0.5)
        rejected = 0
        for s in conns:
            s.setblocking(False)
            try:
                if s.recv(1) == b"":
                    rejected += 1
            except BlockingIOError:
                pass
            except OSError:
                rejected += 1
        time.sleep(1.5)  # held, silent
        for s in conns:
            s.close()
        self.c["flood_connections"] += len(conns)
        self.c["flood_rejected"] += rejected
        self.c["flood_rounds"] += 1

    def rrl_attack(self, n):
        q = dns.message.make_query("web." + ZONE, "A")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((ATTACKER, 0))
            s.setblocking(False)
            start = time.monotonic()
            full = tc = 0
            for i in range(ATTACK):
                q.id = i % 65536
                s.sendto(q.to_wire(), ("127.0.0.1", self.port))
                if i % 100 == 99:
                    time.sleep(0.01)  # <= 10 000/s: a flood, not our own buffer overflowing
                    full, tc = self._drain(s, full, tc)
            took = time.monotonic() - start
            end = time.monotonic() + 0.5
            while time.monotonic() < end:
                time.sleep(0.05)
                full, tc = self._drain(s, full, tc)
        windows = int(took) + 2
        self.c["rrl_sent"] += ATTACK
        self.c["rrl_full"] += full
        self.c["rrl_tc"] += tc
        self.c["rrl_rounds"] += 1
        if full > RRL_RATE * windows:
            self.c["rrl_over"] += 1
            self.error(f"RRL: {full} full answers in {took:.2f}s (rate {RRL_RATE})")

    @staticmethod
    def _drain(s, full, tc):
        try:
            while True:
                d = s.recv(65535)
                if len(d) > 3 and d[2] & 0x02:
                    tc += 1
                else:
                    full += 1
        except BlockingIOError:
            return full, tc

    # -- the run ----------------------------------------------------------------------------------
    def run(self):
        log(f"soak: {self.seconds} s, server on 127.0.0.1:{self.port}, backends on port "
            f"{self.http_port}, work dir {self.tmp}")
        self.start_server()
        self.t0 = time.monotonic()
        self.start_dnsperf()
        schedule = {  # event: (first at, every)
            "rss": (0, 1), "check": (0.5, 1), "reload": (2, 3), "flap": (4, 5),
            "malformed": (12, 30), "flood": (18, 45), "rrl": (8, 20)}
        due = {k: v[0] for k, v in schedule.items()}
        count = {k: 0 for k in schedule}
        last_report = 0
        while True:
            now = time.monotonic() - self.t0
            if now >= self.seconds:
                break
            if self.proc.poll() is not None:
                self.error(f"server exited with {self.proc.returncode}")
                break
            for k, (first, every) in schedule.items():
                if now < due[k]:
                    continue
                due[k] += every
                n = count[k]
                count[k] += 1
                if k == "rss":
                    self.rss.append((round(now, 1), rss_kib(self.pid)))
                elif k == "check":
                    self.check_answers()
                elif k == "reload":
                    self.reload(n)
                elif k == "flap":
                    self.flap(n)
                elif k == "malformed":
                    self.malformed_burst(n)
                elif k == "flood":
                    self.tcp_flood(n)
                elif k == "rrl":
                    self.rrl_attack(n)
            if now - last_report >= 60:
                last_report = now
                log(f"t={now:.0f}s rss={self.rss[-1][1] if self.rss else '?'} KiB "
                    f"reloads={self.c['reloads_written']} flaps={self.c['flaps']} "
                    f"errors={len(self.errors)}")
            time.sleep(0.05)
        return self.finish()

    def finish(self):
        for out, p in self.perf:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGINT)
                p.wait(5)
            out.close()
        udp = {"sent": 0, "completed": 0, "lost": 0, "rcodes": {}, "latency": 0.0}
        for i in range(len(LEGIT_UDP)):
            one = parse_dnsperf((self.tmp / f"dnsperf-udp{i + 1}.txt").read_text())
            for k in ("sent", "completed", "lost"):
                udp[k] += one.get(k, 0)
            for k, v in one["rcodes"].items():
                udp["rcodes"][k] = udp["rcodes"].get(k, 0) + v
            udp["latency"] = max(udp["latency"], one.get("latency", 0.0))
        tcp = parse_dnsperf((self.tmp / "dnsperf-tcp.txt").read_text())
        # The last version must be what is served.
        time.sleep(1.5)
        r = self.query(ZONE, "SOA")
        final_serial = r.answer[0][0].serial if r is not None and r.answer else None
        alive = self.proc.poll() is None
        rss_end = rss_kib(self.pid)
        self.rss.append((round(time.monotonic() - self.t0, 1), rss_end))
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = None
        self.stderr.close()
        for b in self.backends:
            b.stop()
        text = (self.tmp / "server.log").read_text(errors="replace")
        totals = {}
        for line in text.splitlines():
            if "msg=totals" in line:
                totals = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)\b", line) if k != "ts"}
        starts = text.count('msg="steerdns started"')
        reloaded = text.count('msg="zone reloaded"')
        rejected = text.count("previous version keeps serving")
        downs = text.count('msg="member down"')
        ups = text.count('msg="member up"')
        sanitizer = [l for l in text.splitlines() if "Sanitizer" in l or "runtime error:" in l]
        warmed = [k for t, k in self.rss if t >= 15 and k] or [k for _, k in self.rss if k]
        rss_start, rss_max = warmed[0], max(k for _, k in self.rss if k)
        growth = rss_end - rss_start if rss_end and rss_start else None
        udp_lost, tcp_lost = udp.get("lost"), tcp.get("lost")
        non_noerror = sum(v for k, v in udp["rcodes"].items() if k != "NOERROR") + \
            sum(v for k, v in tcp["rcodes"].items() if k != "NOERROR")
        crit = [
            ("the server ran throughout (one start, same PID, alive at the end)",
             alive and starts == 1),
            ("exit code 0 on SIGTERM", code == 0),
            ("UDP: no query lost", udp_lost == 0),
            ("TCP: no query lost", tcp_lost == 0),
            ("every answer NOERROR (dnsperf)", non_noerror == 0),
            ("checked answers all correct", self.c["check_errors"] == 0),
            ("every reload taken, none rejected", rejected == 0 and
             final_serial == self.serial),
            ("RRL held the attacker to the rate", self.c["rrl_over"] == 0),
            ("RSS flat (end within 10% + 4 MiB of the start after warm-up)",
             growth is not None and growth <= rss_start * 0.10 + 4096),
            ("no sanitizer report", not sanitizer),
        ]
        ok = all(c for _, c in crit)
        summary = {
            "seconds": self.seconds, "threads": self.args.threads, "pid": self.pid,
            "udp": udp, "tcp": tcp, "events": self.c, "final_serial": final_serial,
            "serial_written": self.serial, "zone_reloaded_lines": reloaded,
            "zone_rejected_lines": rejected, "member_down_lines": downs,
            "member_up_lines": ups, "rss_kib": {"start": rss_start, "end": rss_end,
                                                "max": rss_max, "growth": growth},
            "server_totals": totals, "exit_code": code, "starts": starts,
            "errors": self.errors[:50], "criteria": {d: bool(c) for d, c in crit}, "pass": ok,
        }
        self.write_results(summary)
        return ok

    def write_results(self, s):
        out = Path(self.args.out) if self.args.out else \
            ROOT / "bench" / "results" / f"{datetime.date.today().isoformat()}-soak"
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").write_text(json.dumps(s, indent=2) + "\n")
        (out / "rss.tsv").write_text("seconds\trss_kib\n" + "".join(
            f"{t}\t{k}\n" for t, k in self.rss))
        for name in [f"dnsperf-udp{i + 1}.txt" for i in range(len(LEGIT_UDP))] + ["dnsperf-tcp.txt"]:
            (out / name).write_text((self.tmp / name).read_text())
        u, t, e, r = s["udp"], s["tcp"], s["events"], s["rss_kib"]
        lines = [
            f"# steerdns soak, {s['seconds']} s ({datetime.datetime.now().isoformat(timespec='seconds')})",
            "",
            f"Command: `{' '.join(self.cmd)}` (loopback; temp dirs replaced by names)".replace(
                str(self.tmp), "$TMP"),
            f"Load: dnsperf UDP at {self.args.udp_qps} q/s (two instances, from "
            f"{' and '.join(LEGIT_UDP)}) and TCP at {self.args.tcp_qps} q/s (from {LEGIT_TCP}), "
            f"4 clients each, 2 s timeout, for the whole run.",
            "",
            "| | sent | answered | lost | rcodes | avg latency ms |",
            "|---|---|---|---|---|---|",
            f"| UDP | {u.get('sent')} | {u.get('completed')} | {u.get('lost')} | {u['rcodes']} | "
            f"{u.get('latency', 0) * 1000:.3f} (worse instance) |",
            f"| TCP | {t.get('sent')} | {t.get('completed')} | {t.get('lost')} | {t['rcodes']} | "
            f"{t.get('latency', 0) * 1000:.3f} |",
            "",
            f"- Zone edits: {e['reloads_written']} (every 3 s, alternating in-place write and "
            f"rename); 'zone reloaded' log lines: {s['zone_reloaded_lines']}; rejected: "
            f"{s['zone_rejected_lines']}; serial served at the end {s['final_serial']} "
            f"(last written {s['serial_written']}).",
            f"- Backend flaps: {e['flaps']} (an HTTP backend stopped or started every 5 s); "
            f"'member down' lines {s['member_down_lines']}, 'member up' lines "
            f"{s['member_up_lines']}.",
            f"- Checked answers: {e['check_queries']} (static A, zone version TXT over TCP, "
            f"pool members), wrong: {e['check_errors']}.",
            f"- Malformed packets: {e['malformed_sent']} in {e['malformed_bursts']} bursts.",
            f"- TCP floods: {e['flood_rounds']} x up to 400 connections from one address: "
            f"{e['flood_connections']} opened, {e['flood_rejected']} closed at once by the "
            f"per-address cap.",
            f"- RRL attacker ({RRL_RATE}/s per /32, slip 2): {e['rrl_sent']} queries in "
            f"{e['rrl_rounds']} bursts: {e['rrl_full']} answered, {e['rrl_tc']} TC, "
            f"{e['rrl_sent'] - e['rrl_full'] - e['rrl_tc']} dropped.",
            f"- RSS (KiB): start (after 15 s warm-up) {r['start']}, end {r['end']}, max "
            f"{r['max']}, growth {r['growth']}.",
            f"- Server PID {s['pid']}: {s['starts']} start(s), exit code {s['exit_code']}.",
            f"- Server totals: {s['server_totals']}",
            "",
            "| criterion | |", "|---|---|",
        ] + [f"| {d} | {'pass' if c else 'FAIL'} |" for d, c in s["criteria"].items()] + [
            "", f"**{'PASS' if s['pass'] else 'FAIL'}**", ""]
        if s["errors"]:
            lines += ["Errors (first 50):", ""] + [f"- {x}" for x in s["errors"]] + [""]
        (out / "summary.md").write_text("\n".join(lines))
        print("\n".join(lines))
        log(f"results in {out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=600, help="length of the run (default 600)")
    ap.add_argument("--binary", default=str(ROOT / "build" / "steerdns"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--udp-qps", type=int, default=1000)
    ap.add_argument("--tcp-qps", type=int, default=500)
    ap.add_argument("--out", help="results directory (default bench/results/<date>-soak)")
    args = ap.parse_args()
    if not 10 <= args.seconds <= 3600:
        ap.error("--seconds must be 10-3600")
    soak = Soak(args)
    try:
        ok = soak.run()
    finally:
        if getattr(soak, "proc", None) is not None and soak.proc.poll() is None:
            soak.proc.kill()
        for _, p in getattr(soak, "perf", []):
            if p.poll() is None:
                p.kill()
        for b in soak.backends:
            b.stop()
        h._release_ports()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
