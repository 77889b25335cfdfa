#!/usr/bin/python3
"""Events against the real binary: a real HTTP backend flipped to 500 and back shows as
"down" then "up" in GET /events (newest first) and runs the zone's notify program with the
substituted arguments; a member shared by two pools gives one event per pool; a drain and an
undrain through the control API are events too; a first result "up" is not one, a first
"down" is; a notify program that fails is logged once, and one still running does not hold up
the stop (the harness's 5 s bound)."""

import http.client
import json
import re
import sys
import time

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402
from backends import (DOWN_BOUND, SCALE, TIMING, UP_BOUND, HttpBackend,  # noqa: E402
                      common_port, wait_until)

LB = "lb.example.test."
TOKEN = "e2e-events-token-7c1d"
A, B, C = "127.0.0.31", "127.0.0.32", "127.0.0.33"


def request(srv, method, path, body=None, token=None):
    conn = http.client.HTTPConnection("127.0.0.1", srv.control_port, timeout=5)
    hdrs = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers=hdrs)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read().decode()
    finally:
        conn.close()


def events(srv):
    status, _, body = request(srv, "GET", "/events")
    assert status == 200, f"GET /events: {status} {body}"
    return json.loads(body)


def notified(path):
    """The notify script's lines: one per run, its arguments joined by |."""
    try:
        return path.read_text().splitlines()
    except OSError:
        return []


with h.Test("events") as t:
    tmp = t.tempdir()
    token_file = tmp / "token"
    token_file.write_text(TOKEN + "\n")
    out = tmp / "notified.txt"
    script = tmp / "on-change.sh"
    script.write_text("#!/bin/sh\n"
                      "[ \"$4\" = drained ] && { echo 'notify: refusing drained' >&2; exit 7; }\n"
                      f"IFS='|'; echo \"$*\" >> {out}\n"
                      # Still running at the stop below: the daemon must not wait for it.
                      "[ \"$4\" = undrained ] && sleep 8\n"
                      "exit 0\n")
    script.chmod(0o755)
    port = common_port([A, B, C])
    backends = {A: HttpBackend(A, port), B: HttpBackend(B, port), C: HttpBackend(C, port, "500")}
    for b in backends.values():
        b.start()
    zone = h.lb_zone()
    zone["checks"] = {"web": {"type": "http", "port": port, "paths": ["/healthz"],
                              "host": "www.example.com", **TIMING}}
    zone["notify"] = [str(script), "{zone}", "{pool}", "{address}", "{state}", "{reason}"]
    zone["pools"]["web"] = {"check": "web", "members": [{"address": A}, {"address": B}]}
    zone["pools"]["api"] = {"check": "web", "members": [{"address": A}]}
    zone["pools"]["bad"] = {"check": "web", "members": [{"address": C}]}
    try:
        srv = t.start_server([zone], threads=1,
                             extra_args=["--control-token-file", str(token_file)])
        # A and B come up at their first result: nothing to report. C's first is down: one.
        t.check("first results seen", wait_until(
            lambda: srv.stderr().count('msg="member up"') >= 2 and
            'msg="member down"' in srv.stderr(), 3.0 * SCALE) is not None, detail=srv.stderr())
        time.sleep(0.3)
        t.eq("a first result up is no event, a first result down is",
             [(e["pool"], e["address"], e["state"], e["reason"]) for e in events(srv)],
             [("bad", C, "down", "http GET /healthz: status 500 (first result)")])
        t.check("and runs notify", wait_until(lambda: notified(out) == [
            f"{LB}|bad|{C}|down|http GET /healthz: status 500 (first result)"], 3.0 * SCALE) is not None,
            detail=str(notified(out)))
        status, hdrs, body = request(srv, "POST", "/events", body={}, token=TOKEN)
        t.eq("POST /events: 405", status, 405)
        status, _, _ = request(srv, "HEAD", "/events")
        t.eq("HEAD /events: 200", status, 200)

        # ---- down, then up ---------------------------------------------------------------------
        backends[A].httpd.mode = "500"
        t.check("A down in /events", wait_until(
            lambda: any(e["state"] == "down" and e["address"] == A for e in events(srv)),
            DOWN_BOUND + 1) is not None)
        backends[A].httpd.mode = "ok"
        t.check("A up again in /events", wait_until(
            lambda: len(events(srv)) >= 5, UP_BOUND + 1) is not None, detail=str(events(srv)))
        ev = events(srv)
        t.eq("one event per member and change: A in web and in api, down then up",
             [(e["pool"], e["address"], e["state"]) for e in ev[:4]],
             [("api", A, "up"), ("web", A, "up"), ("api", A, "down"), ("web", A, "down")])
        t.check("every event names the zone, a reason and an RFC 3339 time",
                all(e["zone"] == LB and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", e["time"])
                    for e in ev), detail=str(ev))
        t.eq("the reason of down: the probe result and how many",
             ev[2]["reason"], "http GET /healthz: status 500 (after 2 failures)")
        t.eq("the reason of up",
             ev[0]["reason"], "http GET /healthz: status 200 (after 2 successes)")
        t.eq("the keys, in order", list(ev[0].keys()),
             ["time", "zone", "pool", "address", "state", "reason"])
        t.check("notify ran for each", wait_until(lambda: len(notified(out)) >= 5, 3.0 * SCALE)
                is not None, detail=str(notified(out)))
        t.eq("notify arguments, substituted",
             sorted(notified(out)[1:]),
             sorted([f"{LB}|web|{A}|down|http GET /healthz: status 500 (after 2 failures)",
                     f"{LB}|api|{A}|down|http GET /healthz: status 500 (after 2 failures)",
                     f"{LB}|web|{A}|up|http GET /healthz: status 200 (after 2 successes)",
                     f"{LB}|api|{A}|up|http GET /healthz: status 200 (after 2 successes)"]))

        # ---- drain and undrain -----------------------------------------------------------------
        status, _, body = request(srv, "POST", "/drain", token=TOKEN,
                                  body={"zone": LB, "pool": "web", "address": B})
        t.eq("drain: 200", status, 200)
        status, _, body = request(srv, "POST", "/undrain", token=TOKEN,
                                  body={"zone": LB, "pool": "web", "address": B})
        t.eq("undrain: 200", status, 200)
        ev = events(srv)
        t.eq("drain and undrain are events, newest first",
             [(e["pool"], e["address"], e["state"], e["reason"]) for e in ev[:2]],
             [("web", B, "undrained", "control API"), ("web", B, "drained", "control API")])
        t.check("notify ran for undrain", wait_until(
            lambda: any("|undrained|" in line for line in notified(out)), 3.0 * SCALE) is not None)
        t.check("a failing notify program is logged with its exit status", wait_until(
            lambda: re.search(r'msg="notify program failed" .*address=127\.0\.0\.32 '
                              r'state=drained outcome="exit 7"', srv.stderr()), 3.0 * SCALE) is not None,
                detail=srv.stderr()[-3000:])
        t.check("its stderr lands in the daemon's log",
                "notify: refusing drained" in srv.stderr())
        t.eq("and it ran once (never retried)",
             srv.stderr().count('msg="notify program failed"'), 1)
        t.eq("the events stayed in the ring", len(events(srv)), 7)
        t.check_alive(srv, "still serving")
    finally:
        for b in backends.values():
            b.stop()
