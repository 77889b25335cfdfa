#!/usr/bin/python3
"""Pending members (issue 15, "Start and reload"): a member an edit adds to a pool is not
answered before its first probe result. One whose backend is dead is never answered; one with a
live backend enters once probed; a pool whose only tested member is down answers a pending one
rather than nothing."""

import http.client
import json
import re
import socket
import sys

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402
from backends import DOWN_BOUND, TIMING, UP_BOUND, HttpBackend, common_port, wait_until  # noqa

LB = "lb.example.test."


def ip(n: int) -> str:
    return f"127.0.0.{n}"


def zone(port: int, addrs: list, serial: int) -> dict:
    z = h.lb_zone()
    z["soa"]["serial"] = serial
    z["checks"] = {"web": {"type": "http", "port": port, "paths": ["/healthz"],
                           "expect_status": [200], **TIMING}}
    z["pools"]["www"] = {"ttl": 5, "check": "web", "members": h.members(*addrs)}
    return z


def answer(srv) -> list:
    return sorted(h.addresses(srv.query("www." + LB, "A")))


def result_line(srv, address: str) -> bool:
    return re.search(r"member (up|down).*address=" + re.escape(address), srv.stderr()) is not None


with h.Test("pending members") as t:
    live, dead, late = ip(81), ip(82), ip(83)
    port = common_port([live, dead, late])
    backends = [HttpBackend(a, port, "ok", want_host=False) for a in (live, late)]
    for b in backends:
        b.start()
    try:
        srv = t.start_server([zone(port, [live], 1)])
        t.check("the first member passes its probe",
                wait_until(lambda: result_line(srv, live), UP_BOUND * 2) is not None,
                detail=srv.stderr())

        # An edit adds a member whose backend is dead: never answered, before or after its
        # first probe (before: pending; after: down).
        srv.write_zones([zone(port, [live, dead], 2)])
        t.check("the edit is loaded",
                wait_until(lambda: "zone reloaded" in srv.stderr(), 10.0) is not None)
        seen = set()
        took = wait_until(lambda: (seen.update(answer(srv)), result_line(srv, dead))[1],
                          DOWN_BOUND * 3)
        for _ in range(10):
            seen.update(answer(srv))
        print(f"# dead member's first result after {took if took is None else f'{took:.2f} s'};"
              f" answered meanwhile: {sorted(seen)}")
        t.eq("a member added with a dead backend is never answered", sorted(seen), [live])
        # Entering pending is a state change like the others: a log line and an event.
        t.check("logged as member pending", re.search(
            r'msg="member pending" zone=\S+ pool=www address=' + re.escape(dead), srv.stderr())
            is not None, detail=srv.stderr())
        conn = http.client.HTTPConnection("127.0.0.1", srv.control_port, timeout=5)
        conn.request("GET", "/events")
        events = json.loads(conn.getresponse().read())
        conn.close()
        t.eq("and an event, then its first result down",
             [e["state"] for e in reversed(events) if e["address"] == dead], ["pending", "down"])

        # An edit adds a member with a live backend: it enters after its first probe.
        srv.write_zones([zone(port, [live, dead, late], 3)])
        took = wait_until(lambda: answer(srv) == [live, late], UP_BOUND * 3)
        print(f"# live new member answered after {took if took is None else f'{took:.2f} s'}")
        t.check("a new member with a live backend enters once probed", took is not None,
                detail=str(answer(srv)))
        t.check("it entered after its first result was logged", result_line(srv, late),
                detail=srv.stderr())

        # Nothing tested is up: a pending member is answered rather than nothing.
        backends[0].stop()
        backends[1].stop()
        t.check("both tested members go down", wait_until(
            lambda: srv.stderr().count("member down") >= 3, DOWN_BOUND * 3) is not None,
            detail=srv.stderr())
        # Its backend accepts and never replies: the first result is a timeout, so the member
        # stays pending for at least the check's timeout, a window the test can see.
        other = ip(84)
        silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        silent.bind((other, port))
        silent.listen(16)
        srv.write_zones([zone(port, [live, dead, late, other], 4)])
        # "zone reloaded" is logged before the new snapshot is published; the new member's
        # "member pending" line comes after it.
        t.check("the last edit is loaded and its member pending", wait_until(
            lambda: f'msg="member pending" zone=lb.example.test. pool=www address={other}'
            in srv.stderr(), 10.0) is not None, detail=srv.stderr())
        t.eq("with every tested member down, the pending one is answered (not the fallback)",
             answer(srv), [other])
        silent.close()
    finally:
        for b in backends:
            b.stop()
