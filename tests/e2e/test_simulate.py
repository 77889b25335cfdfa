#!/usr/bin/python3
"""`steerdns simulate`: the shares of a weighted pool, a member forced down and drained and
where its traffic goes, geo answers by client network with --ecs, a clients file, and names
that are not balanced (exit 1), all from the real binary on a temporary zone directory."""

import json
import re
import sys

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402

WEIGHTS = {"192.0.2.1": 1, "192.0.2.2": 2, "192.0.2.3": 3, "192.0.2.4": 4}


def zone() -> dict:
    z = h.lb_zone()
    z["geo"] = {"rules": [{"net": "198.51.100.0/24", "region": "eu"},
                          {"net": "2001:db8:100::/48", "region": "eu"}],
                "default": "us"}
    z["pools"].update({
        "w": {"policy": "weighted", "answers": 1,
              "members": [{"address": a, "weight": w} for a, w in WEIGHTS.items()]},
        "app": {"policy": "geo", "regions": {"eu": ["eu", "us"], "us": ["us", "eu"]},
                "members": [{"address": "192.0.2.20", "region": "eu"},
                            {"address": "192.0.2.21", "region": "us"}]},
    })
    return z


ROW = re.compile(r"^(\S+)\s+(-|[\d.]+ %)\s+([\d.]+ %)\s+([\d.]+ %)\s*(.*)$")


def table(out: str) -> dict:
    """member -> (configured or None, answered, first, note), percentages as floats."""
    rows = {}
    for line in out.splitlines():
        m = ROW.match(line)
        if not m:
            continue
        pct = [None if v == "-" else float(v.split()[0]) for v in m.group(2, 3, 4)]
        rows[m.group(1)] = (*pct, m.group(5))
    return rows


def by_network(out: str) -> dict:
    """network -> the text after its query count, from the by-network table."""
    nets = {}
    inside = False
    for line in out.splitlines():
        if line.startswith("network "):
            inside = True
            continue
        m = re.match(r"^(\S+/\d+)\s+(\d+)\s+(.*)$", line) if inside else None
        if m:
            nets[m.group(1)] = (int(m.group(2)), m.group(3))
    return nets


