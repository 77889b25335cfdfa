#!/usr/bin/python3
"""HTTP keepalive between probes, against real HTTP/1.1 backends on loopback addresses that
count the TCP connections they accept: with the default keepalive one connection carries
every probe; with "keepalive": false each probe opens its own; a failing backend (503) gets
a fresh connection for every probe; a backend that drops its idle connections is probed on a
new one without a failure; a backend stopped and restarted goes down and comes back up, on a
new connection that is then kept again. Under a small open file limit the kept connections
are capped (logged) and probing goes on."""

import re
import sys

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402
from backends import (DOWN_BOUND, INTERVAL, SCALE, TIMING, UP_BOUND,  # noqa: E402
                      HttpBackend, common_port, wait_until)

LB = "lb.example.test."


def ip(n: int) -> str:
    return f"127.0.0.{n}"


def answer_set(srv, pool: str) -> set:
    r = srv.query(f"{pool}.{LB}", "A", timeout=1.0)
    return set(h.addresses(r)) if r is not None else {"<no response>"}


def zone(port: int) -> dict:
    z = h.lb_zone()
    z["checks"] = {
        "ka": dict(type="http", port=port, paths=["/healthz"], host="www.example.com", **TIMING),
        "close": dict(type="http", port=port, paths=["/healthz"], host="www.example.com",
                      keepalive=False, **TIMING),
    }
    z["pools"]["ka"] = {"check": "ka", "fallback": "none", "members": h.members(ip(41))}
    z["pools"]["close"] = {"check": "close", "fallback": "none", "members": h.members(ip(42))}
    z["pools"]["bad"] = {"check": "ka", "fallback": "none", "members": h.members(ip(43))}
    return z


with h.Test("keepalive") as t:
    port = common_port([ip(41), ip(42), ip(43)])
    b = {41: HttpBackend(ip(41), port, keepalive=True),
         42: HttpBackend(ip(42), port, keepalive=True),
         43: HttpBackend(ip(43), port, "503", keepalive=True)}
    for backend in b.values():
        backend.start()
    try:
        srv = t.start_server([zone(port)], threads=1)
        want = 8
        enough = wait_until(lambda: min(x.requests for x in b.values()) >= want,
                            (want + 4) * INTERVAL + 5 * SCALE, 0.05)
        t.check(f"every backend got {want} probes", enough is not None,
                detail=", ".join(f"{k}: {x.requests} requests" for k, x in b.items()))
        seen = {k: (x.connections, x.requests) for k, x in b.items()}
        print(f"# connections / probes: keepalive {seen[41][0]}/{seen[41][1]}, "
              f"keepalive false {seen[42][0]}/{seen[42][1]}, keepalive + 503 "
              f"{seen[43][0]}/{seen[43][1]}")
        t.eq("keepalive: one connection for every probe", seen[41][0], 1)
        # Counted at accept, before the request: one may be in flight.
        t.check("keepalive false: one connection per probe",
                0 <= seen[42][0] - seen[42][1] <= 1, detail=str(seen[42]))
        t.check("a failing probe closes its connection: one per probe while it fails",
                0 <= seen[43][0] - seen[43][1] <= 1, detail=str(seen[43]))
        t.eq("keepalive member up", answer_set(srv, "ka"), {ip(41)})
        t.eq("keepalive false member up", answer_set(srv, "close"), {ip(42)})
        t.eq("503 member down", answer_set(srv, "bad"), set())

        # ---- the backend closes its idle connection: the next probe opens another -----------
        c0, r0 = b[41].connections, b[41].requests
        b[41].httpd.drop()
        again = wait_until(lambda: b[41].requests >= r0 + 4, 8 * INTERVAL + 5 * SCALE, 0.05)
        t.check("probing goes on after the backend dropped the connection", again is not None)
        t.eq("on one new connection", b[41].connections, c0 + 1)
        t.check("no failure from the dropped connection: still up, no down line",
                answer_set(srv, "ka") == {ip(41)} and re.search(
                    rf'msg="member down" .*address={re.escape(ip(41))} ', srv.stderr()) is None,
                detail=srv.stderr()[-2000:])

        # ---- restarted: down, then up again on a new connection, kept again ------------------
        b[41].stop()
        gone = wait_until(lambda: answer_set(srv, "ka") == set(), DOWN_BOUND + 3, 0.02)
        t.check(f"stopped keepalive backend leaves the answers within {DOWN_BOUND:.2f} s",
                gone is not None and gone <= DOWN_BOUND, detail=f"took {gone}")
        c1 = b[41].connections
        b[41].start()
        back = wait_until(lambda: answer_set(srv, "ka") == {ip(41)}, UP_BOUND + 3, 0.02)
        t.check(f"restarted backend returns within {UP_BOUND:.2f} s", back is not None and
                back <= UP_BOUND, detail=f"took {back}")
        c2, r2 = b[41].connections, b[41].requests
        t.eq("up again on one new connection", c2, c1 + 1)
        steady = wait_until(lambda: b[41].requests >= r2 + 4, 8 * INTERVAL + 5 * SCALE, 0.05)
        t.check("and that connection is kept for the next probes",
                steady is not None and b[41].connections == c2,
                detail=f"{b[41].connections} connections, {b[41].requests} requests")
        print(f"# after the restart: {b[41].connections - c1} new connection(s) for "
              f"{b[41].requests - r2} more probes")

        # Kept connections hold descriptors: under a small open file limit they are capped
        # (logged), and the server still starts, probes and answers.
        class Limited(h.Server):
            def command(self):
                return ["prlimit", "--nofile=1300:1300", "--"] + super().command()

        small = zone(port)
        small["pools"]["many"] = {"check": "ka", "members": h.members(
            *[ip(n) for n in range(150, 170)])}
        lim = Limited(t.binary, [small], threads=1, name="nofile")
        try:
            t.check("a small open file limit: keepalive capped, logged", wait_until(
                lambda: re.search(r'msg="http keepalive limited by the open file limit" '
                                  r'keepalive_targets=22 kept=16', lim.stderr()), 5) is not None,
                    detail=lim.stderr()[-1500:])
            t.check("and the keepalive member is still probed up and answered", wait_until(
                lambda: answer_set(lim, "ka") == {ip(41)}, UP_BOUND + 3, 0.05) is not None)
        finally:
            lim.stop()
    finally:
        for backend in b.values():
            backend.stop()
