#!/usr/bin/python3
"""Failback (issue 15): a failover pool's primary killed and restarted does not take the answers
back at once. With "failback": {"delay": 2} it returns after being up 2 s (not before); with
"manual" the backup keeps answering, the primary in state standby ("up (awaiting failback)"),
until `steerdns failback ZONE POOL ADDRESS`. /status, ?state=standby, `steerdns status`, the
_why trace and GET /events show it; releasing a member that is not waiting is refused. A
manual hold outlives a restart (the state file keeps it) until it is released."""

import datetime
import http.client
import json
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402
from backends import (DOWN_BOUND, SLACK, TIMING, UP_BOUND, HttpBackend, common_port,  # noqa
                      wait_until)

LB = "lb.example.test."
PRIMARY, BACKUP = "127.0.0.91", "127.0.0.92"
DELAY = 2.0
TOKEN = "e2e-failback-token-5e2a"
CTX = {}  # the binary and the token file, set once the Test has parsed its arguments


def zone(port: int) -> dict:
    z = h.lb_zone()
    z["checks"] = {"web": {"type": "http", "port": port, "paths": ["/healthz"],
                           "expect_status": [200], **TIMING}}
    members = [{"address": PRIMARY, "priority": 10}, {"address": BACKUP, "priority": 5}]
    # The same two backends in two pools: one manual, one with a delay. Each pool keeps its
    # own hold (the manual pool's probe is its own).
    z["pools"]["www"] = {"policy": "failover", "ttl": 30, "ttl_degraded": 5, "check": "web",
                         "failback": "manual", "members": members}
    z["pools"]["api"] = {"policy": "failover", "ttl": 30, "check": "web",
                         "failback": {"delay": DELAY}, "members": members}
    return z


def answer(srv, pool: str) -> list:
    return sorted(h.addresses(srv.query(f"{pool}.{LB}", "A")))


def request(srv, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", srv.control_port, timeout=5)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Authorization": f"Bearer {TOKEN}"})
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def member(srv, pool: str, address: str) -> dict:
    status, body = request(srv, "GET", "/status")
    assert status == 200, body
    for z in json.loads(body)["zones"]:
        for p in z["pools"]:
            if p["name"] == pool:
                for m in p["members"]:
                    if m["address"] == address:
                        return m
    return {}


def unix(rfc3339: str) -> float:
    return datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def cli(srv, *args) -> subprocess.CompletedProcess:
    return subprocess.run([CTX["binary"], *args, "--control",
                           f"127.0.0.1:{srv.control_port}", "--control-token-file",
                           str(CTX["token_file"])], capture_output=True, text=True, timeout=10)


def standby_logged(srv, pool: str):
    """When the log says the primary went standby in `pool` (ms precision), or None."""
    m = re.search(r'ts=(\S+) level=info msg="member standby" zone=\S+ pool=' + pool +
                  r" address=" + re.escape(PRIMARY), srv.stderr())
    return unix(m.group(1)) if m else None