with h.Test("simulate") as t:
    b = t.binary
    tmp = t.tempdir("steerdns-e2e-simulate-")
    (tmp / "lb.json").write_text(json.dumps(zone(), indent=2))
    name = "w." + h.LB_ZONE["zone"]

    def simulate(*args):
        return h.run([b, "simulate", str(tmp), *args], timeout=60)

    # ---- weights ----------------------------------------------------------------------------
    res = simulate(name, "--queries", "100000", "--clients", "198.51.100.0/24")
    t.eq("simulate exits 0", res.returncode, 0)
    t.check("the header names the pool and policy",
            re.match(r"w\.lb\.example\.test\. A: pool w of zone lb\.example\.test\., weighted, "
                     r"1 member per answer; 100000 queries", res.stdout), detail=res.stdout)
    t.check("the table has its header", "member          configured  answered  first"
            in res.stdout, detail=res.stdout)
    rows = table(res.stdout)
    total = sum(WEIGHTS.values())
    for address, weight in WEIGHTS.items():
        want = 100.0 * weight / total
        got = rows.get(address)
        t.check(f"{address} (weight {weight}): configured {want:.1f} %, answered and first "
                f"within 1 pp", got is not None and got[0] == round(want, 1)
                and abs(got[1] - want) < 1.0 and abs(got[2] - want) < 1.0,
                detail=res.stdout)
    again = simulate(name, "--queries", "100000", "--clients", "198.51.100.0/24")
    t.eq("the same run prints the same (fixed seed)", again.stdout, res.stdout)

    # ---- --down: the share is redistributed by weight ----------------------------------------
    res = simulate(name, "--down", "192.0.2.4")
    rows = table(res.stdout)
    t.eq("--down exits 0", res.returncode, 0)
    t.check("the member down gets nothing and says so",
            rows.get("192.0.2.4") == (0.0, 0.0, 0.0, "down"), detail=res.stdout)
    for address, weight in list(WEIGHTS.items())[:3]:
        want = 100.0 * weight / 6
        got = rows.get(address)
        t.check(f"{address}: its weight over the members left ({want:.1f} %)",
                got is not None and got[0] == round(want, 1) and abs(got[2] - want) < 1.0,
                detail=res.stdout)
    res = simulate(name, "--down", "192.0.2.1", "--down", "192.0.2.2", "--down", "192.0.2.3",
                   "--down", "192.0.2.4")
    t.check("every member down: the fallback (all) answers every query by weight",
            "fallback: 100.0 % of the queries" in res.stdout
            and abs(table(res.stdout)["192.0.2.4"][2] - 40.0) < 1.0, detail=res.stdout)

    # ---- --drain ------------------------------------------------------------------------------
    res = simulate(name, "--drain", "192.0.2.4", "--queries", "20000")
    rows = table(res.stdout)
    t.check("a drained member is out of the answers, the others share by weight",
            rows.get("192.0.2.4", (None,) * 4)[1:] == (0.0, 0.0, "drained")
            and abs(rows["192.0.2.3"][1] - 50.0) < 1.5, detail=res.stdout)

    # ---- round robin: every member of an answer counted -------------------------------------
    res = simulate("www." + h.LB_ZONE["zone"], "--queries", "3000")
    rows = table(res.stdout)
    t.check("round robin, 2 answers: each member in 66.7 % of answers, first in 33.3 %",
            all(rows.get(a) == (33.3, 66.7, 33.3, "")
                for a in ("192.0.2.10", "192.0.2.11", "192.0.2.12")), detail=res.stdout)
    res = simulate("www." + h.LB_ZONE["zone"], "--type", "AAAA", "--queries", "10")
    t.check("--type AAAA: the IPv6 member only", list(table(res.stdout)) == ["2001:db8::10"],
            detail=res.stdout)

    # ---- geo by client network, with ECS ------------------------------------------------------
    app = "app." + h.LB_ZONE["zone"]
    res = simulate(app, "--ecs", "--clients", "198.51.100.0/24", "--clients", "203.0.113.0/24",
                   "--clients", "2001:db8:100::/48", "--queries", "3000")
    t.eq("geo --ecs exits 0", res.returncode, 0)
    nets = by_network(res.stdout)
    t.eq("geo: eu clients get the eu member", nets.get("198.51.100.0/24"),
         (1000, "192.0.2.20 100.0 %"))
    t.eq("geo: others get the default region's", nets.get("203.0.113.0/24"),
         (1000, "192.0.2.21 100.0 %"))
    v6 = {n: v for n, v in nets.items() if ":" in n}
    t.check("geo: IPv6 ECS networks are /56s inside the eu /48, answered by the eu member",
            v6 and all(re.match(r"2001:db8:100:[0-9a-f]*00::/56$", n) or n == "2001:db8:100::/56"
                           for n in v6)
            and all(v[1] == "192.0.2.20 100.0 %" for v in v6.values()), detail=res.stdout)
    rows = table(res.stdout)
    t.check("geo: configured is '-', answered 2/3 eu", rows.get("192.0.2.20") is not None
            and rows["192.0.2.20"][0] is None and rows["192.0.2.20"][1] == 66.7,
            detail=res.stdout)
    res = simulate(app, "--ecs", "--clients", "198.51.100.0/24", "--down", "192.0.2.20",
                   "--queries", "100")
    t.eq("geo: eu member down, eu clients go to their next region",
         by_network(res.stdout).get("198.51.100.0/24"), (100, "192.0.2.21 100.0 %"))
    res = simulate(app, "--clients", "198.51.100.7", "--queries", "10")
    t.eq("without --ecs the client is the source address", by_network(res.stdout),
         {"198.51.100.0/24": (10, "192.0.2.20 100.0 %")})

    # ---- a clients file with weights ------------------------------------------------------------
    clients = tmp / "clients.txt"
    clients.write_text("# where our users are\n198.51.100.0/24 3\n203.0.113.0/24 1\n")
    res = simulate(app, "--ecs", "--clients-file", str(clients), "--queries", "4000")
    rows = table(res.stdout)
    t.check("--clients-file: networks share the queries by weight (3:1)",
            rows.get("192.0.2.20", (0, 0))[1] == 75.0, detail=res.stdout + res.stderr)
    clients.write_text("198.51.100.0/24 many\n")
    res = simulate(app, "--clients-file", str(clients))
    t.check("a bad clients file: exit 1 naming the file and line", res.returncode == 1
            and f"{clients}: line 1: weight" in res.stderr, detail=res.stderr)

    # ---- what is not balanced -------------------------------------------------------------------
    for qname, says in (("static", "has static A records"), ("docs", "is a CNAME to www."),
                        ("nope", "NXDOMAIN"), ("sub", "delegated")):
        res = simulate(f"{qname}.{h.LB_ZONE['zone']}")
        t.check(f"{qname}: exit 1, saying it {says}", res.returncode == 1 and says in res.stderr
                and res.stdout == "", detail=res.stdout + res.stderr)
    res = simulate(name, "--down", "192.0.2.99")
    t.check("--down of no member: exit 1", res.returncode == 1
            and "--down 192.0.2.99: no member" in res.stderr, detail=res.stderr)
    res = simulate(name, "--clients", "198.51.100.1/24")
    t.check("--clients with host bits: exit 2", res.returncode == 2
            and "did you mean 198.51.100.0/24" in res.stderr, detail=res.stderr)
    res = simulate(name, "--type", "MX")
    t.eq("--type MX: exit 2", res.returncode, 2)
