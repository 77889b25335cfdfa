#!/usr/bin/python3
"""Composite checks (issue 15): a member's "check" given as a list of checks with "require".
Two http checks on different ports and paths probe each member (real HTTP backends on
127.0.0.x). With "require": "all" killing one part's backend takes the member out of answers;
after a zone edit to "require": "any" it is answered again. /status, `steerdns status`, the
_why trace, the log and GET /events show each part's own state. `steerdns check` and the
JSON Schema reject the same malformed lists, with located errors."""

import copy
import json
import re
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402
from backends import DOWN_BOUND, TIMING, UP_BOUND, HttpBackend, common_port, wait_until  # noqa

import jsonschema  # noqa: E402

LB = "lb.example.test."
REPO = Path(__file__).resolve().parents[2]


def ip(n: int) -> str:
    return f"127.0.0.{n}"


def zone(web_port: int, api_port: int, addrs: list, serial: int, require=None) -> dict:
    z = h.lb_zone()
    z["soa"]["serial"] = serial
    z["checks"] = {
        "web": {"type": "http", "port": web_port, "paths": ["/healthz"], "expect_status": [200],
                **TIMING},
        "api": {"type": "http", "port": api_port, "paths": ["/"], "expect_status": [200],
                **TIMING},
    }
    pool = {"ttl": 5, "check": ["web", "api"], "members": h.members(*addrs)}
    if require is not None:
        pool["require"] = require
    z["pools"]["www"] = pool
    return z


def answer(srv) -> list:
    return sorted(h.addresses(srv.query("www." + LB, "A")))


def get_json(srv, path: str):
    with urllib.request.urlopen(srv.control_url + path, timeout=5) as r:
        return json.loads(r.read())


def member(srv, address: str) -> dict:
    for z in get_json(srv, "/status")["zones"]:
        for p in z["pools"]:
            for m in p["members"]:
                if m["address"] == address:
                    return m
    return {}


def parts(m: dict) -> list:
    return [(c["name"], c["state"]) for c in m.get("checks", [])]


def trace(srv, name: str) -> list:
    res = h.run(["dig", "@127.0.0.1", "-p", str(srv.port), "+tries=1", "+time=3", "TXT", name,
                 "+short"])
    return [json.loads(line) for line in res.stdout.splitlines() if line.startswith('"')]


def start_line(log: str):
    m = re.search(r'msg="health at start" members_from_saved_state=(\d+) first_probe=(\d+) '
                  r'unprobed=(\d+)', log)
    return tuple(int(x) for x in m.groups()) if m else None


def check_zone(binary: str, doc: dict, d: Path) -> subprocess.CompletedProcess:
    p = d / "lb.example.test.json"
    p.write_text(json.dumps(doc, indent=2))
    return subprocess.run([binary, "check", str(p)], capture_output=True, text=True, timeout=10)


