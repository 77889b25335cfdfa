#!/usr/bin/python3
"""DNSSEC: keys made with `steerdns keys create`, a zone with "dnssec", and every kind of answer
with DO validated by dnspython's dns.dnssec against the DNSKEY the server serves: balanced
(in each rotation order), static, CNAME, NXDOMAIN (name and wildcard denied), NODATA, referral
without DS (the cut's NSEC) and with DS, DNSKEY, CDS and CDNSKEY. Without DO, answers are the
same bytes as those of the same zone unsigned."""

import copy
import re
import sys
import time

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import dns.dnssec  # noqa: E402
import dns.flags  # noqa: E402
import dns.name  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.rrset  # noqa: E402
import harness as h  # noqa: E402
from dnssec_checks import covers, validate_all  # noqa: E402

APEX = "lb.example.test."
ORIGIN = dns.name.from_text(APEX)
RRSIG = dns.rdatatype.RRSIG
NSEC = dns.rdatatype.NSEC


def signed_zone() -> dict:
    z = h.lb_zone(extra_records=[
        "secure NS ns.other.test.",
        "secure DS 12345 13 2 " + "ab" * 32,
        "a.deep.ent TXT \"below an empty non-terminal\"",
        "*.wild A 192.0.2.7",
    ])
    z["dnssec"] = {"keys": "keys/lb.example.test", "signature_validity": 864000}
    return z








