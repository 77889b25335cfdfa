#!/usr/bin/python3
"""Health across restarts (README "Health at start") against real HTTP backends: two healthy
members and one whose backend is dead (nothing listens: connection refused) throughout.

1. No state file: the first www answer after the start already excludes the dead member (the
   first probe round runs before any query is answered), and the state file gets the entries.
2. kill -9, restart: the first answer excludes the dead member again, this time from the saved
   state with no probe in between (the check's interval is an hour: no probe can have run),
   which the log line and the `_why` trace say.
3. A clean stop writes the health entries.
4. Entries older than --health-max-age are ignored (the members are probed instead), and an
   entry with a state this build does not know is skipped.
5. --start-probe-wait 0 keeps the old behaviour: nothing is waited for, the dead member is
   answered at first.
The start waits measured are printed."""

import json
import re
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402
from backends import SCALE, HttpBackend, common_port  # noqa: E402

LB = "lb.example.test."
WEB = "web." + LB
UP1, UP2, DEAD = "127.0.0.61", "127.0.0.62", "127.0.0.63"
# An hour between probes: the first scheduled probe falls at a random point of it, so none
# runs during the few seconds each part looks at (only the start's own first round does).
INTERVAL = 3600
TIMEOUT = round(2 * SCALE, 3)


def health_zone(port: int) -> dict:
    z = h.lb_zone()
    z["checks"] = {"web": {"type": "http", "port": port, "paths": ["/healthz"],
                           "host": "www.example.com", "interval": INTERVAL, "timeout": TIMEOUT,
                           "rise": 2, "fall": 2}}
    z["pools"]["web"] = {"policy": "round-robin", "ttl": 5, "answers": 3, "check": "web",
                         "members": h.members(UP1, UP2, DEAD)}
    return z


def spawn(srv: h.Server, extra: list) -> float:
    """Starts srv (again) with `extra` args; the monotonic time of the spawn."""
    srv.extra_args = list(extra)
    srv.port = h.free_port(srv.host)
    srv.control_port = h.free_port("127.0.0.1")
    srv._spawn()
    return time.monotonic()


def first_answer(srv: h.Server, started: float, timeout: float = 20.0):
    """The first answer to web A (queried from the moment of the spawn), and when it came."""
    deadline = started + timeout
    while time.monotonic() < deadline and srv.running():
        r = srv.query(WEB, "A", timeout=0.2)
        if r is not None and r.answer:
            return set(h.addresses(r)), time.monotonic() - started
        time.sleep(0.02)
    return None, None


def start_line(log: str):
    m = re.search(r'msg="health at start" members_from_saved_state=(\d+) first_probe=(\d+) '
                  r'unprobed=(\d+) waited_ms=(\d+)', log)
    return tuple(int(x) for x in m.groups()) if m else None


def state(srv: h.Server) -> dict:
    path = srv.zones_dir / ".steerdns-state.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def entry(doc: dict, address: str):
    for e in doc.get("health", []):
        if e.get("address") == address:
            return e
    return None


def why(srv: h.Server) -> list:
    q = urllib.parse.urlencode({"name": WEB, "type": "A"})
    with urllib.request.urlopen(f"{srv.control_url}/why?{q}", timeout=5) as r:
        return json.loads(r.read().decode())["lines"]