with h.Test("failback") as t:
    CTX["binary"] = t.binary
    CTX["token_file"] = t.tempdir() / "token"
    CTX["token_file"].write_text(TOKEN + "\n")
    port = common_port([PRIMARY, BACKUP])
    primary = HttpBackend(PRIMARY, port, "ok", want_host=False)
    backup = HttpBackend(BACKUP, port, "ok", want_host=False)
    primary.start()
    backup.start()
    try:
        srv = t.start_server([zone(port)],
                             extra_args=["--control-token-file", str(CTX["token_file"])])
        # The primary must have served (a first result up) for its return to be held.
        t.check("the primary passes its first probe in both pools", wait_until(
            lambda: len(re.findall(r'msg="member up" zone=\S+ pool=(?:www|api) address=' +
                                   re.escape(PRIMARY), srv.stderr())) >= 2,
            UP_BOUND * 2) is not None, detail=srv.stderr())
        t.eq("up at start: the primary answers, never held", answer(srv, "www"), [PRIMARY])
        t.eq("and in the delay pool", answer(srv, "api"), [PRIMARY])

        primary.stop()
        took = wait_until(lambda: answer(srv, "www") == [BACKUP] and
                          answer(srv, "api") == [BACKUP], DOWN_BOUND * 2)
        t.check("primary killed: the backup answers", took is not None,
                detail=f"{answer(srv, 'www')} {answer(srv, 'api')}")

        primary = HttpBackend(PRIMARY, port, "ok", want_host=False)
        primary.start()
        # The delay pool: standby with an end time, answers back at that time and not before.
        took = wait_until(lambda: member(srv, "api", PRIMARY).get("state") == "standby",
                          UP_BOUND * 2, step=0.02)
        t.check("primary back up: standby in the delay pool", took is not None,
                detail=str(member(srv, "api", PRIMARY)))
        m = member(srv, "api", PRIMARY)
        t.eq("its reason", m.get("failback_reason"), "awaiting failback for 2s")
        t.check("and when it ends", m.get("failback_until") is not None, detail=str(m))
        began = wait_until(lambda: standby_logged(srv, "api"), 2.0)
        t.check("logged as member standby", began is not None, detail=srv.stderr())
        until = (standby_logged(srv, "api") or time.time()) + DELAY
        early = []
        switched = None
        deadline = until + 2 * SLACK
        while time.time() < deadline:
            got, now = answer(srv, "api"), time.time()
            if got == [PRIMARY]:
                switched = now
                break
            early.append(now)
        print(f"# delay pool: answers returned {switched - until + DELAY if switched else None!r}"
              f" s after the primary went standby (delay {DELAY} s)")
        t.check("the delay pool answers the primary again after the delay",
                switched is not None)
        t.check("not before the delay is over (100 ms of clock slack), nor long after",
                switched is not None and until - 0.1 <= switched <= until + SLACK,
                detail=f"switched {switched} until {until}")
        t.check("the backup answered until then", len(early) > 0)

        # The manual pool: the primary waits for an operator, after the delay too.
        t.eq("the manual pool still answers the backup", answer(srv, "www"), [BACKUP])
        m = member(srv, "www", PRIMARY)
        t.eq("state standby, reason manual, no end time",
             (m.get("state"), m.get("failback_reason"), m.get("failback_until")),
             ("standby", "awaiting failback (manual)", None))
        r = srv.query(f"www.{LB}", "A")
        t.eq("answers at ttl_degraded while the primary awaits failback",
             [rr.ttl for rr in r.answer], [5])
        status, body = request(srv, "GET", "/status?state=standby")
        listed = [(p["name"], m["address"]) for z in json.loads(body)["zones"]
                  for p in z["pools"] for m in p["members"]] if status == 200 else body
        t.eq("?state=standby lists it", listed, [("www", PRIMARY)])
        out = cli(srv, "status")
        t.check("steerdns status shows it awaiting failback",
                re.search(r"www\s+127\.0\.0\.91\s+standby \(awaiting failback, manual\)",
                          out.stdout) is not None, detail=out.stdout + out.stderr)
        # A drain request's reply names the member's state as /status does (not "up").
        status, body = request(srv, "POST", "/undrain",
                               {"zone": LB, "pool": "www", "address": PRIMARY})
        t.eq("POST /undrain of it (not drained): its state in the reply is standby",
             (status, json.loads(body).get("state") if status == 200 else body), (200, "standby"))
        why = cli(srv, "why", f"www.{LB}")
        t.check("_why: awaiting failback, not down, in the pool and member lines",
                "(degraded: 1 of 2 awaiting failback)" in why.stdout and
                re.search(r"127\.0\.0\.91\s+up, awaiting failback \(manual\)", why.stdout)
                is not None,
                detail=why.stdout + why.stderr)

        # Release: refused for a member that does not wait or does not exist, then done.
        out = cli(srv, "failback", LB, "www", BACKUP)
        t.check("releasing a member that is not waiting: exit 1, 409",
                out.returncode == 1 and "HTTP 409" in out.stderr and
                "is not awaiting failback (state: up)" in out.stderr, detail=out.stderr)
        out = cli(srv, "failback", LB, "wwx", PRIMARY)
        t.check("an unknown pool: exit 1, 404", out.returncode == 1 and "HTTP 404" in out.stderr
                and 'pool "wwx" not found' in out.stderr, detail=out.stderr)
        t.eq("nothing moved", answer(srv, "www"), [BACKUP])
        out = cli(srv, "failback", LB, "www", PRIMARY)
        t.check("steerdns failback releases it", out.returncode == 0, detail=out.stderr)
        took = wait_until(lambda: answer(srv, "www") == [PRIMARY], 2.0, step=0.02)
        t.check("the manual pool answers the primary again", took is not None,
                detail=str(answer(srv, "www")))
        t.eq("state up", member(srv, "www", PRIMARY).get("state"), "up")
        out = cli(srv, "failback", LB, "www", PRIMARY)
        t.check("a second release is refused", out.returncode == 1 and "HTTP 409" in out.stderr,
                detail=out.stderr)

        # Events: each step of the primary in each pool, newest first.
        status, body = request(srv, "GET", "/events")
        ev = [(e["pool"], e["state"]) for e in reversed(json.loads(body))
              if e["address"] == PRIMARY]
        t.eq("events: down, standby, up in each pool",
             [s for p, s in ev if p == "www"], ["down", "standby", "up"])
        t.eq("and in the delay pool", [s for p, s in ev if p == "api"], ["down", "standby", "up"])
        reasons = [e["reason"] for e in json.loads(body) if e["address"] == PRIMARY]
        t.check("the reasons say why it came back",
                "failback released by the control API" in reasons and
                "failback delay of 2s over" in reasons, detail=str(reasons))
        t.check("log lines", "member standby" in srv.stderr() and
                "failback released" in srv.stderr(), detail=srv.stderr())

        # A manual hold outlives a restart: the state file keeps it, and the operator's
        # decision is still pending after a clean stop and start.
        primary.stop()
        t.check("primary killed again: the backup answers", wait_until(
            lambda: answer(srv, "www") == [BACKUP], DOWN_BOUND * 2) is not None)
        primary = HttpBackend(PRIMARY, port, "ok", want_host=False)
        primary.start()
        t.check("back up: standby again", wait_until(
            lambda: member(srv, "www", PRIMARY).get("state") == "standby", UP_BOUND * 2,
            step=0.02) is not None, detail=str(member(srv, "www", PRIMARY)))
        t.eq("stopped cleanly", srv.stop(), 0)
        saved = json.loads((srv.zones_dir / ".steerdns-state.json").read_text())
        held = [e.get("failback") for e in saved.get("health", [])
                if e.get("address") == PRIMARY and e.get("state") == "up"]
        t.check("the state file says the primary's hold: failback held", "held" in held,
                detail=json.dumps(saved))
        mark = len(srv.stderr())
        srv.start()
        t.eq("restarted: the manual pool still answers the backup", answer(srv, "www"),
             [BACKUP])
        m = member(srv, "www", PRIMARY)
        t.eq("still standby, awaiting a manual failback", (m.get("state"),
             m.get("failback_reason")), ("standby", "awaiting failback (manual)"))
        t.check("logged: member standby from the saved state", re.search(
            r'msg="member standby" zone=\S+ pool=www address=' + re.escape(PRIMARY) +
            r' .*reason="saved state"', srv.stderr()[mark:]) is not None,
                detail=srv.stderr()[mark:])
        out = cli(srv, "failback", LB, "www", PRIMARY)
        t.check("released after the restart", out.returncode == 0 and wait_until(
            lambda: answer(srv, "www") == [PRIMARY], 2.0, step=0.02) is not None,
                detail=out.stderr)
    finally:
        primary.stop()
        backup.stop()