with h.Test("composite checks") as t:
    # ---- the zone format: steerdns check and the schema agree ---------------------------
    schema = json.loads((REPO / "zones" / "schema" / "zone.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    good = zone(8080, 8081, [ip(1)], 1, require="any")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for what, req in [("default (all)", None), ("all", "all"), ("any", "any"), ("2", 2)]:
            doc = zone(8080, 8081, [ip(1)], 1, require=req)
            r = check_zone(t.binary, doc, d)
            t.check(f"steerdns check accepts require {what}", r.returncode == 0,
                    detail=r.stdout + r.stderr)
            t.eq(f"and the schema (require {what})",
                 [e.message for e in validator.iter_errors(doc)], [])
        # A member's own list beside its pool's single check.
        doc = zone(8080, 8081, [ip(1), ip(2)], 1)
        doc["pools"]["www"]["check"] = "web"
        doc["pools"]["www"]["members"][1].update({"check": ["web", "api"], "require": 1})
        r = check_zone(t.binary, doc, d)
        t.check("a member's own list is accepted", r.returncode == 0, detail=r.stdout + r.stderr)
        t.eq("and by the schema", [e.message for e in validator.iter_errors(doc)], [])

        bad = []  # (what, mutate, expected message part, json path)
        bad.append(("unknown name", lambda p: p.update(check=["web", "apl"]),
                    'unknown check "apl" (did you mean "api"?)', "pools.www.check[1]"))
        bad.append(("duplicate name", lambda p: p.update(check=["web", "web"]),
                    'duplicate check "web"', "pools.www.check[1]"))
        bad.append(("empty list", lambda p: p.update(check=[]),
                    "expected at least one check name", "pools.www.check"))
        bad.append(("require above the list", lambda p: p.update(require=3),
                    "", "pools.www.require"))
        bad.append(("require 0", lambda p: p.update(require=0), "", "pools.www.require"))
        bad.append(("require as another word", lambda p: p.update(require="most"),
                    'bad require "most"', "pools.www.require"))
        bad.append(("require without a list", lambda p: p.update(check="web", require="any"),
                    '"require" applies only to a list of checks', "pools.www.require"))
        bad.append(("misspelt require", lambda p: p.update(requre="any"),
                    'did you mean "require"?', "pools.www.requre"))
        for what, mutate, message, path in bad:
            doc = copy.deepcopy(good)
            doc["pools"]["www"].pop("require", None)
            mutate(doc["pools"]["www"])
            r = check_zone(t.binary, doc, d)
            out = r.stdout + r.stderr
            t.check(f"steerdns check rejects: {what}", r.returncode == 1, detail=out)
            located = re.search(r"lb\.example\.test\.json:\d+:\d+: " + re.escape(path) + ": ",
                                out)
            t.check(f"  located at {path}", located is not None, detail=out)
            if message:
                t.check(f"  says {message!r}", message in out, detail=out)
            schema_rejects = any(True for _ in validator.iter_errors(doc))
            if what == "require above the list":
                # A schema cannot compare a number with a list's length: only check can.
                t.check("  (the schema allows 3; check knows the list has 2)", not schema_rejects)
            elif what != "unknown name":  # names are not the schema's business
                t.check(f"  the schema rejects it too: {what}", schema_rejects)
        doc = copy.deepcopy(good)
        doc["checks"]["off"] = {"type": "none"}
        doc["pools"]["www"]["check"] = ["web", "off"]
        r = check_zone(t.binary, doc, d)
        t.check("a \"none\" check in a list is rejected",
                r.returncode == 1 and 'check "off" is of type none' in r.stdout + r.stderr,
                detail=r.stdout + r.stderr)

    # ---- a running server -----------------------------------------------------------------
    a, b = ip(91), ip(92)
    web_port = common_port([a, b])
    api_port = common_port([a, b])
    while api_port == web_port:
        api_port = common_port([a, b])
    webs = [HttpBackend(x, web_port, "ok", want_host=False) for x in (a, b)]
    apis = [HttpBackend(x, api_port, "ok", want_host=False) for x in (a, b)]
    for be in webs + apis:
        be.start()
    try:
        srv = t.start_server([zone(web_port, api_port, [a, b], 1)])
        up_lines = lambda: len(re.findall(r"member up.*check=web\+api", srv.stderr()))  # noqa
        t.check("both members' composites come up (one \"member up\" line each)",
                wait_until(lambda: up_lines() >= 2, UP_BOUND * 3) is not None,
                detail=srv.stderr())
        t.eq("both are answered", answer(srv), [a, b])
        # first_probe + unprobed: a probe slower than its timeout on a loaded machine is
        # counted unprobed, so only the sum is fixed.
        line = start_line(srv.stderr())
        t.check("the start line counts members (2), not checks (4)",
                line is not None and line[0] == 0 and line[1] + line[2] == 2, detail=str(line))
        m = member(srv, a)
        t.eq("/status: check is composite, require all", (m.get("check"), m.get("require")),
             ("composite", "all"))
        t.eq("/status: each part's own state", parts(m), [("web", "up"), ("api", "up")])
        t.check("/status: each part's own reason",
                all(c.get("reason", "").startswith("http GET") for c in m.get("checks", [])),
                detail=json.dumps(m))
        t.check("the parts log \"check up\", not \"member up\"",
                re.search(r"check up.*address=" + re.escape(a) + r".*check=api", srv.stderr())
                is not None, detail=srv.stderr())

        # require all: one part down takes the member out.
        apis[0].stop()
        took = wait_until(lambda: answer(srv) == [b], DOWN_BOUND * 2)
        print(f"# require all: out of answers {took if took is None else f'{took:.2f} s'} after "
              "its api backend stopped")
        t.check("require all: one part down takes the member out of answers", took is not None,
                detail=str(answer(srv)))
        # Answers change a moment before the line is written: wait for it, bounded.
        down_re = r"member down.*address=" + re.escape(a) + r".*"
        wait_until(lambda: re.search(down_re, srv.stderr()) is not None, 5.0)
        down = re.search(down_re, srv.stderr())
        t.check("one \"member down\" line with the parts' states",
                down is not None and "reason=\"web up, api down (require all)\"" in down.group(0),
                detail=srv.stderr())
        print("# " + (down.group(0) if down else "no member down line"))
        m = member(srv, a)
        t.eq("/status: the member is down", (m.get("state"), m.get("health")), ("down", "down"))
        t.eq("/status: web up, api down", parts(m), [("web", "up"), ("api", "down")])
        lines = trace(srv, "_why.www." + LB)
        line = next((x for x in lines if x.startswith(f"member {a} ")), "")
        print("# _why: " + line)
        t.check("_why names the failing part and why",
                "checks web up, api down (require all); api: http GET /" in line,
                detail="\n".join(lines))
        def mine():
            ev = get_json(srv, "/events")
            evs = ev if isinstance(ev, list) else ev.get("events", [])
            return [e for e in evs if e.get("address") == a]

        wait_until(lambda: len(mine()) > 0, 5.0)  # the control thread records it just after
        t.eq("GET /events: one event for the member, down, with the parts' states",
             [(e.get("state"), e.get("reason")) for e in mine()],
             [("down", "web up, api down (require all)")])
        st = h.run([t.binary, "status", "--control", srv.control_url.split("//")[1]])
        row = next((x for x in st.stdout.splitlines() if a in x), "")
        print("# steerdns status: " + row)
        t.check("steerdns status shows each part", "web:up api:down (all)" in row,
                detail=st.stdout + st.stderr)

        # A zone edit to require any: the member is back with only web up.
        srv.write_zones([zone(web_port, api_port, [a, b], 2, require="any")])
        took = wait_until(lambda: answer(srv) == [a, b], 10.0)
        print(f"# require any: answered again {took if took is None else f'{took:.2f} s'} "
              "after the edit")
        t.check("after the edit to require any, it is answered again", took is not None,
                detail=srv.stderr())
        m = member(srv, a)
        t.eq("/status: require any, up", (m.get("require"), m.get("state")), ("any", "up"))
        t.eq("/status: the parts kept their states across the reload", parts(m),
             [("web", "up"), ("api", "down")])

        # require any: it goes only when both parts are down.
        webs[0].stop()
        took = wait_until(lambda: answer(srv) == [b], DOWN_BOUND * 2)
        t.check("require any: out of answers once both parts are down", took is not None,
                detail=str(answer(srv)))
        both_re = r"member down.*address=" + re.escape(a) + r".*web down, api down \(require any\)"
        t.check("logged with both parts down", wait_until(
            lambda: re.search(both_re, srv.stderr()) is not None, 5.0) is not None,
            detail=srv.stderr())
        # A restart: the state file keeps the checks' probes, not the derived states, and the
        # member's state is recomputed from them before the first answer.
        mark = len(srv.stderr())
        t.eq("clean stop: exit 0", srv.stop(), 0)
        saved = json.loads((srv.zones_dir / ".steerdns-state.json").read_text()).get("health", [])
        t.eq("the state file keeps the 4 probes (2 checks x 2 members)", len(saved), 4)
        srv.start()
        t.eq("after the restart the first answer still leaves the member out", answer(srv), [b])
        t.eq("the start line: both members from the saved state, nothing probed",
             start_line(srv.stderr()[mark:]), (2, 0, 0))
        line = next((x for x in trace(srv, "_why.www." + LB) if x.startswith(f"member {a} ")), "")
        print("# _why after the restart: " + line)
        t.check("_why after the restart: down, both checks down",
                line.startswith(f"member {a} down") and "web down, api down (require any)" in line,
                detail=line)
        t.check("no \"member down\" line for it since the restart (not a change)",
                re.search(r"member down.*address=" + re.escape(a), srv.stderr()[mark:]) is None,
                detail=srv.stderr()[mark:])
        t.check_alive(srv, "the server survived")
    finally:
        for be in webs + apis:
            be.stop()
