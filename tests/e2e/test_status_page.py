#!/usr/bin/python3
"""The status page (GET /) in headless Chromium at 1280x900: after its script ran, one row per
member with the state /status gives (up, down with its probe reason, drained); the page fits
the window (no sideways scrolling) with room for reasons; the zone only in its header; pools
with their state (ok, degraded, failing open), policy and TTL, failing ones first, down
members first; the last probe's time and latency; probe_address; each member's share of the
pool's answers and its sparkline; never-loaded files at the top; the filter box and "hide
healthy pools"; the page polled /status?since= by itself. Then /status's own query string:
?zone=, ?pool=, ?state=, ?since= and their errors. The 10 000-member case is
test_status_scale.py."""

import json
import re
import sys
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import backends as b  # noqa: E402
import harness as h  # noqa: E402
from chromium_page import Page, chromium, colours, png_pixels  # noqa: E402

LB = "lb.example.test."
UP, DOWN, DRAINED, UNCHECKED = "127.0.0.61", "127.0.0.62", "127.0.0.63", "192.0.2.64"
VIA, DEAD = "192.0.2.65", "192.0.2.66"  # probed at UP, and at DOWN
WIDTH, HEIGHT = 1280, 900
QUERIES = 40


def get(srv, path):
    with urllib.request.urlopen(f"{srv.control_url}{path}", timeout=10) as r:
        return json.loads(r.read())


def get_error(srv, path):
    try:
        urllib.request.urlopen(f"{srv.control_url}{path}", timeout=10)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()).get("error", "")
    return 200, ""


def members_of(doc):
    return {(p["name"], m["address"]): m for z in doc["zones"] for p in z.get("pools", [])
            for m in p.get("members", [])}


