#!/usr/bin/python3
"""Answers from the zone data: flags, pools, negative answers, CNAMEs, referrals, REFUSED and
longest-match zone selection, apex SOA/NS with glue, ANY, AXFR/IXFR, CHAOS."""

import struct
import sys

import dns.flags
import dns.rdatatype

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402

LB = "lb.example.test."
SOA_NEG = h.soa_text(LB, 60)  # min(SOA TTL 300, minimum 60)
PARENT_SOA_NEG = h.soa_text("example.test.", 120, h.PARENT_ZONE)  # min(3600, 120)

MANY = [f"198.51.100.{i}" for i in range(1, 71)]

ZONE = h.lb_zone(
    extra_records=[
        "a.b.c A 192.0.2.1",                 # b.c and c become empty non-terminals
        "ext CNAME www.example.net.",         # target outside every zone we serve
        "dangling CNAME nothere",             # target inside the zone, missing
        "chain CNAME docs",                   # chain: chain -> docs -> www (a pool)
        "tostatic CNAME static",
        "loop1 CNAME loop2",                  # a CNAME loop inside the zone
        "loop2 CNAME loop1",
    ],
    extra_pools={
        "v4only": {"policy": "round-robin", "members": h.members("192.0.2.20", "192.0.2.21")},
        "api.eu": {"policy": "round-robin", "ttl": 45,
                   "members": h.members("2001:db8::a", "2001:db8::b")},
        "few": {"policy": "round-robin", "answers": 5, "members": h.members("192.0.2.70", "192.0.2.71")},
        # No `answers`: every member of the family, even past 64 (the limit of `answers`).
        "many": {"policy": "round-robin", "members": h.members(*MANY)},
        "partial": {"policy": "round-robin",
                    "members": [{"address": "192.0.2.80"},
                                {"address": "192.0.2.81", "enabled": False}]},
    },
)
# Zone TTL below the SOA minimum: the negative TTL is the zone TTL.
SMALL = {"zone": "small.test.", "ttl": 30,
         "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1, "refresh": 3600,
                 "retry": 600, "expire": 1209600, "minimum": 600},
         "ns": ["ns1"], "records": ["ns1 A 192.0.2.250"]}

WWW_V4 = {"192.0.2.10", "192.0.2.11", "192.0.2.12"}


def www_ok(addrs):
    return len(addrs) == 2 and len(set(addrs)) == 2 and set(addrs) <= WWW_V4