def wait_for(fn, timeout: float, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return None


def rfc3339(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


with h.Test("restart health") as t:
    port = common_port([UP1, UP2, DEAD])
    backends = [HttpBackend(a, port) for a in (UP1, UP2)]
    for b in backends:
        b.start()
    srv = h.Server(t.binary, [health_zone(port)], threads=1, name="restart", wait=False)
    waits = {}

    # ---- 1. no state file: the first probe round runs before the first answer ---------------
    started = spawn(srv, [])
    got, after = first_answer(srv, started)
    t.eq("no state file: the first answer excludes the dead member", got, {UP1, UP2})
    line = wait_for(lambda: start_line(srv.stderr()), 5)
    t.check("the start line counts three first probes",
            line is not None and line[:3] == (0, 3, 0), detail=srv.stderr())
    if line:
        waits["first probe round"] = (line[3], after)
    t.check("the dead member's first probe said why",
            re.search(rf'msg="member down" .*address={re.escape(DEAD)} .*reason="http GET '
                      r'/healthz: connect: connection refused"', srv.stderr()), detail=srv.stderr())
    saved = wait_for(lambda: (entry(state(srv), DEAD) or {}).get("state") == "down", 5)
    doc = state(srv)
    t.check("within a second the state file holds the dead member down", saved,
            detail=json.dumps(doc))
    t.check("... and both healthy members up",
            all((entry(doc, a) or {}).get("state") == "up" for a in (UP1, UP2)),
            detail=json.dumps(doc))
    e = entry(doc, DEAD) or {}
    t.check("an entry has its key, state, count, since, last, last_ok and reason",
            set(e) >= {"key", "state", "count", "since", "last", "last_ok", "reason"}
            and e.get("last_ok") is False and "connection refused" in e.get("reason", ""),
            detail=json.dumps(e))
    t.eq("the drains are kept beside it", doc.get("drained"), [])

    # ---- 2. kill -9 with the member down, restart: saved state, no probe in between ---------
    srv.proc.kill()
    srv.proc.wait(5)
    mark = len(srv.stderr())
    started = spawn(srv, [])
    got, after = first_answer(srv, started)
    t.eq("after kill -9: the first answer excludes the dead member", got, {UP1, UP2})
    log = wait_for(lambda: start_line(srv.stderr()[mark:]) and srv.stderr()[mark:], 5) or ""
    line = start_line(log)
    t.check("the start line: three members from the saved state, nothing probed",
            line is not None and line[:3] == (3, 0, 0), detail=log)
    if line:
        waits["saved state"] = (line[3], after)
    lines = wait_for(lambda: why(srv), 5) or []
    dead = next((x for x in lines if x.startswith(f"member {DEAD} ")), "")
    t.check("_why: the dead member is down from the saved state, not probed since the start",
            dead.startswith(f"member {DEAD} down since ")
            and "(saved state, not probed since the start)" in dead
            and "connection refused" in dead, detail="\n".join(lines))
    log = srv.stderr()[mark:]
    t.check("no probe result since the restart",
            not re.search(r'msg="member (up|down)"', log), detail=log)

    # ---- 3. a clean stop writes the health entries ------------------------------------------
    before = state(srv)
    t.eq("clean stop: exit 0", srv.stop(), 0)
    doc = state(srv)
    t.check("clean stop: the log says the health state was saved",
            re.search(r'msg="health state saved" file=\S+\.steerdns-state\.json probes=3',
                      srv.stderr()[mark:]), detail=srv.stderr()[mark:])
    t.eq("clean stop: three health entries", len(doc.get("health", [])), 3)
    t.eq("clean stop: the dead member is still down", (entry(doc, DEAD) or {}).get("state"),
         "down")
    t.eq("clean stop: its last result is the one of the first run (no probe since)",
         (entry(doc, DEAD) or {}).get("last"), (entry(before, DEAD) or {}).get("last"))
    t.check("no temporary state file left",
            not (srv.zones_dir / ".steerdns-state.json.tmp").exists())

    # ---- 4. stale entries are ignored, unknown states skipped --------------------------------
    # The stale ones lie (the live member down, the dead one up): believed, they would show.
    stale = rfc3339(datetime.now(timezone.utc) - timedelta(seconds=400))
    for e in doc["health"]:
        if e.get("address") == UP1:
            e.update(state="down", last=stale, since=stale, last_ok=False)
        elif e.get("address") == DEAD:
            e.update(state="up", last=stale, since=stale, last_ok=True)
    (srv.zones_dir / ".steerdns-state.json").write_text(json.dumps(doc, indent=2))
    mark = len(srv.stderr())
    started = spawn(srv, [])
    got, after = first_answer(srv, started)
    t.eq("entries older than --health-max-age (300 s) are probed, not believed", got, {UP1, UP2})
    log = wait_for(lambda: start_line(srv.stderr()[mark:]) and srv.stderr()[mark:], 5) or ""
    line = start_line(log)
    t.check("the start line: one member from the saved state, two probed",
            line is not None and line[:3] == (1, 2, 0), detail=log)
    srv.stop()
    doc = state(srv)
    fresh = rfc3339(datetime.now(timezone.utc))
    for e in doc["health"]:
        e.update(state="sideways" if e.get("address") == DEAD else "down", last=fresh,
                 since=fresh)
    (srv.zones_dir / ".steerdns-state.json").write_text(json.dumps(doc, indent=2))
    mark = len(srv.stderr())
    started = spawn(srv, ["--health-max-age", "3600"])
    got, after = first_answer(srv, started)
    t.check("a fresh entry is believed even when wrong (the live members start down: fallback)",
            got is not None, detail=str(got))
    log = wait_for(lambda: start_line(srv.stderr()[mark:]) and srv.stderr()[mark:], 5) or ""
    line = start_line(log)
    t.check("an unknown state name is skipped: that member is probed",
            line is not None and line[:3] == (2, 1, 0), detail=log)
    t.check("the server started despite it", srv.running())
    srv.stop()

    # ---- 5. --start-probe-wait 0: today's behaviour ------------------------------------------
    (srv.zones_dir / ".steerdns-state.json").unlink()
    mark = len(srv.stderr())
    started = spawn(srv, ["--start-probe-wait", "0"])
    got, after = first_answer(srv, started)
    t.check("--start-probe-wait 0: the dead member is answered at first (unknown counts as up)",
            got is not None and DEAD in got, detail=str(got))
    log = wait_for(lambda: start_line(srv.stderr()[mark:]) and srv.stderr()[mark:], 5) or ""
    line = start_line(log)
    t.check("the start line: three unprobed members, no wait",
            line is not None and line[:3] == (0, 0, 3) and line[3] < 1000, detail=log)
    if line:
        waits["--start-probe-wait 0"] = (line[3], after)
    srv.stop()

    for b in backends:
        b.stop()
    for what, (waited, first) in waits.items():
        print(f"# start wait ({what}): waited_ms={waited}, first answer "
              f"{first * 1000:.0f} ms after the spawn")