with h.Test("DNSSEC: signed answers validated with dnspython") as t:
    srv = h.Server(t.binary, [signed_zone()], wait=False)
    keydir = srv.zones_dir / "keys" / "lb.example.test"
    p = h.run([t.binary, "keys", "create", "lb.example.test", "--dir", str(keydir)])
    t.check("steerdns keys create exits 0", p.returncode == 0, detail=p.stderr)
    t.check("it prints the key and the DS", "CSK, algorithm 13 ECDSAP256SHA256" in p.stdout
            and "\tDS\t" in p.stdout, detail=p.stdout)
    key_files = sorted(keydir.glob("K*.key"))
    t.eq("one .key and one .private", (len(key_files), len(list(keydir.glob("K*.private")))),
         (1, 1))
    p = h.run([t.binary, "keys", "ds", str(srv.zones_dir / "lb.example.test.json")])
    t.check("steerdns keys ds ZONEFILE exits 0", p.returncode == 0, detail=p.stderr)
    ds_line = p.stdout.strip()
    t.check("keys ds prints one DS", re.fullmatch(r"lb\.example\.test\.\s+3600\s+IN\s+DS\s+\d+ 13 2"
                                                  r" [0-9a-f]{64}", ds_line), detail=p.stdout)
    p = h.run([t.binary, "check", str(srv.zones_dir / "lb.example.test.json")])
    t.check("steerdns check accepts the signed zone", p.returncode == 0,
            detail=p.stdout + p.stderr)
    srv.start()

    t.check("the log says the zone is signed and when it is signed again",
            re.search(r'msg="zone signed" zone=lb\.example\.test\. rrsig_bytes=\d+ '
                      r'resign_at=\d{4}-\d\d-\d\dT', srv.stderr()), detail=srv.stderr()[-800:])
    r = srv.query(APEX, "DNSKEY", do=True)
    t.check("DNSKEY answered", r is not None and r.answer, resp=r)
    dnskey = next(x for x in r.answer if x.rdtype == dns.rdatatype.DNSKEY)
    keys = {ORIGIN: dnskey}
    t.eq("DNSKEY and its RRSIG validate", validate_all(t, r, keys, "DNSKEY"), 1)
    ds = dns.dnssec.make_ds(ORIGIN, dnskey[0], "SHA256")
    t.check("the DS of keys ds is the served key's", ds.to_text() in ds_line,
            detail=f"{ds.to_text()} vs {ds_line}")
    other = h.Server(t.binary, [signed_zone()], wait=False, name="otherkey")
    h.run([t.binary, "keys", "create", "lb.example.test", "--dir", str(other.tmp / "k")])
    p = h.run([t.binary, "keys", "ds", str(other.tmp / "k")])
    wrong = dns.dnssec.make_ds(ORIGIN, dnskey[0], "SHA256").to_text()
    t.check("another key has another DS", p.returncode == 0 and wrong not in p.stdout,
            detail=p.stdout)
    try:
        other_key = dns.rrset.from_text(APEX, 300, "IN", "DNSKEY",
                                        open(next((other.tmp / "k").glob("*.key"))).read()
                                        .split("DNSKEY", 1)[1].split(";")[0].strip())
        dns.dnssec.validate(dnskey, next(x for x in r.answer if x.rdtype == RRSIG),
                            {ORIGIN: other_key})
        t.fail("validation against another key fails")
    except dns.dnssec.ValidationFailure:
        t.check("validation against another key fails", True)
    other.cleanup()
    t.check("the answer has AA and echoes DO", (r.flags & dns.flags.AA) and
            (r.ednsflags & dns.flags.DO), resp=r)

    for rdtype in ("CDS", "CDNSKEY", "SOA", "NS", "TXT"):
        r = srv.query(APEX, rdtype, do=True)
        t.check(f"apex {rdtype} answered", r is not None and r.answer, resp=r)
        t.eq(f"apex {rdtype} validates", validate_all(t, r, keys, rdtype), 1)
    r = srv.query(APEX, "CDS", do=True)
    t.eq("CDS is the DS of the KSK", r.answer[0][0].to_text() if r and r.answer else None,
         ds.to_text())

    # Balanced: every rotation order of the same members validates (one signature per set).
    orders, members = set(), set()
    for i in range(6):
        r = srv.query("www." + APEX, "A", do=True)
        a = [x for x in r.answer if x.rdtype == dns.rdatatype.A] if r else []
        if a:
            orders.add(tuple(rd.address for rd in a[0]))
            members.update(rd.address for rd in a[0])
        validate_all(t, r, keys, f"www A #{i}")
    t.check("rotation goes on with DO (several orders seen)", len(orders) >= 3, detail=orders)
    t.eq("the rotation reaches every A member", sorted(members),
         ["192.0.2.10", "192.0.2.11", "192.0.2.12"])
    r = srv.query("www." + APEX, "AAAA", do=True)
    t.eq("www AAAA validates", validate_all(t, r, keys, "www AAAA"), 1)

    r = srv.query("static." + APEX, "A", do=True)
    t.eq("static A validates", validate_all(t, r, keys, "static A"), 1)
    r = srv.query("docs." + APEX, "A", do=True)
    t.eq("CNAME docs -> www: CNAME and A validate", validate_all(t, r, keys, "docs A"), 2)
    r = srv.query("docs." + APEX, "NSEC", do=True)
    t.check("NSEC asked at a CNAME owner: the NSEC, not the CNAME followed",
            r is not None and [x.rdtype for x in r.answer] == [NSEC, RRSIG], resp=r)

    # A wildcard answer: the RRSIG's labels say it was expanded; an NSEC proves the name absent.
    r = srv.query("x.wild." + APEX, "A", do=True)
    t.eq("wildcard A validates", validate_all(t, r, keys, "wildcard", sections=("answer",)), 1)
    sig = next((x for x in r.answer if x.rdtype == RRSIG), None) if r else None
    t.eq("its RRSIG counts the labels of *.wild.lb.example.test. without the *",
         sig[0].labels if sig else None, 4)
    nsecs = [x for x in r.authority if x.rdtype == NSEC] if r else []
    t.check("an NSEC in authority covers x.wild (the name does not exist)",
            any(covers(x, dns.name.from_text("x.wild." + APEX), ORIGIN) for x in nsecs), resp=r)
    validate_all(t, r, keys, "wildcard authority", sections=("authority",))

    # NXDOMAIN: SOA, the NSEC covering the name, the NSEC covering *.<closest encloser>.
    for name, ce in (("nx." + APEX, APEX), ("a.b.nx." + APEX, APEX),
                     ("x.static." + APEX, "static." + APEX)):
        r = srv.query(name, "A", do=True)
        t.eq(f"{name}: NXDOMAIN", r.rcode() if r else None, h.RCODE["NXDOMAIN"], resp=r)
        if r is None:
            continue
        n = validate_all(t, r, keys, f"NXDOMAIN {name}")
        nsecs = [x for x in r.authority if x.rdtype == NSEC]
        qn = dns.name.from_text(name)
        wild = dns.name.from_text("*." + ce)
        t.check(f"{name}: an NSEC covers the name", any(covers(x, qn, ORIGIN) for x in nsecs),
                detail=[x.to_text() for x in nsecs])
        t.check(f"{name}: an NSEC covers {wild}", any(covers(x, wild, ORIGIN) for x in nsecs),
                detail=[x.to_text() for x in nsecs])
        t.check(f"{name}: SOA and NSECs all signed ({n})", n == 1 + len(nsecs))

    # NODATA: the owner's NSEC, whose bitmap lacks the type.
    for name, rdtype in (("static." + APEX, "TXT"), ("www." + APEX, "MX"), (APEX, "MX")):
        r = srv.query(name, rdtype, do=True)
        nsecs = [x for x in r.authority if x.rdtype == NSEC] if r else []
        types = nsecs[0][0].to_text().split()[1:] if nsecs else []
        t.check(f"NODATA {name} {rdtype}: the owner's NSEC, without {rdtype}",
                len(nsecs) == 1 and nsecs[0].name == dns.name.from_text(name)
                and rdtype not in types and "NSEC" in types, resp=r)
        validate_all(t, r, keys, f"NODATA {name} {rdtype}")
    r = srv.query("www." + APEX, "MX", do=True)
    nsec = next((x for x in r.authority if x.rdtype == NSEC), None) if r else None
    bitmap = nsec[0].to_text() if nsec else ""
    t.check("a balanced name's NSEC lists the families of its pool", " A AAAA " in bitmap
            and "MX" not in bitmap, detail=bitmap)
    r = srv.query("deep.ent." + APEX, "A", do=True)
    nsecs = [x for x in r.authority if x.rdtype == NSEC] if r else []
    t.check("NODATA at an empty non-terminal: the NSEC covering it",
            r is not None and r.rcode() == 0 and
            any(covers(x, dns.name.from_text("deep.ent." + APEX), ORIGIN) for x in nsecs), resp=r)
    validate_all(t, r, keys, "empty non-terminal")

    # Referrals: without DS, the cut's NSEC (NS and no DS in its bitmap); with DS, the DS.
    r = srv.query("host.sub." + APEX, "A", do=True)
    nsec = next((x for x in r.authority if x.rdtype == NSEC), None) if r else None
    t.check("referral without DS: the cut's NSEC, NS but no DS", nsec is not None and
            nsec.name == dns.name.from_text("sub." + APEX) and " NS " in nsec[0].to_text() + " "
            and " DS " not in nsec[0].to_text() + " ", resp=r)
    t.eq("referral without DS: the NSEC validates", validate_all(t, r, keys, "sub referral"), 1)
    r = srv.query("host.secure." + APEX, "A", do=True)
    t.check("referral with DS: the DS", r is not None and
            any(x.rdtype == dns.rdatatype.DS for x in r.authority), resp=r)
    t.eq("referral with DS: the DS validates", validate_all(t, r, keys, "secure referral"), 1)

    # Differential: ldns-signzone signs the same records with the same key; every owner's NSEC
    # (next name and type bitmap) must be the one we serve.
    z = signed_zone()
    lines = ["$ORIGIN " + APEX, "$TTL 300",
             "@ SOA ns1 hostmaster 2026112501 3600 600 1209600 60"]
    lines += ["@ NS " + n for n in z["ns"]] + z["records"]
    for pool_name, pool in z["pools"].items():
        for m in pool["members"]:
            lines.append(f"{pool_name} {'AAAA' if ':' in m['address'] else 'A'} {m['address']}")
    for rdtype in ("CDS", "CDNSKEY"):
        r = srv.query(APEX, rdtype)
        lines += [f"@ {rdtype} {rd.to_text()}" for rd in r.answer[0]] if r and r.answer else []
    work = t.tempdir()
    (work / "zone.txt").write_text("\n".join(lines) + "\n")
    key_base = str(key_files[0])[:-len(".key")]
    p = h.run(["ldns-signzone", "-f", str(work / "signed.txt"), "-o", APEX, str(work / "zone.txt"),
               key_base])
    theirs = {}
    if p.returncode != 0:
        t.fail("ldns-signzone signs the same zone", p.stdout + p.stderr)
    else:
        for line in (work / "signed.txt").read_text().splitlines():
            f = line.split()
            if len(f) > 4 and f[3] == "NSEC":
                theirs[f[0].lower()] = (f[4].lower(), sorted(f[5:]))
    ours = {}
    for owner in theirs:
        # NODATA shows the owner's NSEC; at a CNAME or a cut with DS, the NXDOMAIN of the name
        # right after it ("docsa" follows "docs") does.
        first, rest = owner.split(".", 1)
        for name, rdtype in ((owner, "NAPTR"), (f"{first}a.{rest}", "A")):
            r = srv.query(name, rdtype, do=True)
            for rrset in (r.authority if r else []):
                if rrset.rdtype == NSEC and rrset.name.to_text().lower() == owner:
                    txt = rrset[0].to_text().split()
                    ours[owner] = (txt[0].lower(), sorted(txt[1:]))
            if owner in ours:
                break
    t.check("ldns-signzone made an NSEC chain to compare", len(theirs) >= 10, detail=theirs)
    t.eq("every owner's NSEC (next name, types) is ldns-signzone's",
         {k: v for k, v in ours.items() if theirs.get(k) != v},
         {})
    t.eq("the same owners have an NSEC", sorted(ours), sorted(theirs))

    # Sizes of typical signed answers (UDP, ECDSA P-256), for the README.
    sizes = {}
    for label, name, rdtype in (("balanced A (2 answers)", "www." + APEX, "A"),
                                ("static A", "static." + APEX, "A"),
                                ("NXDOMAIN", "nx." + APEX, "A"),
                                ("NODATA", "static." + APEX, "TXT"),
                                ("DNSKEY", APEX, "DNSKEY")):
        plain = srv.query(name, rdtype)
        signed = srv.query(name, rdtype, do=True)
        sizes[label] = (plain.wire_len if plain else None, signed.wire_len if signed else None)
    print("  signed answer sizes (bytes, DO=0 -> DO=1): " +
          ", ".join(f"{k} {a} -> {b}" for k, (a, b) in sizes.items()))
    t.check("every signed answer fits in 1232 bytes",
            all(b is not None and b <= 1232 for _, b in sizes.values()), detail=sizes)

    # Key problems are located errors of check; on a reload the previous version serves on.
    zone_file = srv.zones_dir / "lb.example.test.json"
    bad_zones = {
        "a missing key directory": ({"keys": "keys/nowhere"}, "cannot read the key directory"),
        "a key for another zone": ({"keys": "other"}, "a key for other.test., not for "
                                   "lb.example.test."),
        "no active key": ({"keys": "future"}, "no key for lb.example.test. is active now"),
    }
    h.run([t.binary, "keys", "create", "other.test", "--dir", str(srv.zones_dir / "other")])
    future = srv.zones_dir / "future"
    h.run([t.binary, "keys", "create", "lb.example.test", "--dir", str(future)])
    for f in future.glob("*.key"):
        f.write_text(re.sub(r"; Activate: \d+", "; Activate: 20991231000000", f.read_text()))
    good_text = zone_file.read_text()
    for what, (dnssec, message) in bad_zones.items():
        z = signed_zone()
        z["dnssec"] = dnssec
        bad = srv.zones_dir / "bad.json.txt"
        bad.write_text(__import__("json").dumps(z, indent=2))
        p = h.run([t.binary, "check", str(bad)])
        t.check(f"check: {what} is a located error at dnssec.keys",
                p.returncode == 1 and re.search(r"bad\.json\.txt:\d+:\d+: dnssec\.keys: .*" +
                                                re.escape(message), p.stdout + p.stderr),
                detail=p.stdout + p.stderr)
        bad.unlink()
    mark = len(srv.stderr())
    z = signed_zone()
    z["dnssec"] = {"keys": "keys/nowhere"}
    z["records"].append("new A 192.0.2.77")
    zone_file.write_text(__import__("json").dumps(z, indent=2))
    t.check("reload with a missing key directory: 'previous version keeps serving'",
            "previous version keeps serving" in h.poll(
                lambda: srv.stderr()[mark:], lambda s: "previous version keeps serving" in s,
                timeout=10.0))
    r = srv.query("static." + APEX, "A", do=True)
    t.eq("the previous signed version still answers", validate_all(t, r, keys, "after reload"), 1)
    r = srv.query("new." + APEX, "A", do=True)
    t.eq("the broken version's new name is not served", r.rcode() if r else None,
         h.RCODE["NXDOMAIN"], resp=r)
    zone_file.write_text(good_text)

    # A pre-published ZSK becomes active by its Activate time alone: the zone is signed again
    # by itself (no edit, no signal), and the balanced answer then carries the ZSK's RRSIG.
    roll = h.Server(t.binary, [signed_zone()], wait=False, name="rollover")
    rolldir = roll.zones_dir / "keys" / "lb.example.test"
    h.run([t.binary, "keys", "create", "lb.example.test", "--dir", str(rolldir)])
    pair = roll.tmp / "pair"
    h.run([t.binary, "keys", "create", "lb.example.test", "--dir", str(pair), "--ksk-zsk"])
    activate = time.gmtime(time.time() + 8)
    zsk_tag = None
    for f in pair.glob("K*.key"):
        if "\tDNSKEY\t256 " not in f.read_text():
            continue
        zsk_tag = int(re.search(r"\+(\d+)\.key$", f.name).group(1))
        text = re.sub(r"; Activate: \d+", "; Activate: " + time.strftime("%Y%m%d%H%M%S", activate),
                      f.read_text())
        (rolldir / f.name).write_text(text)
        priv = f.with_suffix(".private")
        (rolldir / priv.name).write_bytes(priv.read_bytes())
    t.check("a ZSK was made", zsk_tag is not None)
    roll.start()
    r = roll.query(APEX, "DNSKEY", do=True)
    roll_keys = {ORIGIN: next(x for x in r.answer if x.rdtype == dns.rdatatype.DNSKEY)} if r \
        else {}
    t.eq("the pre-published ZSK is in the DNSKEY RRset", len(roll_keys[ORIGIN]) if r else 0, 2)

    def signer_tag():
        resp = roll.query("www." + APEX, "A", do=True)
        sig = next((x for x in resp.answer if x.rdtype == RRSIG), None) if resp else None
        return sig[0].key_tag if sig else None
    t.check("before its Activate time the CSK signs", signer_tag() not in (None, zsk_tag))
    t.eq("after it, the ZSK signs (the zone re-signed itself)",
         h.poll(signer_tag, lambda tag: tag == zsk_tag, timeout=30.0, step=0.5), zsk_tag)
    r = roll.query("www." + APEX, "A", do=True)
    t.eq("and the answer validates against the served DNSKEY",
         validate_all(t, r, roll_keys, "after the rollover"), 1)
    roll.stop()

    # Without DO: the same bytes as the same zone unsigned (fresh servers, same query order,
    # so the rotation is at the same place in both).
    unsigned = copy.deepcopy(signed_zone())
    del unsigned["dnssec"]
    a = h.Server(t.binary, [unsigned], wait=False, name="unsigned")
    b = h.Server(t.binary, [signed_zone()], wait=False, name="signed")
    (b.zones_dir / "keys").symlink_to(srv.zones_dir / "keys")
    a.start()
    b.start()
    queries = [("www", "A"), ("www", "A"), ("www", "AAAA"), ("static", "A"), ("docs", "A"),
               ("nx", "A"), ("static", "TXT"), ("host.sub", "A"), ("host.secure", "A"),
               ("", "SOA"), ("", "NS"), ("deep.ent", "A"), ("www", "ANY")]
    same = []
    for i, (label, rdtype) in enumerate(queries):
        name = f"{label}.{APEX}" if label else APEX
        for edns in (True, False):
            q = h.make_query(name, rdtype, edns=edns, qid=1000 + i).to_wire()
            ra, rb = a.query(name, raw=q), b.query(name, raw=q)
            same.append((name, rdtype, edns, ra is not None and rb is not None and
                         ra.wire == rb.wire))
    t.eq("DO=0 answers are byte-identical to the unsigned zone's",
         [x[:3] for x in same if not x[3]], [])
    a.stop()
    b.stop()
