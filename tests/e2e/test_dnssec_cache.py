#!/usr/bin/python3
"""DNSSEC answers signed after compile, and the denials issue 16 left: a pool with more possible
answer sets than are signed at compile (24 members answering 2: 300 sets) validates in every
rotation, from --signature-cache; a fallback's fallback (two hops) validates; a pool all down
with fallback "none" answers a signed NODATA (the owner's NSEC without that family); a CNAME
synthesized from a wildcard carries the NSEC proving the query name absent; ANY's HINFO is
signed; a key file copied into the keys directory is served and signs without an edit."""

import re
import sys
import time
import urllib.request

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import dns.dnssec  # noqa: E402
import dns.name  # noqa: E402
import dns.rdatatype  # noqa: E402
import harness as h  # noqa: E402
from dnssec_checks import covers, validate_all  # noqa: E402
from backends import TIMING  # noqa: E402

APEX = "lb.example.test."
ORIGIN = dns.name.from_text(APEX)
RRSIG = dns.rdatatype.RRSIG
NSEC = dns.rdatatype.NSEC


def cache_zone(closed_port: int) -> dict:
    z = h.lb_zone(extra_records=["*.alias CNAME www", "*.wild TXT \"wild\""])
    z["dnssec"] = {"keys": "keys/lb.example.test", "signature_validity": 864000}
    z["checks"] = {"closed": {"type": "tcp", "port": closed_port, **TIMING}}
    z["pools"].update({
        "big": {"answers": 2, "members": [{"address": f"192.0.2.{i}"} for i in range(1, 25)]},
        # down (the closed port), so the fallback answers, twice over
        "first": {"check": "closed", "ttl": 30, "fallback": "second",
                  "members": [{"address": "127.0.0.3"}]},
        "second": {"check": "closed", "ttl": 30, "fallback": "third",
                   "members": [{"address": "127.0.0.4"}]},
        "third": {"members": [{"address": "192.0.2.98"}, {"address": "192.0.2.99"}]},
        "down": {"check": "closed", "ttl": 30, "fallback": "none",
                 "members": [{"address": "127.0.0.1"}, {"address": "127.0.0.2"}]},
    })
    return z