with h.Test("status_page") as t:
    token = t.tempdir("steerdns-e2e-token-") / "token"
    token.write_text("page-token\n")
    port = b.common_port([UP, DOWN, DRAINED])
    up = b.HttpBackend(UP, port, want_host=False)
    down = b.HttpBackend(DOWN, port, mode="500", want_host=False)
    drained = b.HttpBackend(DRAINED, port, want_host=False)
    for be in (up, down, drained):
        be.start()
    try:
        zone = h.lb_zone()
        zone["checks"] = {"web": dict(b.TIMING, type="http", port=port)}
        zone["pools"]["web"] = {"check": "web", "answers": 1, "members": [
            {"address": UP, "weight": 5, "priority": 10}, {"address": DOWN},
            {"address": DRAINED}, {"address": VIA, "probe_address": UP}]}
        # Every member down and fallback "all": answered all the same, "failing open".
        zone["pools"]["dead"] = {"check": "web", "ttl": 7,
                                 "members": [{"address": DEAD, "probe_address": DOWN}]}
        zones = {"lb.example.test.json": zone,
                 "broken.json": '{"zone": "broken.example.test.", "ttl": oops}\n'}
        srv = t.start_server(zones, threads=1, extra_args=["--control-token-file", str(token)])
        req = urllib.request.Request(
            f"{srv.control_url}/drain", method="POST",
            data=json.dumps({"zone": LB, "pool": "web", "address": DRAINED}).encode(),
            headers={"Authorization": "Bearer page-token"})
        t.eq("drain one member first", urllib.request.urlopen(req, timeout=5).status, 200)

        def states():
            return members_of(get(srv, "/status"))
        t.check("the backend answering 500 is down in /status",
                b.wait_until(lambda: states()[("web", DOWN)]["state"] == "down", b.DOWN_BOUND + 2)
                is not None)
        t.check("the good backend has a probe result",
                b.wait_until(lambda: states()[("web", UP)]["last_result"] == "success", 5) is not None)
        # Answers to count: "web" rotates over its two up members, one answer each query.
        answered = sum(1 for _ in range(QUERIES)
                       if (r := srv.query("web.lb.example.test.", "A")) is not None and r.answer)
        t.eq(f"{QUERIES} queries for web.lb.example.test A answered", answered, QUERIES)
        # The control thread samples every 10 s.
        t.check("within 12 s a sample counts the answers of the last minute",
                b.wait_until(lambda: next(p for p in get(srv, "/status")["zones"][0]["pools"]
                                          if p["name"] == "web")["answers_last_minute"] == QUERIES,
                             12, 0.2) is not None)
        status = get(srv, "/status")
        expected = members_of(status)
        pools = {p["name"]: p for p in status["zones"][0]["pools"]}
        t.eq("/status pool states", {n: p["state"] for n, p in pools.items()},
             {"www": "ok", "web": "degraded", "dead": "failing open"})
        t.eq("/status pool settings", (pools["dead"]["ttl"], pools["dead"]["fallback"],
                                       pools["dead"]["up"], pools["dead"]["down"]), (7, "all", 0, 1))
        t.eq("/status member answers over the last minute",
             (expected[("web", UP)]["answers_last_minute"], expected[("web", VIA)]["answers_last_minute"],
              expected[("web", DOWN)]["answers_last_minute"]), (QUERIES // 2, QUERIES // 2, 0))
        t.eq("/status lists the file that never loaded", [f["file"].endswith("broken.json")
                                                          for f in status["rejected_files"]], [True])

        # ---- the DOM after the script ran -------------------------------------------------------
        res = chromium(t, ["--dump-dom"], f"{srv.control_url}/", WIDTH, HEIGHT)
        t.eq("chromium --dump-dom exits 0", res.returncode, 0)
        page = Page(res.stdout)
        got = {(r["pool"], r["address"]): r for r in page.rows}
        t.eq("one table row per member", sorted(got), sorted(expected))
        t.eq("each row's state is the one /status gives",
             {k: r["state"] for k, r in got.items()}, {k: m["state"] for k, m in expected.items()})
        t.eq("the three states are there", sorted({r["state"] for r in page.rows}),
             ["down", "draining", "up"])
        down_row = got.get(("web", DOWN), {"cells": []})
        t.check("the down row shows the probe's reason",
                any("status 500" in c for c in down_row["cells"]), detail=down_row)
        t.check("the drained row says it was drained through the API, and how long it drains",
                any(re.match(r"draining \(api, \d+s left\)", c)
                    for c in got.get(("web", DRAINED), {"cells": []})["cells"]),
                detail=got.get(("web", DRAINED)))
        up_row = got.get(("web", UP), {"cells": []})
        t.check("the up row shows weight and priority", {"5", "10"} <= set(up_row["cells"]),
                detail=up_row)
        t.check("the page fetched /status again by itself (every 2 s)",
                (page.refreshes or 0) >= 2, detail=f"refreshes: {page.refreshes}")
        text = re.sub(r"<[^>]+>", "", res.stdout)
        t.check("the summary counts the states", re.search(r"\d+ up, 2 down, 1 drained", text)
                is not None)
        t.check("the summary counts the pools' states",
                re.search(r"pools: 1 ok, 1 degraded, 1 failing open, 0 empty", text) is not None)

        # The layout at 1280 px, as the page measured it.
        t.check("the page is no wider than the window (no sideways scrolling)",
                int(page.body.get("scroll-width", 99999)) <= int(page.body.get("viewport-width", 0))
                == WIDTH, detail=page.body)
        t.check("the Reason column has room for words (>= 250 px)",
                int(page.body.get("reason-width", 0)) >= 250, detail=page.body)
        t.check("the zone is only in its header, not on every row",
                not any(LB in c for r in page.rows for c in r["cells"]) and
                any(h_.startswith(LB) for h_ in page.zone_heads), detail=page.zone_heads)

        # Pools: state, policy, TTL; failing ones first. Members: down first.
        heads = [p["head"] for p in page.pools]
        t.eq("pools in order of trouble: failing open, degraded, ok",
             [(p["name"], p["state"]) for p in page.pools],
             [("dead", "failing open"), ("web", "degraded"), ("www", "ok")])
        t.check("each pool header has its state, policy and TTL",
                "failing open" in heads[0] and "round-robin" in heads[0] and "TTL 7 s" in heads[0]
                and "degraded" in heads[1] and "TTL 30 s" in heads[2], detail=heads)
        web_rows = [r["address"] for r in page.rows if r["pool"] == "web"]
        t.eq("down members first", web_rows[:1], [DOWN])
        probe_cell = up_row["cells"][4] if len(up_row["cells"]) > 4 else ""
        t.check("the last probe is a time and a latency, not \"success · http\"",
                re.search(r"^ok \d\d:\d\d:\d\d.*http · [\d.]+ ms$", probe_cell) is not None
                and "success" not in probe_cell, detail=probe_cell)
        t.check("probe_address is shown", "probed at " + UP in got.get(("web", VIA), {"cells": [""]})["cells"][0])
        t.check("the up members' share of the pool's answers: 50 % each",
                "50%" in up_row["cells"][3] and "50%" in got[("web", VIA)]["cells"][3]
                and "0%" in down_row["cells"][3], detail=[up_row["cells"][3], down_row["cells"][3]])
        spark = [p.split(",") for p in (up_row.get("spark") or "").split()]
        t.check("the up member's sparkline: 60 points, some with answers",
                len(spark) == 60 and min(float(y) for _, y in spark) < 17, detail=up_row.get("spark"))
        t.check("never-loaded files at the top, with their reasons",
                page.rejected_shown and "broken.json" in page.rejected and
                re.search(r"broken\.json:\d+:\d+", page.rejected) is not None, detail=page.rejected)

        # ---- the filter box and "hide healthy pools", from the URL -----------------------------
        res = chromium(t, ["--dump-dom"], f"{srv.control_url}/#hide-healthy", WIDTH, HEIGHT)
        hidden = Page(res.stdout)
        t.eq("hide healthy pools: the ok pool is hidden, the others not",
             [(p["name"], p["hidden"]) for p in hidden.pools],
             [("dead", False), ("web", False), ("www", True)])
        res = chromium(t, ["--dump-dom"], f"{srv.control_url}/#filter={DOWN}", WIDTH, HEIGHT)
        filtered = Page(res.stdout)
        t.eq("the filter box: only rows matching it (address or probe address)",
             sorted((r["pool"], r["address"]) for r in filtered.rows if not r["hidden"]),
             [("dead", DEAD), ("web", DOWN)])

        # ---- the screenshot ---------------------------------------------------------------------
        shot = t.tempdir("steerdns-e2e-shot-") / "status.png"
        res = chromium(t, [f"--screenshot={shot}"], f"{srv.control_url}/", WIDTH, HEIGHT)
        t.eq("chromium --screenshot exits 0", res.returncode, 0)
        t.check("the screenshot exists and is not tiny", shot.exists() and shot.stat().st_size > 20000,
                detail=f"{shot.stat().st_size if shot.exists() else 'no file'} bytes\n{res.stderr[-1000:]}")
        if shot.exists():
            width, height, _, _ = png_pixels(shot.read_bytes())
            t.eq("the screenshot has the window's size", (width, height), (WIDTH, HEIGHT))
            seen = colours(shot.read_bytes())
            t.check("the screenshot is not blank (many colours)", len(seen) > 50,
                    detail=f"{len(seen)} colours")
            for state, rgb in (("up", (0xda, 0xfb, 0xe1)), ("down", (0xff, 0xeb, 0xe9)),
                               ("drained", (0xff, 0xf8, 0xc5)), ("failing open", (0xff, 0xf1, 0xe5))):
                t.check(f"the {state} badge colour is on screen", seen.get(rgb, 0) > 100,
                        detail=f"{seen.get(rgb, 0)} pixels of {rgb}")

        # ---- /status?zone=&pool=&state=&since= ---------------------------------------------------
        t.eq("?state=down: the down members only",
             sorted(members_of(get(srv, "/status?state=down"))), [("dead", DEAD), ("web", DOWN)])
        t.eq("?pool=web: that pool only", sorted({k[0] for k in members_of(get(srv, "/status?pool=web"))}),
             ["web"])
        t.eq("?zone=: that zone", [z["zone"] for z in get(srv, "/status?zone=LB.example.test")["zones"]],
             [LB])
        code, error = get_error(srv, "/status?zone=nope.test")
        t.check("?zone= not served: 404 naming the zones served",
                code == 404 and "zone nope.test. not found (zones served: lb.example.test.)" in error,
                detail=(code, error))
        code, error = get_error(srv, "/status?state=sideways")
        t.check("?state= unknown: 400", code == 400 and "expected up, down, suppressed, pending, standby, draining or drained" in error,
                detail=(code, error))
        code, error = get_error(srv, "/status?colour=red")
        t.check("unknown parameter: 400", code == 400 and "unknown parameter" in error,
                detail=(code, error))
        first = get(srv, "/status?since=0")
        t.check("?since=0: everything, flagged full, with the answer series",
                first["full"] is True and len(members_of(first)) == len(expected) and
                all(len(col) == len(p["members"]) for z in first["zones"] for p in z["pools"]
                    for col in p["answers"]) and
                any(p["answers"] for z in first["zones"] for p in z["pools"]), detail=first)
        req = urllib.request.Request(
            f"{srv.control_url}/undrain", method="POST",
            data=json.dumps({"zone": LB, "pool": "web", "address": DRAINED}).encode(),
            headers={"Authorization": "Bearer page-token"})
        t.eq("undrain", urllib.request.urlopen(req, timeout=5).status, 200)
        patch = get(srv, f"/status?since={first['revision']}")
        t.check("?since=REVISION: the undrained member and its pool, nothing else",
                patch["full"] is False and patch["revision"] > first["revision"] and
                (DRAINED, "up") in [(m["address"], m["state"]) for z in patch["zones"]
                                    for p in z.get("pools", []) for m in p.get("members", [])] and
                all(len(p.get("members", [])) <= 1 for z in patch["zones"] for p in z.get("pools", [])),
                detail=patch)
        later = get(srv, f"/status?since={patch['revision']}")
        t.check("?since=the latest: nothing more, or only probe times and answer samples",
                later["full"] is False and not any(p.get("members") for z in later["zones"]
                                                   for p in z.get("pools", [])), detail=later)
    finally:
        for be in (up, down, drained):
            be.stop()
