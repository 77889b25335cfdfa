#!/usr/bin/python3
"""Wildcards (RFC 1034 4.3.3, RFC 4592) through the real binary: synthesis below the
wildcard's parent with the query name as owner, none for existing names, empty non-terminals or
below a delegation, NODATA for a missing type, CNAME wildcards followed, a pool at *.cdn
balancing every name below cdn (ECS scope and /metrics counters as for any pool; health and
fallback are in tests/unit/answer/test_wildcard.cc), and `steerdns check` refusing a * that is
not the leftmost label."""

import http.client
import json
import sys

import dns.edns
import dns.rdatatype

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402

LB = "lb.example.test."
SOA_NEG = h.soa_text(LB, 60)
CDN = {"192.0.2.40", "192.0.2.41", "192.0.2.42"}


def metric(srv, key):
    """One sample of GET /metrics, or None."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.control_port, timeout=5)
    try:
        conn.request("GET", "/metrics")
        body = conn.getresponse().read().decode()
    finally:
        conn.close()
    for line in body.splitlines():
        if line.startswith(key + " "):
            return float(line.rsplit(" ", 1)[1])
    return None

ZONE = h.lb_zone(
    extra_records=[
        "*.wild A 192.0.2.77",
        "*.wild TXT \"synthesized\"",
        "host.wild A 192.0.2.78",
        "x.ent.wild A 192.0.2.79",          # ent.wild: an empty non-terminal
        "*.cw CNAME www",                    # a CNAME wildcard into a pool
        "*.tocdn CNAME edge.cdn",            # ... into the wildcard pool
        "*.sub A 192.0.2.99",                # below the delegation: never a source
        "static.cdn A 192.0.2.200",
    ],
    extra_pools={
        "*.cdn": {"policy": "round-robin", "ttl": 25, "answers": 1,
                  "members": h.members(*sorted(CDN))},
        "*.geo": {"policy": "hash", "answers": 1, "members": h.members("192.0.2.50", "192.0.2.51")},
    },
)

with h.Test("wildcards") as t:
    srv = t.start_server([ZONE], threads=2)

    # ---- synthesis -----------------------------------------------------------------------
    r = srv.query("Foo.Wild." + LB, "A")
    t.expect(r, "foo.wild A (synthesized)", rcode="NOERROR", aa=True,
             answer=[f"foo.wild.{LB} 300 A 192.0.2.77"], authority=[])
    t.eq("synthesized owner is the query name in the client's case",
         lambda: r.answer[0].name.to_text(), "Foo.Wild." + LB, r)
    r = srv.query("a.b.c.wild." + LB, "TXT")
    t.expect(r, "a.b.c.wild TXT (several labels below the wildcard's parent)", rcode="NOERROR",
             aa=True, answer=[f"a.b.c.wild.{LB} 300 TXT \"synthesized\""])
    r = srv.query("*.wild." + LB, "A")
    t.expect(r, "*.wild A (the * owner itself)", rcode="NOERROR",
             answer=[f"*.wild.{LB} 300 A 192.0.2.77"])
    r = srv.query("foo.wild." + LB, "MX")
    t.expect(r, "foo.wild MX: NODATA (the wildcard has no MX)", rcode="NOERROR", aa=True,
             answer=[], authority=[SOA_NEG])
    r = srv.query("foo.wild." + LB, "ANY")
    t.expect(r, "foo.wild ANY: the RFC 8482 HINFO at the query name", rcode="NOERROR",
             answer_count=1)
    t.check("ANY answer is HINFO owned by the query name",
            lambda: r.answer[0].rdtype == dns.rdatatype.HINFO
            and r.answer[0].name.to_text().lower() == "foo.wild." + LB, r)

    # ---- no synthesis where a name exists ------------------------------------------------
    r = srv.query("host.wild." + LB, "A")
    t.expect(r, "host.wild A (exists)", answer=[f"host.wild.{LB} 300 A 192.0.2.78"])
    r = srv.query("host.wild." + LB, "TXT")
    t.expect(r, "host.wild TXT: NODATA, not the wildcard's TXT", rcode="NOERROR", answer=[],
             authority=[SOA_NEG])
    r = srv.query("ent.wild." + LB, "A")
    t.expect(r, "ent.wild A (empty non-terminal): NODATA", rcode="NOERROR", answer=[],
             authority=[SOA_NEG])
    for name in ("y.ent.wild.", "x.host.wild.", "nope."):
        r = srv.query(name + LB, "A")
        t.expect(r, f"{name} A: NXDOMAIN (its closest encloser has no *)", rcode="NXDOMAIN",
                 aa=True, answer=[], authority=[SOA_NEG])
    r = srv.query("wild." + LB, "A")
    t.expect(r, "wild A (the wildcard's parent, an ENT): NODATA", rcode="NOERROR", answer=[])

    # ---- delegation ------------------------------------------------------------------------
    for name in ("x.sub.", "*.sub."):
        r = srv.query(name + LB, "A")
        t.expect(r, f"{name} A: the referral, no synthesis below a cut", rcode="NOERROR",
                 aa=False, answer=[], authority=[f"sub.{LB} 300 NS ns.sub.{LB}"])

    # ---- CNAME wildcards -----------------------------------------------------------------------
    r = srv.query("foo.cw." + LB, "A")
    t.expect(r, "foo.cw A: synthesized CNAME, then the pool", rcode="NOERROR", aa=True,
             answer_count=3)
    t.check("foo.cw: CNAME owned by the query name, www's members after it",
            lambda: h.records(r.answer)[0] == f"foo.cw.{LB} 300 CNAME www.{LB}"
            and len(set(h.addresses(r))) == 2, r)
    r = srv.query("x.y.tocdn." + LB, "A")
    t.expect(r, "x.y.tocdn A: CNAME into the wildcard pool", rcode="NOERROR", answer_count=2)
    t.check("x.y.tocdn: the pool answers at the CNAME's target",
            lambda: any(rec.startswith(f"edge.cdn.{LB} 25 A ") for rec in h.records(r.answer)), r)

    # ---- a pool at *.cdn -------------------------------------------------------------------------
    seen = set()
    for i in range(9):
        name = f"n{i}.cdn.{LB}" if i % 2 else f"a.n{i}.cdn.{LB}"
        r = srv.query(name, "A")
        t.expect(r, f"{name} A: one member of *.cdn", rcode="NOERROR", aa=True, answer_count=1)
        if r is not None and r.answer:
            t.eq(f"{name}: owner and TTL", lambda: (r.answer[0].name.to_text().lower(),
                                                   r.answer[0].ttl), (name.lower(), 25), r)
            seen |= set(h.addresses(r))
    t.eq("*.cdn: round robin reaches every member across names below cdn", seen, CDN)
    r = srv.query("x.cdn." + LB, "AAAA")
    t.expect(r, "x.cdn AAAA: NODATA (no IPv6 member)", rcode="NOERROR", answer=[],
             authority=[SOA_NEG])
    r = srv.query("static.cdn." + LB, "A")
    t.expect(r, "static.cdn A: an existing name keeps its record",
             answer=[f"static.cdn.{LB} 300 A 192.0.2.200"])
    # A hash pool at a wildcard: ECS reaches its policy, so the answer carries a scope.
    r = srv.query("anything.geo." + LB, "A", ecs="198.51.100.0/24")
    t.expect(r, "anything.geo A with ECS: one member", rcode="NOERROR", answer_count=1)
    t.check("ECS echoed with a non-zero scope (the answer depends on the client)",
            lambda: any(o.otype == dns.edns.ECS and o.scopelen > 0 for o in r.options), r)

    # ---- counters: every name below cdn counts as the one pool *.cdn ----------------------------
    # Nine A queries, the AAAA one and the CNAME into edge.cdn.
    key = f'steerdns_pool_responses_total{{zone="{LB}",pool="*.cdn"}}'
    t.eq("/metrics counts the *.cdn pool's responses", h.poll(lambda: metric(srv, key),
                                                              lambda v: v == 11), 11)

    # ---- steerdns check --------------------------------------------------------------------------
    tmp = t.tempdir("steerdns-e2e-wild-")
    good = tmp / "good.json"
    good.write_text(json.dumps(ZONE, indent=2))
    res = h.run([t.binary, "check", str(good)])
    t.check("check accepts *.wild records and a pool at *.cdn", res.returncode == 0,
            detail=res.stdout + res.stderr)
    bad = h.lb_zone(extra_records=["a.*.b A 192.0.2.1"])
    bad_path = tmp / "bad.json"
    bad_path.write_text(json.dumps(bad, indent=2))
    res = h.run([t.binary, "check", str(bad_path)])
    t.check("check rejects a.*.b", res.returncode != 0, detail=res.stdout + res.stderr)
    t.check("the error says file:line:col: records[i]: and why",
            f"{bad_path}:" in res.stderr + res.stdout
            and "records[8]: owner a.*.b.lb.example.test. has \"*\" in the middle"
            in res.stderr + res.stdout, detail=res.stdout + res.stderr)
    t.check_alive(srv, "wildcard queries")