def metric(srv, name, labels):
    with urllib.request.urlopen(srv.control_url + "/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(re.escape(name + labels) + r" (\d+)", text)
    return int(m.group(1)) if m else None


def served_keys(srv):
    r = srv.query(APEX, "DNSKEY", do=True)
    dnskey = next((x for x in r.answer if x.rdtype == dns.rdatatype.DNSKEY), None) if r else None
    return {ORIGIN: dnskey} if dnskey is not None else {}


with h.Test("DNSSEC: answers signed on first use, signed denials, keys added") as t:
    closed = h.free_port()
    srv = h.Server(t.binary, [cache_zone(closed)], wait=False,
                   extra_args=["--signature-cache", "100"])
    keydir = srv.zones_dir / "keys" / "lb.example.test"
    p = h.run([t.binary, "keys", "create", "lb.example.test", "--dir", str(keydir)])
    t.check("steerdns keys create exits 0", p.returncode == 0, detail=p.stderr)
    srv.start()
    keys = served_keys(srv)
    t.check("DNSKEY served", bool(keys))

    # 24 members answering 2: 300 possible sets, more than are signed at compile (256).
    sets = set()
    for i in range(72):  # the rotation three times over
        r = srv.query("big." + APEX, "A", do=True)
        a = [x for x in r.answer if x.rdtype == dns.rdatatype.A] if r else []
        if a:
            sets.add(frozenset(rd.address for rd in a[0]))
        t.eq(f"big A #{i}: the 2 A and their RRSIG validate",
             validate_all(t, r, keys, f"big A #{i}"), 1)
    t.eq("the rotation went through its 24 sets", len(sets), 24)
    hits = metric(srv, "steerdns_signature_cache_total", '{result="hit"}')
    misses = metric(srv, "steerdns_signature_cache_total", '{result="miss"}')
    t.check("each set was signed once per worker, then found in its cache",
            misses is not None and hits is not None and len(sets) <= misses <= 2 * len(sets)
            and hits + misses == 72, detail=f"hits {hits} misses {misses} sets {len(sets)}")

    # A fallback's fallback, two hops away: signed at the queried name on first use.
    h.poll(lambda: srv.query("first." + APEX, "A"),
           lambda x: x is not None and x.answer and "192.0.2.98" in x.answer[0].to_text(),
           timeout=15.0, step=0.2)
    for i in range(3):
        r = srv.query("first." + APEX, "A", do=True)
        a = [x for x in r.answer if x.rdtype == dns.rdatatype.A] if r else []
        t.eq(f"first A #{i}: the third pool answers",
             sorted(rd.address for rd in a[0]) if a else None, ["192.0.2.98", "192.0.2.99"])
        t.eq(f"first A #{i}: two hops away, it validates",
             validate_all(t, r, keys, f"first A #{i}"), 1)

    # All down with fallback "none": NODATA, the SOA and the owner's NSEC without A, signed.
    qname = dns.name.from_text("down." + APEX)
    r = h.poll(lambda: srv.query("down." + APEX, "A", do=True),
               lambda x: x is not None and not x.answer and x.authority, timeout=15.0, step=0.2)
    t.check("down A: NODATA once the members are down", r is not None and r.rcode() == 0 and
            not r.answer, resp=r)
    nsec = [x for x in r.authority if x.rdtype == NSEC] if r else []
    t.check("down A: the owner's NSEC, whose bitmap has no A",
            len(nsec) == 1 and nsec[0].name == qname and
            "A" not in nsec[0][0].to_text().split()[1:], detail=[x.to_text() for x in nsec])
    t.eq("down A: SOA and NSEC validate", validate_all(t, r, keys, "down A"), 2)
    r = srv.query("down." + APEX, "AAAA", do=True)
    nsec = [x for x in r.authority if x.rdtype == NSEC] if r else []
    t.check("down AAAA (a family it lacks): the owner's NSEC", len(nsec) == 1 and
            nsec[0].name == qname, detail=[x.to_text() for x in nsec])
    t.eq("down AAAA: SOA and NSEC validate", validate_all(t, r, keys, "down AAAA"), 2)

    # A CNAME synthesized from *.alias: the NSEC proving foo.alias absent.
    r = srv.query("foo.alias." + APEX, "A", do=True)
    t.check("foo.alias A: CNAME then www's A", r is not None and
            [x.rdtype for x in r.answer if x.rdtype != RRSIG] ==
            [dns.rdatatype.CNAME, dns.rdatatype.A], resp=r)
    t.eq("foo.alias A: CNAME, A and the NSEC validate", validate_all(t, r, keys, "wild CNAME"),
         3)
    foo = dns.name.from_text("foo.alias." + APEX)
    t.check("foo.alias A: an NSEC covers foo.alias",
            r is not None and any(covers(x, foo, ORIGIN) for x in r.authority if x.rdtype == NSEC),
            resp=r)

    # ANY: RFC 8482's HINFO, signed at its owner; at a wildcard too, with its NSEC.
    for name in ("www", "static", "", "x.wild"):
        owner = f"{name}.{APEX}" if name else APEX
        r = srv.query(owner, "ANY", do=True)
        hinfo = [x for x in r.answer if x.rdtype == dns.rdatatype.HINFO] if r else []
        t.check(f"{owner} ANY: one HINFO", len(hinfo) == 1, resp=r)
        t.eq(f"{owner} ANY: HINFO validates",
             validate_all(t, r, keys, f"{owner} ANY", sections=("answer",)), 1)
    r = srv.query("x.wild." + APEX, "ANY", do=True)
    x_wild = dns.name.from_text("x.wild." + APEX)
    t.check("x.wild ANY: an NSEC covers x.wild",
            r is not None and any(covers(x, x_wild, ORIGIN)
                                  for x in r.authority if x.rdtype == NSEC),
            resp=r)
    validate_all(t, r, keys, "x.wild ANY authority", sections=("authority",))

    # A ZSK copied into the keys directory: served and signing without an edit of the zone.
    spare = srv.tmp / "spare"
    h.run([t.binary, "keys", "create", "lb.example.test", "--dir", str(spare), "--ksk-zsk"])
    zsk_tag = None
    for f in spare.glob("K*.key"):
        if "\tDNSKEY\t256 " in f.read_text():
            zsk_tag = int(re.search(r"\+(\d+)\.key$", f.name).group(1))
            priv = f.with_suffix(".private")
            (keydir / priv.name).write_bytes(priv.read_bytes())
            (keydir / f.name).write_text(f.read_text())
    t.check("a ZSK was made and copied", zsk_tag is not None)
    started = time.monotonic()
    new_keys = h.poll(lambda: served_keys(srv),
                      lambda k: bool(k) and len(k[ORIGIN]) == 2, timeout=30.0, step=0.25)
    took = time.monotonic() - started
    t.eq("the DNSKEY RRset gains the copied ZSK", len(new_keys[ORIGIN]) if new_keys else 0, 2)
    t.check("within two scans of the zones directory", took < 12.0, detail=f"{took:.1f} s")
    t.check("the log says the zone was signed again",
            len(re.findall(r'msg="zone signed" zone=lb\.example\.test\.', srv.stderr())) >= 2,
            detail=srv.stderr()[-1500:])
    r = srv.query("www." + APEX, "A", do=True)
    sig = next((x for x in r.answer if x.rdtype == RRSIG), None) if r else None
    t.eq("the new ZSK signs www", sig[0].key_tag if sig else None, zsk_tag)
    t.eq("and www validates against the new DNSKEY RRset",
         validate_all(t, r, new_keys, "www after the key was added"), 1)
    r = srv.query("big." + APEX, "A", do=True)
    t.eq("a big pool's set is signed again by it (the cache keyed by zone version)",
         validate_all(t, r, new_keys, "big after the key was added"), 1)
    sig = next((x for x in r.answer if x.rdtype == RRSIG), None) if r else None
    t.eq("by the new ZSK", sig[0].key_tag if sig else None, zsk_tag)
    srv.stop()
