#!/usr/bin/python3
"""The decision trace (README "Why this answer"): `dig TXT _why.<name>` against a real server
probing real HTTP backends, one answering 503, one member drained through the API, a failover
pool whose first tier is down; REFUSED outside --explain-from (a second loopback source);
TC over UDP and the whole trace over TCP; `_why` leaves the rotation alone; `steerdns why`;
the query log's decision fields."""

import json
import re
import socket
import sys
import time
import urllib.request

import dns.message
import dns.query

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402
from backends import DOWN_BOUND, TIMING, HttpBackend, common_port, wait_until  # noqa: E402

LB = "lb.example.test."
TOKEN = "why-test-token"


def ip(n: int) -> str:
    return f"127.0.0.{n}"


def dig(srv, *args):
    return h.run(["dig", "@127.0.0.1", "-p", str(srv.port), "+tries=1", "+time=3", *args])


def trace(srv, name, *extra):
    res = dig(srv, "TXT", name, "+short", *extra)
    return [json.loads(line) for line in res.stdout.splitlines() if line.startswith('"')]


def post(srv, path, body):
    req = urllib.request.Request(srv.control_url + path, data=json.dumps(body).encode(),
                                 method="POST",
                                 headers={"Authorization": f"Bearer {TOKEN}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


def metric(srv, name, labels):
    with urllib.request.urlopen(srv.control_url + "/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(re.escape(name + labels) + r" (\d+)", text)
    return int(m.group(1)) if m else None


def zone(port):
    z = h.lb_zone()
    z["checks"] = {"web": {"type": "http", "port": port, "paths": ["/healthz"],
                           "expect_status": [200], **TIMING}}
    z["pools"]["www"] = {"policy": "weighted", "ttl": 30, "answers": 2, "check": "web",
                         "members": [{"address": ip(61), "weight": 3},
                                     {"address": ip(62), "weight": 1},
                                     {"address": ip(63), "weight": 1},
                                     {"address": ip(64), "weight": 2}]}
    z["pools"]["db"] = {"policy": "failover", "ttl": 10, "check": "web",
                        "members": [{"address": ip(65), "priority": 101},
                                    {"address": ip(66), "priority": 99}]}
    z["pools"]["rr"] = {"policy": "round-robin", "answers": 1,
                        "members": h.members("192.0.2.1", "192.0.2.2", "192.0.2.3")}
    z["pools"]["big"] = {"members": h.members(*[f"198.51.100.{i}" for i in range(1, 41)])}
    return z


with h.Test("why") as t:
    tmp = t.tempdir("steerdns-e2e-why-")
    (tmp / "token").write_text(TOKEN + "\n")
    qlog = tmp / "query.log"
    addrs = [ip(n) for n in range(61, 67)]
    port = common_port(addrs)
    backends = [HttpBackend(a, port, "503" if a in (ip(62), ip(65)) else "ok", want_host=False)
                for a in addrs]
    for b in backends:
        b.start()
    try:
        srv = t.start_server([zone(port)], extra_args=[
            "--control-token-file", str(tmp / "token"), "--explain-from", "127.0.0.1/32",
            "--query-log", str(qlog)])
        settled = wait_until(lambda: any("127.0.0.62 down" in line
                                         for line in trace(srv, "_why.www." + LB)),
                             DOWN_BOUND * 2)
        t.check("the 503 backend is traced as down", settled is not None,
                detail="\n".join(trace(srv, "_why.www." + LB)))
        t.check("the failover pool's first tier is traced as down",
                wait_until(lambda: any("127.0.0.65 down" in line
                                       for line in trace(srv, "_why.db." + LB)),
                           DOWN_BOUND * 2) is not None)
        t.eq("POST /drain 127.0.0.63", post(srv, "/drain", {"zone": LB, "pool": "www",
                                                          "address": ip(63)}), 200)
        # Every member has a first result (a drained one keeps being probed) before the trace
        # is read: probes start at random offsets in their interval.
        t.check("every member has a probe result", wait_until(
            lambda: not any("unknown" in line or line.endswith("drained (api) weight 1")
                            for name in ("_why.www." + LB, "_why.db." + LB)
                            for line in trace(srv, name)), DOWN_BOUND * 2) is not None,
                detail="\n".join(trace(srv, "_why.www." + LB)))

        # ---- the trace of a weighted pool: one down, one drained --------------------------
        lines = trace(srv, "_why.www." + LB, "+subnet=198.51.100.7/24")
        text = "\n".join(lines)
        print("  " + text.replace("\n", "\n  "))
        t.eq("first line: the client, from ECS", lines[0] if lines else None,
             "client 198.51.100.0/24 (ECS; resolver 127.0.0.1)")
        t.check("the pool line: policy, answers, ttl, degraded",
                "pool www policy weighted answers 2 ttl 30 (degraded: 1 of 3 down) 1 drained"
                in lines, detail=text)
        down = [x for x in lines if x.startswith("member 127.0.0.62 ")]
        t.check("the 503 member: down since when, weight, the probe's result",
                len(down) == 1 and re.match(
                    r"member 127\.0\.0\.62 down since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ weight 1 "
                    r"http GET /healthz: status 503 .*ms$", down[0]) is not None, detail=text)
        t.check("the drained member says so (and is still probed)",
                any(x.startswith("member 127.0.0.63 drained (api) weight 1 http GET /healthz")
                    for x in lines), detail=text)
        up = [x for x in lines if x.startswith("member 127.0.0.61 ")]
        t.check("an up member: since, weight 3, status 200",
                len(up) == 1 and re.match(r"member 127\.0\.0\.61 up since \S+ weight 3 "
                                          r"http GET /healthz: status 200", up[0]) is not None,
                detail=text)
        answer = [x for x in lines if x.startswith("answer A ")]
        chosen = answer[0].split()[2:] if answer else []
        t.check("the answer: two of the up members", len(chosen) == 2 and
                set(chosen) <= {ip(61), ip(64)}, detail=text)
        marked = sorted(x.split()[1] for x in lines if x.endswith("[answered]"))
        t.eq("the answered members are marked", marked, sorted(chosen))
        t.check("scope and ttl lines", "ecs-scope 0 (the answer does not depend on the client)"
                in lines and "ttl 30 (pool www)" in lines, detail=text)

        # ---- failover: the first tier is down -----------------------------------------------
        db = trace(srv, "_why.db." + LB)
        print("  " + "\n  ".join(db))
        t.check("failover: the tier switch is explained",
                "failover tiers: priority 101 (0 of 1 up) priority 99 (1 of 1 up); answering: "
                "priority 99" in db, detail="\n".join(db))
        t.check("failover: answers the backup", f"answer A {ip(66)}" in db, detail="\n".join(db))

        # ---- names that are not balanced -------------------------------------------------------
        t.check("a static name says so", any("is a static A RRset" in x
                                             for x in trace(srv, "_why.static." + LB)))
        t.check("a missing name: NXDOMAIN", any("NXDOMAIN" in x
                                                for x in trace(srv, "_why.nope." + LB)))
        r = srv.query("_why.www.example.org.", "TXT")
        t.expect(r, "a name outside our zones: REFUSED", rcode="REFUSED", answer=[])

        # ---- _why does not advance the rotation -----------------------------------------------
        first = h.addresses(srv.query("rr." + LB, "A"))
        promised = [x for x in trace(srv, "_why.rr." + LB) if x.startswith("answer A ")]
        again = trace(srv, "_why.rr." + LB)
        second = h.addresses(srv.query("rr." + LB, "A"))
        t.check("_why tells the next answer, and asking twice changes nothing",
                promised and promised[0] == f"answer A {second[0]}" and
                [x for x in again if x.startswith("answer A ")] == promised,
                detail=f"{first} {promised} {second}")
        t.check("the rotation moved by one between the two real queries",
                first != second, detail=f"{first} {second}")

        # ---- UDP: TC when the trace does not fit; TCP: the whole trace ------------------------
        q = dns.message.make_query("_why.big." + LB, "TXT", use_edns=0, payload=1232)
        udp = dns.query.udp(q, "127.0.0.1", port=srv.port, timeout=3)
        t.check("a 40-member trace over UDP: TC", bool(udp.flags & dns.flags.TC))
        tcp = dns.query.tcp(q, "127.0.0.1", port=srv.port, timeout=3)
        n = sum(len(rrset) for rrset in tcp.answer)
        t.check("over TCP: every line (client, pool, 40 members, answer, scope, ttl, note)",
                n >= 45 and not (tcp.flags & dns.flags.TC), detail=str(n))

        # ---- who may ask --------------------------------------------------------------------------
        before = metric(srv, "steerdns_why_queries_total", '{result="refused"}')
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((ip(9), 0))
        s.settimeout(3)
        s.sendto(dns.message.make_query("_why.www." + LB, "TXT").to_wire(), ("127.0.0.1", srv.port))
        resp = dns.message.from_wire(s.recv(4096))
        s.close()
        t.expect(resp, "from 127.0.0.9, outside --explain-from 127.0.0.1/32: REFUSED",
                 rcode="REFUSED", answer=[])
        t.eq("the refusal is counted", metric(srv, "steerdns_why_queries_total",
                                              '{result="refused"}'), (before or 0) + 1)
        t.check("answered traces are counted",
                (metric(srv, "steerdns_why_queries_total", '{result="answered"}') or 0) >= 5)

        # ---- steerdns why -------------------------------------------------------------------------
        res = h.run([srv.binary, "why", "www." + LB, "--ecs", "198.51.100.7/24", "--control",
                     f"127.0.0.1:{srv.control_port}"])
        print("  " + res.stdout.replace("\n", "\n  "))
        t.eq("steerdns why: exit 0", res.returncode, 0)
        t.check("steerdns why: the client, the pool and a member table",
                "client 198.51.100.0/24 (ECS; resolver 127.0.0.1)" in res.stdout and
                "pool www policy weighted" in res.stdout and
                re.search(r"ADDRESS\s+STATE AND DETAILS", res.stdout) is not None and
                re.search(r"127\.0\.0\.62\s+down since", res.stdout) is not None and
                re.search(r" \* 127\.0\.0\.6[14]\s+up since", res.stdout) is not None,
                detail=res.stdout + res.stderr)
        res = h.run([srv.binary, "why", "db." + LB, "--type", "AAAA", "--control",
                     f"127.0.0.1:{srv.control_port}"])
        t.check("steerdns why --type AAAA: a family the pool lacks",
                res.returncode == 0 and "no AAAA member" in res.stdout,
                detail=res.stdout + res.stderr)
        res = h.run([srv.binary, "why", "www." + LB, "--control", "127.0.0.1:1"])
        t.check("steerdns why, nobody listening: exit 1 and says so",
                res.returncode == 1 and "cannot reach the control endpoint" in res.stderr,
                detail=res.stderr)

        # ---- the query log carries the decision ---------------------------------------------------
        srv.query("db." + LB, "A")
        logged = wait_until(lambda: qlog.exists() and re.search(
            r"qname=db\.lb\.example\.test\. qtype=A .* pool=db tier=99 ", qlog.read_text()),
            5.0)
        t.check("query log: pool and failover tier on the answer line", logged is not None,
                detail=qlog.read_text()[-1500:] if qlog.exists() else "no log")
        t.check_alive(srv, "the server still answers")
    finally:
        for b in backends:
            b.stop()
