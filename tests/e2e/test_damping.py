#!/usr/bin/python3
"""Flap damping (README "Flap damping") against a real HTTP backend flipping between 200 and
500: with fast probes (rise 1, fall 1) and a short half-life, the member is suppressed after a
few changes (out of the answers although its probe says up, /status state "suppressed" with
the reason and until when, a "member suppressed" log line saying "flapping", the `_why` trace
saying so), and it comes back by itself once the penalty decays below reuse, no later than
the suppressed_until that /status promised (plus a probe interval and slack). A damped check
inside a composite check is damped alone and logged as "check suppressed", not as its member.
Bounded: about
10 s (x STEERDNS_TEST_TIME_SCALE in the sanitizer build)."""

import json
import re
import sys
import threading
import time
import urllib.request
from datetime import datetime

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402
from backends import SCALE, SLACK, HttpBackend, common_port, wait_until  # noqa: E402

LB = "lb.example.test."
FLAPPY, STEADY, PART = "127.0.0.71", "127.0.0.72", "127.0.0.73"
INTERVAL = round(0.2 * SCALE, 3)
FLIP = 3 * INTERVAL  # the backend changes every 3 probes: every change passes rise/fall 1
DAMPING = {"half_life": round(1.5 * SCALE, 3), "suppress": 2, "reuse": 1,
           "max_suppress": round(20 * SCALE, 3)}


def zone(port: int) -> dict:
    z = h.lb_zone()
    z["checks"] = {"web": {"type": "http", "port": port, "paths": ["/healthz"],
                           "interval": INTERVAL, "timeout": round(0.15 * SCALE, 3),
                           "rise": 1, "fall": 1, "damping": DAMPING}}
    z["checks"]["port"] = {"type": "tcp", "port": port, "interval": INTERVAL}
    z["pools"]["www"] = {"ttl": 5, "check": "web", "members": h.members(FLAPPY, STEADY)}
    # The damped check as one part of a composite, on a backend flapping the same way.
    z["pools"]["combo"] = {"ttl": 5, "check": ["web", "port"], "members": h.members(PART)}
    return z


def answers(srv) -> set:
    r = srv.query(f"www.{LB}", "A", timeout=1.0)
    return set(h.addresses(r)) if r is not None else {"<no response>"}


def member(srv, address: str) -> dict:
    with urllib.request.urlopen(srv.control_url + "/status", timeout=5) as r:
        doc = json.loads(r.read())
    for z in doc["zones"]:
        for p in z["pools"]:
            for m in p["members"]:
                if p["name"] == "www" and m["address"] == address:
                    return m
    return {}


def unix_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def why(srv) -> list:
    res = h.run(["dig", "@127.0.0.1", "-p", str(srv.port), "+tries=1", "+time=3", "TXT",
                 "_why.www." + LB, "+short"])
    return [json.loads(line) for line in res.stdout.splitlines() if line.startswith('"')]


