#!/usr/bin/python3
"""Zone size limits (records, members, pools, file size): a zone over a cap is rejected with a
located error and its previous good version keeps serving; `check` applies the same caps.
Probe caps: with --max-exec-checks or --max-probes-in-flight reached, probes wait their turn
(delayed, never dropped) and the server says so in its log."""

import collections
import json
import re
import sys
import time

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import backends as b  # noqa: E402
import harness as h  # noqa: E402

ZONE_NAME = "cap.example.test."


def zone(pools=2, records=2, members_per_pool=2, pad=0):
    z = {"zone": ZONE_NAME, "ttl": 60,
         "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1},
         "ns": ["ns1"],
         "records": ["ns1 A 127.0.0.1"] + [f"r{i} A 192.0.2.{i % 250 + 1}" for i in range(records - 1)]
                    + [f'pad{i} TXT "{"x" * 100}"' for i in range(pad)],
         "pools": {}}
    m = 0
    for p in range(pools):
        z["pools"][f"p{p}"] = {"members": [{"address": f"198.51.100.{(m := m + 1)}"}
                                           for _ in range(members_per_pool)]}
    return z


def wait_for(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def a_records(srv, name):
    r = srv.query(name, "A", timeout=1.0)
    return (r.rcode(), sorted(h.addresses(r))) if r is not None else None


with h.Test("zone and probe limits") as t:
    # ---- zone caps on reload --------------------------------------------------------------------
    srv = t.start_server({"cap.json": zone()}, threads=1, extra_args=[
        "--max-zone-pools", "3", "--max-zone-members", "6", "--max-zone-records", "5",
        "--max-zone-file-size", "8192"])
    path = srv.zones_dir / "cap.json"
    good = a_records(srv, "p1." + ZONE_NAME)
    t.eq("the first version serves p1", good, (0, ["198.51.100.3", "198.51.100.4"]))

    cases = [
        ("4 pools (--max-zone-pools 3)", zone(pools=4, members_per_pool=1),
         r"cap\.json:\d+:\d+: pools\.p3: 4 pools, more than the limit of 3 \(--max-zone-pools\)"),
        ("8 members (--max-zone-members 6)", zone(pools=2, members_per_pool=4),
         r"cap\.json:\d+:\d+: pools\.p1\.members\[2\]: 8 members in the zone, more than the "
         r"limit of 6 \(--max-zone-members\)"),
        ("6 records (--max-zone-records 5)", zone(records=6),
         r"cap\.json:\d+:\d+: records\[5\]: 6 records, more than the limit of 5 "
         r"\(--max-zone-records\)"),
        ("a 9 KB file (--max-zone-file-size 8192)", zone(records=1, pad=80),
         r"cap\.json: more than 8192 bytes, the limit \(--max-zone-file-size\)"),
    ]
    for i, (what, z, pattern) in enumerate(cases):
        mark = len(srv.stderr())
        z["soa"]["serial"] = 10 + i
        path.write_text(json.dumps(z, indent=1))
        seen = wait_for(lambda: re.search(pattern, srv.stderr()[mark:]) is not None, 5.0)
        t.check(f"{what}: the error names file, line, column and path", seen,
                detail=srv.stderr()[mark:][-1500:])
        # The error and the verdict are two log lines, written one after the other.
        t.check(f"{what}: 'previous version keeps serving' is logged",
                wait_for(lambda: "previous version keeps serving" in srv.stderr()[mark:], 5.0))
        t.eq(f"{what}: the previous version still answers", a_records(srv, "p1." + ZONE_NAME),
             good)
    # Back within the caps: the next good version is taken.
    z = zone(pools=3, members_per_pool=2)
    z["soa"]["serial"] = 99
    path.write_text(json.dumps(z, indent=1))
    t.check("a version within the caps is served again",
            wait_for(lambda: a_records(srv, "p2." + ZONE_NAME) ==
                     (0, ["198.51.100.5", "198.51.100.6"]), 5.0))

    # ---- `steerdns check` applies the same caps --------------------------------------------------
    d = t.tempdir()
    f = d / "cap.json"
    f.write_text(json.dumps(zone(pools=3), indent=1))
    r = h.run([t.binary, "--max-zone-pools", "2", "check", str(f)])
    t.eq("check --max-zone-pools 2 on 3 pools: exit 1", r.returncode, 1)
    t.check("check names the pool over the cap",
            re.search(r"cap\.json:\d+:\d+: pools\.p2: 3 pools, more than the limit of 2",
                      r.stderr) is not None, detail=r.stderr)
    r = h.run([t.binary, "check", str(f)])
    t.eq("check with the default caps: exit 0", r.returncode, 0)

    # ---- probe caps -----------------------------------------------------------------------------
    for flag, value in (("--max-exec-checks", "1"), ("--max-probes-in-flight", "1")):
        d = t.tempdir()
        log = d / "runs.log"
        script = d / "check.sh"
        # Each run logs its start and end. Eight runs of 0.1 s are due every 1.5 s, each at
        # its own phase: one at a time they fit with room to spare (so none times out or
        # misses its next turn, even on a loaded machine, where a run takes 0.15 s or more),
        # and the first round, all eight at once before the first answer, reaches the cap.
        script.write_text(f"#!/bin/sh\necho \"start $1\" >> {log}\nsleep 0.1\n"
                          f"echo \"end $1\" >> {log}\nexit 0\n")
        script.chmod(0o755)
        addrs = [f"127.0.0.{i}" for i in range(41, 49)]
        z = {"zone": "probes.example.test.", "soa": {"mname": "ns1", "rname": "h", "serial": 1},
             "ns": ["ns1"], "records": ["ns1 A 127.0.0.1"],
             # Stretched in the sanitizer build (backends.SCALE), where a run killed at its
             # timeout on a loaded machine leaves no "end" line and reads as two at once.
             "checks": {"slow": {"type": "exec", "command": [str(script), "{address}"],
                                 "interval": 1.5 * b.SCALE, "timeout": 1.4 * b.SCALE}},
             "pools": {"www": {"check": "slow", "members": h.members(*addrs)}}}
        p = t.start_server([z], threads=1, name=f"probes{flag}", extra_args=[flag, value])
        time.sleep(4.0 * b.SCALE)
        lines = log.read_text().split("\n") if log.exists() else []
        lines = [l for l in lines if l]
        running = 0
        worst = 0
        for l in lines:
            running += 1 if l.startswith("start") else -1
            worst = max(worst, running)
        runs = collections.Counter(l.split()[1] for l in lines if l.startswith("start"))
        print(f"  {flag} {value}: {len(runs)} addresses, runs {dict(runs)}, at most {worst} "
              f"at once")
        t.eq(f"{flag} {value}: never more than one check running at once", worst, 1)
        t.eq(f"{flag} {value}: every member is probed (delayed, not dropped)", sorted(runs),
             addrs)
        t.check(f"{flag} {value}: each member is probed again and again",
                min(runs.values(), default=0) >= 2, detail=f"{dict(runs)}")
        t.check(f"{flag} {value}: the log says probes are delayed",
                re.search(r'msg="probe cap reached, probes delayed".*waiting=\d+', p.stderr())
                is not None, detail=p.stderr()[-2000:])
        r = p.query("www.probes.example.test.", "A")
        t.expect(r, f"{flag} {value}: members stay up", rcode="NOERROR", answer_count=8)
        p.stop()
