#!/usr/bin/python3
"""The failover budget (issue 14, part 2): `steerdns check` prints, per pool, how long a dead
member can linger (fall x interval + timeout, + the TTL for resolvers) and how long a recovered
one takes to come back; a "failover_budget" below that worst case fails `check` with a located
message, while the server logs the same as a warning and serves the zone; fallback "all" over
members that share one check target is a warning."""

import copy
import json
import re
import sys

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402

OVER = "over.example.test."
# The example line, for a check of fall 3, interval 2, timeout 1, rise 2 and ttl 30.
WWW_LINE = ("  www: a dead member leaves answers within 7.0 s (fall 3 x interval 2 + timeout 1), "
            "resolvers forget it within 37.0 s (+ ttl 30); a recovered one returns within 34.0 s")


def value_pos(text, needle):
    """1-based line and column of the first occurrence of `needle` in `text`."""
    i = text.index(needle)
    return text.count("\n", 0, i) + 1, i - (text.rfind("\n", 0, i) + 1) + 1


def over_budget_zone():
    """LB_ZONE's www, probed (on loopback ports nothing listens on, each member at its own
    address) with the issue's check, and a budget of 20 s it cannot keep."""
    z = copy.deepcopy(h.LB_ZONE)
    z["zone"] = OVER
    z["checks"] = {"web": {"type": "tcp", "port": 9, "interval": 2, "timeout": 1, "fall": 3,
                           "rise": 2}}
    www = z["pools"]["www"]
    www["check"] = "web"
    www["failover_budget"] = 20
    for i, m in enumerate(www["members"]):
        m["probe_address"] = f"127.0.0.{31 + i}"
    return z


with h.Test("failover budget") as t:
    b = t.binary
    tmp = t.tempdir("steerdns-e2e-budget-")

    # ---- the repo's zones: no pool has a check ----------------------------------------------
    res = h.run([b, "check", "zones/"], cwd=str(h.REPO))
    t.eq("check zones/ exits 0", res.returncode, 0)
    t.check("check zones/: a pool without a check says a dead member is never removed",
            "zones/lb.example.test.json: ok: zone lb.example.test. serial 2026112501, 1 pool, "
            "4 members, 9 names\n  www: no health check: a dead member is never removed\n"
            in res.stdout, detail=res.stdout)

    # ---- over budget: check fails, located ------------------------------------------------------
    text = json.dumps(over_budget_zone(), indent=2) + "\n"
    path = tmp / "over.json"
    path.write_text(text)
    res = h.run([b, "check", str(path)])
    t.eq("check over.json (budget 20 s, worst case 37 s) exits 1", res.returncode, 1)
    line, col = value_pos(text, '"failover_budget": 20')
    col += len('"failover_budget": ')
    expected = (f"{path}:{line}:{col}: pools.www.failover_budget: worst-case failover 37.0 s "
                f"exceeds the budget 20 s (ttl 30 dominates)")
    t.eq("check: the exact located message, alone on stderr with the summary",
         res.stderr.splitlines(), [expected, "1 problem"])
    t.check("check: the zone itself is valid, with the per-pool line in the issue's format",
            f"{path}: ok: zone {OVER}" in res.stdout and WWW_LINE + "\n" in res.stdout,
            detail=res.stdout)

    # Within budget (a pool budget of 37 s), and the zone's budget applying to the pool.
    within = over_budget_zone()
    within["pools"]["www"]["failover_budget"] = 37
    path.write_text(json.dumps(within, indent=2) + "\n")
    res = h.run([b, "check", str(path)])
    t.eq("check: a budget the worst case meets exits 0", res.returncode, 0)
    t.eq("check: and prints nothing on stderr", res.stderr, "")
    zone_level = over_budget_zone()
    del zone_level["pools"]["www"]["failover_budget"]
    zone_level["failover_budget"] = 30
    zl_text = json.dumps(zone_level, indent=2) + "\n"
    path.write_text(zl_text)
    res = h.run([b, "check", str(path)])
    t.eq("check: the zone's failover_budget 30 s exceeded exits 1", res.returncode, 1)
    line, col = value_pos(zl_text, '"www"')
    t.check("check: the zone's budget is reported at the pool",
            f"{path}:{line}:{col}: pools.www: worst-case failover 37.0 s exceeds the zone's "
            f"failover_budget 30 s (ttl 30 dominates)" in res.stderr, detail=res.stderr)

    # ---- fail-open warnings ---------------------------------------------------------------------
    shared = over_budget_zone()
    del shared["pools"]["www"]["failover_budget"]
    for m in shared["pools"]["www"]["members"]:
        m["probe_address"] = "127.0.0.30"
    path.write_text(json.dumps(shared, indent=2) + "\n")
    res = h.run([b, "check", str(path)])
    t.eq("check: members sharing one check target, failing open: exits 0 (a warning)",
         res.returncode, 0)
    t.check("check: the warning says fallback \"all\" answers them all again",
            re.search(r"over\.json:\d+:\d+: pools\.www\.fallback: warning: every member is probed "
                      r"at one target \(127\.0\.0\.30, check \"web\"\): when it fails they are all "
                      r"down together and fallback \"all\" \(the default\) answers them all again",
                      res.stderr), detail=res.stderr)

    # ---- the server: a warning, and the zone serves ---------------------------------------------
    srv = t.start_server({"over.json": text}, ready_name=OVER, name="over-budget")
    r = srv.query("www." + OVER, "A")
    t.check("the server answers from a zone over its budget",
            r is not None and r.rcode() == 0 and len(h.addresses(r)) == 2, resp=r)
    log = srv.stderr()
    t.check("the server logs the budget as a warning, in check's words",
            re.search(r'level=warn msg="zone file warning" warning="[^"]*over\.json:\d+:\d+: '
                      r'pools\.www\.failover_budget: worst-case failover 37\.0 s exceeds the '
                      r'budget 20 s \(ttl 30 dominates\)"', log), detail=log)
    t.check("the zone is loaded, not rejected",
            re.search(r'msg="zone loaded" zone=over\.example\.test\.', log) and
            "rejected" not in log, detail=log)
    t.eq("the server exits 0 on SIGTERM", srv.stop(), 0)
