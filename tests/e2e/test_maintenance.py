#!/usr/bin/python3
"""Maintenance windows: a member key "maintenance" drains the member from each window's start
to its end, on time and without a reload (the server arms a timer for the next boundary); the
trace and /status say why; `steerdns check` rejects a bad window with a located error."""

import json
import re
import sys
import time
import urllib.request

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402
from backends import SCALE  # noqa: E402

LB = "lb.example.test."


def member(srv, address):
    with urllib.request.urlopen(srv.control_url + f"/status?zone={LB}&pool=www", timeout=5) as r:
        doc = json.loads(r.read().decode())
    for m in doc["zones"][0]["pools"][0]["members"]:
        if m["address"] == address:
            return m
    return None



def wait_for(cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


with h.Test("maintenance windows") as t:
    # Whole seconds: a window starting 3 s from the next second, lasting 3 s.
    start = int(time.time()) + 3
    zone = h.lb_zone()
    zone["pools"]["www"]["ttl"] = 2
    zone["pools"]["www"]["members"][1]["maintenance"] = [
        {"start": rfc3339(start), "end": rfc3339(start + 3)}]
    srv = t.start_server([zone])

    def serves_11():
        seen = set()
        for _ in range(8):
            seen |= set(h.addresses(srv.query("www." + LB, "A")))
        return "192.0.2.11" in seen

    t.check("before the window: answered", serves_11())
    gone = wait_for(lambda: not serves_11(), 8.0)
    left_at = time.time()
    t.check(f"the window begins: out of the answers within 1 s (at +{left_at - start:.2f} s)",
            gone and -0.2 <= left_at - start <= 1.2 * SCALE)
    m = member(srv, "192.0.2.11")
    t.eq("status: draining, by the maintenance window", (m["state"], m["drained_by"]),
         ("draining", "maintenance"))
    why = h.run(["dig", "@127.0.0.1", "-p", str(srv.port), "+short", "TXT", "_why.www." + LB])
    t.check("the trace says why it is out", "member 192.0.2.11 drained (maintenance window)"
            in why.stdout, detail=why.stdout)
    back = wait_for(serves_11, 8.0)
    back_at = time.time()
    t.check(f"the window ends: answered again within 1 s (at +{back_at - start - 3:.2f} s)",
            back and -0.2 <= back_at - start - 3 <= 1.2 * SCALE)
    t.eq("status: up again", member(srv, "192.0.2.11")["state"], "up")
    t.check("no reload was needed: the log says why it recompiled",
            "trigger=maintenance" in srv.stderr() or "drained members changed" in srv.stderr(),
            detail=srv.stderr()[-1500:])

    bad = h.lb_zone()
    bad["pools"]["www"]["members"][1]["maintenance"] = [
        {"start": "2026-12-25T02:00:00Z", "end": "2026-12-24T22:00:00Z"},
        {"start": "tomorrow", "end": "2026-12-24T22:00:00Z"},
        {"start": "2026-12-24T22:00:00Z", "ends": "2026-12-25T02:00:00Z"}]
    path = t.tempdir("steerdns-e2e-maint-") / "lb.example.test.json"
    path.write_text(json.dumps(bad, indent=1))
    res = h.run([t.binary, "check", str(path)])
    t.eq("check: a bad window fails it", res.returncode, 1)
    t.check("check: an end before its start, located",
            re.search(r"json:\d+:\d+: pools\.www\.members\[1\]\.maintenance\[0\]\.end: end "
                      r"\"2026-12-24T22:00:00Z\" is not after its start", res.stderr)
            is not None, detail=res.stderr)
    t.check("check: a time that is not RFC 3339, located",
            re.search(r"maintenance\[1\]\.start: \"tomorrow\" is not a time", res.stderr)
            is not None, detail=res.stderr)
    t.check("check: a misspelt key, with did-you-mean",
            re.search(r"maintenance\[2\]\.ends: unknown key \"ends\" \(did you mean \"end\"\?\)",
                      res.stderr) is not None, detail=res.stderr)