with h.Test("damping") as t:
    port = common_port([FLAPPY, STEADY, PART])
    flappy, steady = HttpBackend(FLAPPY, port, want_host=False), HttpBackend(STEADY, port,
                                                                              want_host=False)
    part = HttpBackend(PART, port, want_host=False)
    flappy.start()
    steady.start()
    part.start()
    stop_flapping = threading.Event()

    def flap() -> None:
        while not stop_flapping.wait(FLIP):
            flappy.httpd.mode = part.httpd.mode = "500" if flappy.httpd.mode == "ok" else "ok"
        flappy.httpd.mode = part.httpd.mode = "ok"

    try:
        srv = t.start_server([zone(port)], extra_args=["--explain-from", "127.0.0.1/32"])
        t.check("both members answered before any flapping",
                wait_until(lambda: member(srv, FLAPPY).get("last_result") == "success" and
                           answers(srv) == {FLAPPY, STEADY}, 5 * SCALE) is not None)

        flapper = threading.Thread(target=flap, daemon=True)
        started = time.monotonic()
        flapper.start()
        took = wait_until(lambda: member(srv, FLAPPY).get("state") == "suppressed", 10 * SCALE,
                          0.05)
        part_line = rf'msg="check suppressed" .*address={re.escape(PART)} check=web '
        part_took = wait_until(lambda: re.search(part_line, srv.stderr()), 5 * SCALE, 0.05)
        # Stop at once, healthy: from here on only the damping keeps it out.
        stop_flapping.set()
        flapper.join(5)
        t.check("a member flipping every %g s is suppressed" % FLIP, took is not None,
                detail=json.dumps(member(srv, FLAPPY)))
        if took is not None:
            print(f"  suppressed {took:.2f} s after the flapping began")
        m = member(srv, FLAPPY)
        t.check("/status: the reason says flapping",
                re.fullmatch(r"flapping: \d+ changes in [0-9.hms]+",
                             m.get("suppressed_reason") or "") is not None, detail=json.dumps(m))
        until = unix_time(m["suppressed_until"]) if m.get("suppressed_until") else None
        t.check("/status: suppressed_until is in the future", until is not None and
                until > time.time() - 1, detail=json.dumps(m))
        t.eq("/status: the pool counts it as down", next(
            p["down"] for z in json.loads(urllib.request.urlopen(
                srv.control_url + "/status", timeout=5).read())["zones"]
            for p in z["pools"] if p["name"] == "www"), 1)

        # Healthy again, yet held down: the answers leave it out.
        t.check("its probe says up again", wait_until(
            lambda: member(srv, FLAPPY).get("last_result") == "success", 2 * SCALE) is not None)
        t.eq("while suppressed and up: out of the answers", answers(srv), {STEADY})
        t.eq("and /status still says suppressed", member(srv, FLAPPY).get("state"), "suppressed")
        lines = why(srv)
        t.check("_why: suppressed (flapping: ...)",
                any(line.startswith(f"member {FLAPPY} suppressed (flapping: ") for line in lines),
                detail="\n".join(lines))
        t.check("the log says why", wait_until(lambda: re.search(
            rf'msg="member suppressed" .*address={re.escape(FLAPPY)} check=web '
            r'reason="flapping: \d+ changes in [0-9.hms]+" until=', srv.stderr()), 2) is not None,
                detail=srv.stderr()[-2000:])

        # Back by itself once the penalty decays below reuse. Its return to up was one more
        # change, so the promise is read again; it is in whole seconds (rounded down).
        m = member(srv, FLAPPY)
        until = unix_time(m["suppressed_until"]) if m.get("suppressed_until") else None
        bound = (until + 1 - time.time() if until else 10 * SCALE) + INTERVAL + SLACK
        back = wait_until(lambda: answers(srv) == {FLAPPY, STEADY}, max(bound, 0.5), 0.05)
        t.check(f"back in the answers by suppressed_until + interval + slack ({bound:.1f} s)",
                back is not None, detail=json.dumps(member(srv, FLAPPY)))
        if back is not None:
            print(f"  answered again {time.monotonic() - started:.2f} s after the flapping began")
        m = member(srv, FLAPPY)
        t.eq("/status: up, no suppression left",
             (m.get("state"), m.get("suppressed_reason"), m.get("suppressed_until")),
             ("up", None, None))
        t.check("the log says it was released", re.search(
            rf'msg="member unsuppressed" .*address={re.escape(FLAPPY)} .*'
            r'reason="penalty below reuse" state=up', srv.stderr()) is not None,
                detail=srv.stderr()[-2000:])
        t.check("a composite's damped part: \"check suppressed\", not its member",
                part_took is not None and f'msg="member suppressed" zone={LB} pool=combo'
                not in srv.stderr(), detail=srv.stderr()[-2000:])
        t.check("the steady member was never suppressed",
                f"address={STEADY} check=web reason=\"flapping" not in srv.stderr())
    finally:
        stop_flapping.set()
        flappy.stop()
        steady.stop()
        part.stop()