with h.Test("answers") as t:
    srv = t.start_server([ZONE, h.PARENT_ZONE, SMALL], threads=2)

    # ---- flags and the question --------------------------------------------------------
    q = h.make_query("WwW.Lb.ExAmPlE.TeSt.", "A", qid=0x1234)
    wire = q.to_wire()
    r = srv.query("", raw=wire)
    t.expect(r, "www A (mixed case)", rcode="NOERROR", aa=True, tc=False, qid=0x1234,
             answer_count=2, edns=True)
    qlen = len(b"".join(bytes([len(l)]) + l for l in q.question[0].name.labels)) + 4
    t.eq("question echoed byte for byte, original case kept",
         lambda: r.wire[12:12 + qlen], wire[12:12 + qlen], r)
    t.eq("question name case in the decoded response",
         lambda: r.question[0].name.to_text(), "WwW.Lb.ExAmPlE.TeSt.", r)
    t.eq("QDCOUNT 1", lambda: struct.unpack("!H", r.wire[4:6])[0], 1, r)
    t.check("RD copied from the query", lambda: r.flags & dns.flags.RD, r)
    r = srv.query(LB, "SOA", rd=False)
    t.check("RD clear when the query had it clear", lambda: not r.flags & dns.flags.RD, r)
    t.check("AD clear", lambda: not r.flags & dns.flags.AD, r)

    # ---- pools ------------------------------------------------------------------------
    r = srv.query("www." + LB, "A")
    t.expect(r, "pool www A", rcode="NOERROR", aa=True, answer_count=2, authority=[])
    t.check("pool www A: 2 distinct IPv4 members", lambda: www_ok(h.addresses(r)), r)
    t.check("pool www A: TTL 30", lambda: all(rr.ttl == 30 for rr in r.answer), r)
    t.check("pool www A: only A records",
            lambda: all(rr.rdtype == dns.rdatatype.A for rr in r.answer), r)
    r = srv.query("www." + LB, "AAAA")
    t.expect(r, "pool www AAAA", rcode="NOERROR", aa=True,
             answer=[f"www.{LB} 30 AAAA 2001:db8::10"], authority=[])
    r = srv.query("v4only." + LB, "A")
    t.expect(r, "pool v4only A (answers defaults to all, ttl to zone ttl)", rcode="NOERROR",
             aa=True, answer=[f"v4only.{LB} 300 A 192.0.2.20", f"v4only.{LB} 300 A 192.0.2.21"])
    r = srv.query("v4only." + LB, "AAAA")
    t.expect(r, "pool with no IPv6 member, AAAA: NODATA", rcode="NOERROR", aa=True,
             answer=[], authority=[SOA_NEG])
    r = srv.query("api.eu." + LB, "AAAA")
    t.expect(r, "multi-label pool api.eu AAAA", rcode="NOERROR", aa=True,
             answer=[f"api.eu.{LB} 45 AAAA 2001:db8::a", f"api.eu.{LB} 45 AAAA 2001:db8::b"])
    r = srv.query("api.eu." + LB, "A")
    t.expect(r, "pool with no IPv4 member, A: NODATA", rcode="NOERROR", aa=True,
             answer=[], authority=[SOA_NEG])
    r = srv.query("eu." + LB, "A")
    t.expect(r, "eu (ENT above the api.eu pool): NODATA", rcode="NOERROR", aa=True,
             answer=[], authority=[SOA_NEG])
    r = srv.query("www." + LB, "TXT")
    t.expect(r, "pool name, TXT: NODATA", rcode="NOERROR", aa=True, answer=[],
             authority=[SOA_NEG])

    r = srv.query("few." + LB, "A")
    t.expect(r, "pool with answers 5 but 2 members: both", rcode="NOERROR", aa=True,
             answer=[f"few.{LB} 300 A 192.0.2.70", f"few.{LB} 300 A 192.0.2.71"])
    for tcp in (False, True):
        r = srv.query("many." + LB, "A", tcp=tcp)
        t.eq(f"pool of 70 without `answers` over {'TCP' if tcp else 'UDP (fits in 1232)'}: "
             "all 70 members", lambda: len(h.addresses(r)), 70, r)
    seen = set()
    for i in range(4):
        r = srv.query("partial." + LB, "A")
        seen.update(h.addresses(r) if r is not None else ["<no response>"])
    t.eq("a member with enabled: false is never answered", seen, {"192.0.2.80"})

    # ---- static data --------------------------------------------------------------------
    r = srv.query("static." + LB, "A")
    t.expect(r, "static A (own TTL 600)", rcode="NOERROR", aa=True,
             answer=[f"static.{LB} 600 A 192.0.2.100"], authority=[], additional=[])
    r = srv.query("mail." + LB, "MX")
    t.expect(r, "mail MX", rcode="NOERROR", aa=True, answer=[f"mail.{LB} 300 MX 10 mx.example.net."])
    r = srv.query(LB, "TXT")
    t.expect(r, "apex TXT", rcode="NOERROR", aa=True, answer=[f'{LB} 300 TXT "v=spf1 -all"'])
    r = srv.query("a.b.c." + LB, "A")
    t.expect(r, "a.b.c A", rcode="NOERROR", aa=True, answer=[f"a.b.c.{LB} 300 A 192.0.2.1"])

    # ---- negative answers ---------------------------------------------------------------
    r = srv.query("nothere." + LB, "A")
    t.expect(r, "name not in the zone: NXDOMAIN", rcode="NXDOMAIN", aa=True, answer=[],
             authority=[SOA_NEG])
    t.check("NXDOMAIN SOA TTL = min(300, 60) = 60",
            lambda: r.authority[0].ttl == 60, r)
    r = srv.query("deep.er.nothere." + LB, "AAAA")
    t.expect(r, "deep name not in the zone: NXDOMAIN", rcode="NXDOMAIN", aa=True,
             answer=[], authority=[SOA_NEG])
    r = srv.query("x.www." + LB, "A")
    t.expect(r, "name below a pool: NXDOMAIN", rcode="NXDOMAIN", aa=True, answer=[],
             authority=[SOA_NEG])
    for ent in ("b.c.", "c."):
        r = srv.query(ent + LB, "A")
        t.expect(r, f"empty non-terminal {ent}: NODATA", rcode="NOERROR", aa=True, answer=[],
                 authority=[SOA_NEG])
    r = srv.query("static." + LB, "TXT")
    t.expect(r, "static TXT (name exists, type does not): NODATA", rcode="NOERROR", aa=True,
             answer=[], authority=[SOA_NEG])
    r = srv.query("static." + LB, "AAAA")
    t.expect(r, "static AAAA: NODATA", rcode="NOERROR", aa=True, answer=[], authority=[SOA_NEG])
    r = srv.query(LB, "A")
    t.expect(r, "apex A: NODATA", rcode="NOERROR", aa=True, answer=[], authority=[SOA_NEG])

    # ---- CNAME --------------------------------------------------------------------------
    r = srv.query("docs." + LB, "A")
    t.expect(r, "docs A: CNAME chased to the www pool", rcode="NOERROR", aa=True,
             answer_count=3, authority=[])
    t.eq("docs A: CNAME first", lambda: h.records(r.answer)[0],
         f"docs.{LB} 300 CNAME www.{LB}", r)
    t.check("docs A: then 2 A of www with TTL 30",
            lambda: www_ok(h.addresses(r)) and all(
                rr.ttl == 30 and rr.name.to_text().lower() == "www." + LB
                for rr in r.answer if rr.rdtype == dns.rdatatype.A), r)
    r = srv.query("docs." + LB, "AAAA")
    t.expect(r, "docs AAAA: CNAME + the IPv6 member", rcode="NOERROR", aa=True, ordered=True,
             answer=[f"docs.{LB} 300 CNAME www.{LB}", f"www.{LB} 30 AAAA 2001:db8::10"])
    r = srv.query("docs." + LB, "CNAME")
    t.expect(r, "docs CNAME: just the CNAME", rcode="NOERROR", aa=True,
             answer=[f"docs.{LB} 300 CNAME www.{LB}"], authority=[], additional=[])
    r = srv.query("docs." + LB, "TXT")
    t.expect(r, "docs TXT: CNAME, then NODATA at the target", rcode="NOERROR", aa=True,
             answer=[f"docs.{LB} 300 CNAME www.{LB}"], authority=[SOA_NEG])
    r = srv.query("chain." + LB, "A")
    t.expect(r, "chain A: two CNAMEs then the pool", rcode="NOERROR", aa=True, answer_count=4)
    t.eq("chain A: CNAMEs in chain order", lambda: h.records(r.answer)[:2],
         [f"chain.{LB} 300 CNAME docs.{LB}", f"docs.{LB} 300 CNAME www.{LB}"], r)
    t.check("chain A: 2 www addresses", lambda: www_ok(h.addresses(r)), r)
    r = srv.query("tostatic." + LB, "A")
    t.expect(r, "CNAME to a static name", rcode="NOERROR", aa=True, ordered=True,
             answer=[f"tostatic.{LB} 300 CNAME static.{LB}", f"static.{LB} 600 A 192.0.2.100"])
    r = srv.query("ext." + LB, "A")
    t.expect(r, "CNAME out of the zone: just the CNAME", rcode="NOERROR", aa=True,
             answer=[f"ext.{LB} 300 CNAME www.example.net."], authority=[])
    r = srv.query("dangling." + LB, "A")
    t.expect(r, "CNAME to a missing in-zone name: NXDOMAIN", rcode="NXDOMAIN", aa=True,
             answer=[f"dangling.{LB} 300 CNAME nothere.{LB}"], authority=[SOA_NEG])
    r = srv.query("loop1." + LB, "A")
    t.expect(r, "CNAME loop: answered", aa=True, basic=False)
    t.check("CNAME loop: each CNAME once in the answer (no duplicate RRs, RFC 2181 5)",
            lambda: h.WireHeader(r.wire).ancount == len(h.records(r.answer)) == 2, r,
            detail="ANCOUNT on the wire vs distinct records (dnspython merges duplicates): "
                   f"{h.WireHeader(r.wire).ancount if r else None} vs "
                   f"{len(h.records(r.answer)) if r else None}")
    r = srv.query("DoCs.lb.EXAMPLE.test.", "A")
    t.expect(r, "DoCs A (mixed case): CNAME chased", rcode="NOERROR", aa=True, answer_count=3)

    # ---- delegation ---------------------------------------------------------------------
    REFERRAL_NS = [f"sub.{LB} 300 NS ns.sub.{LB}"]
    GLUE = [f"ns.sub.{LB} 300 A 192.0.2.53"]
    for name, rdtype in (("x.sub.", "A"), ("deep.x.sub.", "AAAA"), ("sub.", "A"), ("sub.", "NS"),
                         ("sub.", "SOA"), ("ns.sub.", "A")):
        r = srv.query(name + LB, rdtype)
        t.expect(r, f"{name}{LB} {rdtype}: referral", rcode="NOERROR", aa=False, answer=[],
                 authority=REFERRAL_NS, additional=GLUE)

    r = srv.query("sub." + LB, "DS")
    t.expect(r, "DS at the delegation point is the parent's: NODATA, authoritative",
             rcode="NOERROR", aa=True, answer=[], authority=[SOA_NEG])

    # ---- apex ---------------------------------------------------------------------------
    r = srv.query(LB, "SOA")
    t.expect(r, "apex SOA", rcode="NOERROR", aa=True, answer=[h.soa_text(LB)])
    r = srv.query(LB, "NS")
    t.expect(r, "apex NS with glue", rcode="NOERROR", aa=True,
             answer=[f"{LB} 300 NS ns1.{LB}", f"{LB} 300 NS ns2.{LB}"],
             additional=[f"ns1.{LB} 300 A 127.0.0.1", f"ns2.{LB} 300 A 127.0.0.2"])
    r = srv.query("ns1." + LB, "A")
    t.expect(r, "ns1 A", rcode="NOERROR", aa=True, answer=[f"ns1.{LB} 300 A 127.0.0.1"])

    # ---- zones: REFUSED and longest match -----------------------------------------------
    for name, rdtype in (("www.example.com.", "A"), (".", "SOA"), ("test.", "NS"),
                         ("example.", "A"), ("lb.example.test.example.com.", "A")):
        r = srv.query(name, rdtype)
        t.expect(r, f"{name} {rdtype} (outside every zone): REFUSED", rcode="REFUSED", aa=False,
                 answer=[], authority=[], additional=[])
    r = srv.query("example.test.", "SOA")
    t.expect(r, "parent apex SOA", rcode="NOERROR", aa=True,
             answer=[h.soa_text("example.test.", zone=h.PARENT_ZONE)])
    r = srv.query("www.example.test.", "A")
    t.expect(r, "www.example.test A from the parent zone", rcode="NOERROR", aa=True,
             answer=["www.example.test. 3600 A 192.0.2.200"])
    r = srv.query("nothere.example.test.", "A")
    t.expect(r, "NXDOMAIN in the parent zone (SOA TTL min(3600, 120))", rcode="NXDOMAIN", aa=True,
             answer=[], authority=[PARENT_SOA_NEG])
    r = srv.query("nothere.small.test.", "A")
    t.expect(r, "NXDOMAIN SOA TTL = min(zone TTL 30, minimum 600) = 30", rcode="NXDOMAIN",
             aa=True, authority=["small.test. 30 SOA ns1.small.test. hostmaster.small.test. "
                                 "1 3600 600 1209600 600"])
    r = srv.query(r"www\.lb.example.test.", "A")
    t.expect(r, "one label 'www.lb' (escaped dot) is not www.lb: NXDOMAIN from example.test",
             rcode="NXDOMAIN", aa=True, answer=[], authority=[PARENT_SOA_NEG])
    r = srv.query(LB, "SOA")
    t.expect(r, "lb.example.test SOA from the child zone, not the parent",
             rcode="NOERROR", aa=True, answer=[h.soa_text(LB)])
    r = srv.query("static." + LB, "A")
    t.expect(r, "static.lb.example.test A: the child zone wins over the parent's record",
             rcode="NOERROR", aa=True, answer=[f"static.{LB} 600 A 192.0.2.100"])
    r = srv.query("onlyparent." + LB, "A")
    t.expect(r, "name only the parent has below lb.example.test: NXDOMAIN from the child",
             rcode="NXDOMAIN", aa=True, answer=[], authority=[SOA_NEG])
    r = srv.query("www." + LB, "A")
    t.check("www.lb.example.test A still from the pool with the parent loaded",
            lambda: www_ok(h.addresses(r)), r)

    # ---- ANY ----------------------------------------------------------------------------
    for name in ("www.", "static.", ""):
        r = srv.query(name + LB, "ANY")
        t.expect(r, f"{name}{LB} ANY: RFC 8482 minimal answer", rcode="NOERROR", aa=True,
                 answer_count=1)
        t.check(f"{name}{LB} ANY: one HINFO \"RFC8482\"",
                lambda: r.answer[0].rdtype == dns.rdatatype.HINFO
                and r.answer[0][0].cpu == b"RFC8482", r)
    r = srv.query("nothere." + LB, "ANY")
    t.expect(r, "ANY at a missing name: NXDOMAIN", rcode="NXDOMAIN", aa=True, answer=[],
             authority=[SOA_NEG])

    # ---- transfers and other classes ----------------------------------------------------
    for rdtype in ("AXFR", "IXFR"):
        for tcp in (False, True):
            r = srv.query(LB, rdtype, tcp=tcp, edns=False)
            t.expect(r, f"{rdtype} over {'TCP' if tcp else 'UDP'}: REFUSED", rcode="REFUSED",
                     answer=[])
    res = h.run(["dig", "@127.0.0.1", "-p", str(srv.port), LB, "AXFR", "+tries=1", "+time=2"])
    t.check("dig AXFR: transfer failed (REFUSED)",
            "Transfer failed" in res.stdout or "REFUSED" in res.stdout,
            detail=res.stdout + res.stderr)
    for name in ("version.bind.", "hostname.bind.", "id.server."):
        r = srv.query(name, "TXT", rdclass="CH")
        t.expect(r, f"{name} CH TXT: REFUSED", rcode="REFUSED", aa=False, answer=[])
    r = srv.query("www." + LB, "A", rdclass="CH")
    t.expect(r, "www.lb.example.test CH A: REFUSED", rcode="REFUSED", answer=[])

    # ---- as a user sees it --------------------------------------------------------------
    res = h.run(["dig", "@127.0.0.1", "-p", str(srv.port), "+norec", "docs." + LB, "A"])
    t.check("dig docs A: status NOERROR, flags qr aa, no ra",
            "status: NOERROR" in res.stdout and "flags: qr aa;" in res.stdout,
            detail=res.stdout + res.stderr)
    res = h.run(["kdig", "@127.0.0.1", "-p", str(srv.port), "nothere." + LB, "A"])
    t.check("kdig nothere A: NXDOMAIN", "status: NXDOMAIN" in res.stdout,
            detail=res.stdout + res.stderr)
    t.check_alive(srv, "the answer tests")
