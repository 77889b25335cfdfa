#!/usr/bin/python3
"""--nsid: two servers told apart by the EDNS NSID option (RFC 5001) and by CH TXT id.server.
and hostname.bind. (RFC 4892), with dig as an operator would; without --nsid neither appears."""

import socket
import sys

import dns.edns

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402

LB = "lb.example.test."
NSID_REQUEST = dns.edns.GenericOption(dns.edns.NSID, b"")


def nsid_of(resp):
    """The NSID option's bytes in a response; None when it has none."""
    if resp is None:
        return None
    found = [o for o in resp.options if o.otype == dns.edns.NSID]
    return bytes(found[0].data) if len(found) == 1 else None


def txt_of(resp):
    return [b"".join(rd.strings) for rrset in resp.answer for rd in rrset] if resp else None


def dig(srv, *args):
    return h.run(["dig", "@127.0.0.1", "-p", str(srv.port), "+tries=1", "+time=2", *args])


with h.Test("nsid") as t:
    zones = [h.lb_zone()]
    a = t.start_server(zones, name="ns-a", extra_args=["--nsid", "ns-a.fra"])
    b = t.start_server(zones, name="ns-b", extra_args=["--nsid", "0x6e732d62"])  # "ns-b"
    off = t.start_server(zones, name="off")

    # ---- EDNS NSID ----------------------------------------------------------------------
    for srv, want in ((a, b"ns-a.fra"), (b, b"ns-b")):
        for tcp in (False, True):
            r = srv.query("www." + LB, "A", options=[NSID_REQUEST], tcp=tcp)
            t.expect(r, f"{srv.name} NSID asked over {'TCP' if tcp else 'UDP'}: answered",
                     rcode="NOERROR", aa=True, answer_count=2)
            t.eq(f"{srv.name}: NSID {want!r}", lambda: nsid_of(r), want, r)
    r = a.query("www." + LB, "A")
    t.expect(r, "NSID not asked: a plain answer", rcode="NOERROR", answer_count=2)
    t.eq("NSID not asked: no NSID option", lambda: nsid_of(r), None, r)
    r = off.query("www." + LB, "A", options=[NSID_REQUEST])
    t.expect(r, "no --nsid: the answer as before", rcode="NOERROR", answer_count=2, edns=True)
    t.eq("no --nsid: no NSID option", lambda: nsid_of(r), None, r)

    res_a, res_b = dig(a, "+nsid", "www." + LB, "A"), dig(b, "+nsid", "www." + LB, "A")
    t.check("dig +nsid tells server a", '("ns-a.fra")' in res_a.stdout,
            detail=res_a.stdout + res_a.stderr)
    t.check("dig +nsid tells server b", '("ns-b")' in res_b.stdout,
            detail=res_b.stdout + res_b.stderr)
    res = dig(off, "+nsid", "www." + LB, "A")
    t.check("dig +nsid without --nsid: no NSID line",
            "status: NOERROR" in res.stdout and "NSID" not in res.stdout,
            detail=res.stdout + res.stderr)

    # ---- CH TXT id.server. / hostname.bind. ---------------------------------------------
    for name in ("id.server.", "hostname.bind."):
        for srv, want in ((a, b"ns-a.fra"), (b, b"ns-b")):
            r = srv.query(name, "TXT", rdclass="CH")
            t.expect(r, f"{srv.name} {name} CH TXT: answered", rcode="NOERROR", aa=True,
                     answer_count=1)
            t.eq(f"{srv.name} {name} CH TXT: {want!r}", lambda: txt_of(r), [want], r)
            t.eq(f"{srv.name} {name}: TTL 0", lambda: r.answer[0].ttl, 0, r)
        r = off.query(name, "TXT", rdclass="CH")
        t.expect(r, f"no --nsid: {name} CH TXT REFUSED", rcode="REFUSED", answer=[])
    r = a.query("version.bind.", "TXT", rdclass="CH")
    t.expect(r, "version.bind CH TXT: still REFUSED", rcode="REFUSED", answer=[])
    res = dig(a, "CH", "TXT", "id.server")
    t.check("dig CH TXT id.server: the NSID text",
            '"ns-a.fra"' in res.stdout and "status: NOERROR" in res.stdout,
            detail=res.stdout + res.stderr)

    # ---- the command line ----------------------------------------------------------------
    res = h.run([t.binary, "--zones", str(a.zones_dir), "--nsid", "0xzz"])
    t.eq("--nsid 0xzz: usage error, exit 2", res.returncode, 2)
    t.check("--nsid 0xzz: says why", "--nsid" in res.stderr, detail=res.stderr)
    host = t.start_server(zones, name="hostname", extra_args=["--nsid", "hostname"])
    r = host.query("id.server.", "TXT", rdclass="CH")
    t.eq("--nsid hostname: this host's name", lambda: txt_of(r),
         [socket.gethostname().encode()], r)
    for srv in (a, b, off):
        t.check_alive(srv, f"{srv.name} after the NSID queries")
