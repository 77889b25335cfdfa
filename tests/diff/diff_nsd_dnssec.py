#!/usr/bin/python3
"""Differential test of signed answers: steerdns signing a static zone against NSD serving the
same records signed by `ldns-signzone` with the same key.

The key is made by `steerdns keys create` (BIND's K*.key/K*.private, which ldns-signzone reads).
The zone (ZONE below: static records only, no pools) is written as a steerdns JSON zone with
"dnssec", and as a master file (diff_nsd.nsd_master) with the apex DNSKEY from the .key file and
the CDS/CDNSKEY steerdns also publishes (from `steerdns keys ds` and the .key file), signed by
ldns-signzone (NSEC) and served by NSD (diff_nsd.Nsd). Each query (positive, CNAME, wildcard,
NXDOMAIN, NODATA, empty non-terminal, DNSKEY/CDS/CDNSKEY, referral with and without DS, DS, NSEC
at every owner, a name just after every owner) goes to both with DO over UDP. Compared: the
rcode, AA, every record of every section but the signatures (TTLs included: NSEC owner, next
name and type bitmap among them), and each RRSIG's header (type covered, algorithm, labels,
original TTL, key tag, signer, TTL); the signatures themselves (made at different times) are
not compared but verified with dnspython's dns.dnssec against the key on both sides. Last, the
NSECs steerdns served, all together, are ldns-signzone's whole chain.

Where steerdns deliberately answers otherwise, the difference is allowed narrowly, each rule
in ALLOWANCES with its reason and a count.

    /usr/bin/python3 tests/diff/diff_nsd_dnssec.py --binary build/steerdns
"""

import collections
import os
import shutil
import sys
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import diff_nsd  # noqa: E402  (Nsd, ask, nsd_master; it puts tests/e2e on the path)
import dns.dnssec  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.name  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.zone  # noqa: E402
import harness as h  # noqa: E402

APEX = "signed.test."
ORIGIN = dns.name.from_text(APEX)
RRSIG, NSEC = dns.rdatatype.RRSIG, dns.rdatatype.NSEC

ZONE = {
    "zone": APEX,
    "ttl": 3600,
    "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 2026120601,
            "refresh": 7200, "retry": 900, "expire": 1209600, "minimum": 300},
    "ns": ["ns1", "ns2"],
    "records": [
        "ns1 A 192.0.2.1", "ns1 AAAA 2001:db8::1", "ns2 A 192.0.2.2",
        "@ MX 10 mail", "@ TXT \"v=spf1 -all\"",
        "mail A 192.0.2.25",
        "www 600 A 192.0.2.80", "www 600 A 192.0.2.81", "www AAAA 2001:db8::80",
        "www TXT \"hello\"",
        "alias CNAME www", "ext CNAME www.outside.example.",
        "deep.a.b.ent TXT \"below two empty non-terminals\"",
        "*.wild A 192.0.2.77", "*.wild TXT \"wild card\"", "host.wild A 192.0.2.78",
        "sub NS ns.sub", "ns.sub A 192.0.2.53",
        "sub DS 60485 13 2 " + "2b" * 32,
        "insec NS ns.insec", "insec NS ns.outside.example.", "ns.insec A 192.0.2.54",
    ],
}

QUERIES = [
    # positive
    ("", "SOA"), ("", "NS"), ("", "MX"), ("", "TXT"), ("", "DNSKEY"), ("", "CDS"),
    ("", "CDNSKEY"), ("www", "A"), ("www", "AAAA"), ("www", "TXT"), ("mail", "A"),
    ("ns1", "AAAA"), ("alias", "A"), ("alias", "CNAME"), ("ext", "A"),
    ("deep.a.b.ent", "TXT"), ("host.wild", "A"),
    # wildcard synthesis (the name's absence proved by an NSEC)
    ("x.wild", "A"), ("y.x.wild", "TXT"),
    # NXDOMAIN: inside, below a leaf, after the last name, before the first
    ("nx", "A"), ("a.b.nx", "A"), ("x.www", "A"), ("zzzz", "A"), ("0", "A"),
    ("x.deep.a.b.ent", "TXT"), ("x.host.wild", "A"),
    # NODATA: a name, the apex, empty non-terminals, a wildcard
    ("www", "MX"), ("", "AAAA"), ("mail", "TXT"), ("b.ent", "A"), ("a.b.ent", "TXT"),
    ("x.wild", "MX"), ("ns2", "AAAA"),
    # referrals (with DS: signed DS; without: the cut's NSEC), DS at the cuts
    ("host.sub", "A"), ("sub", "NS"), ("sub", "DS"), ("host.insec", "A"), ("insec", "DS"),
    ("insec", "NS"),
]

ALLOWANCES = {
    "additional-rrsig": "minimal responses (issue 16): steerdns puts no RRSIG into the "
                        "additional section (the addresses of NS/MX targets are sent unsigned; "
                        "a validating resolver asks for them if it needs them), NSD adds their "
                        "RRSIGs. Additional-section RRSIGs are not compared.",
}


def fqdn(label: str) -> str:
    return f"{label}.{APEX}" if label else APEX


def ldns_files(keydir: Path) -> tuple:
    key = next(keydir.glob("K*.key"))
    return key, key.with_suffix("")


def nsd_zone_text(keydir: Path, ds_line: str) -> str:
    """The master file: the zone's records, the apex DNSKEY of the .key file (TTL as written),
    and the CDS and CDNSKEY steerdns publishes at the apex (the DS of `keys ds`, the DNSKEY)."""
    key, _ = ldns_files(keydir)
    dnskey = next(line.split(";")[0].strip() for line in key.read_text().splitlines()
                  if "DNSKEY" in line and not line.startswith(";"))
    owner, ttl, cls, _, rdata = dnskey.split(None, 4)
    ds_rdata = ds_line.split("DS", 1)[1].strip()
    return diff_nsd.nsd_master(ZONE) + (f"{dnskey}\n{owner} {ttl} {cls} CDNSKEY {rdata}\n"
                                        f"{owner} {ttl} {cls} CDS {ds_rdata}\n")


def query(host: str, port: int, name: str, rdtype: str):
    q = h.make_query(name, rdtype, do=True, payload=4096, rd=False)
    return diff_nsd.ask(host, port, q.to_wire(), 1.0)


def plain(section) -> set:
    """The section's records but signatures: (owner, type, TTL, rdata), owners lowercased."""
    return {(r.name.to_text().lower(), dns.rdatatype.to_text(r.rdtype), r.ttl, rd.to_text())
            for r in section if r.rdtype not in (RRSIG, dns.rdatatype.OPT) for rd in r}


def sig_headers(section) -> set:
    return {(r.name.to_text().lower(), dns.rdatatype.to_text(rd.type_covered), rd.algorithm,
             rd.labels, rd.original_ttl, rd.key_tag, rd.signer.to_text().lower(), r.ttl)
            for r in section if r.rdtype == RRSIG for rd in r}


def verify(resp, keys) -> tuple:
    """(RRSIGs verified, failures) over every section: each RRSIG against its RRset."""
    ok, bad = 0, []
    for section in (resp.answer, resp.authority, resp.additional):
        sets = {(r.name, r.rdtype): r for r in section if r.rdtype != RRSIG}
        for sig in (r for r in section if r.rdtype == RRSIG):
            rrset = sets.get((sig.name, sig.covers))
            try:
                if rrset is None:
                    raise dns.dnssec.ValidationFailure("no RRset for it")
                dns.dnssec.validate(rrset, sig, keys)
                ok += 1
            except dns.dnssec.ValidationFailure as e:
                bad.append(f"{sig.name} RRSIG {dns.rdatatype.to_text(sig.covers)}: {e}")
    return ok, bad


def compare(t, label: str, ours, theirs, keys, used: collections.Counter) -> set:
    """Checks one query; returns the NSECs steerdns sent."""
    if not t.check(f"{label}: both answer", ours is not None and theirs is not None,
                   detail=f"steerdns {ours is not None}, nsd {theirs is not None}"):
        return set()
    diffs = []
    if ours.rcode() != theirs.rcode():
        diffs.append(f"rcode {ours.rcode()} vs {theirs.rcode()}")
    if (ours.flags & dns.flags.AA) != (theirs.flags & dns.flags.AA):
        diffs.append("AA differs")
    for name in ("answer", "authority", "additional"):
        a, b = getattr(ours, name), getattr(theirs, name)
        if plain(a) != plain(b):
            diffs.append(f"{name}: steerdns only {sorted(plain(a) - plain(b))}, "
                         f"nsd only {sorted(plain(b) - plain(a))}")
        sa, sb = sig_headers(a), sig_headers(b)
        if name == "additional" and sa != sb and not sa:
            used["additional-rrsig"] += 1
        elif sa != sb:
            diffs.append(f"{name} RRSIG headers: steerdns only {sorted(sa - sb)}, "
                         f"nsd only {sorted(sb - sa)}")
    t.check(f"{label}: same records and RRSIG headers", not diffs, detail="\n".join(diffs))
    for who, resp in (("steerdns", ours), ("nsd", theirs)):
        n, bad = verify(resp, keys)
        t.check(f"{label}: {who}'s {n} RRSIGs verify", not bad, detail="\n".join(bad))
    return {r for r in plain(ours.answer) | plain(ours.authority) if r[1] == "NSEC"}


def main() -> None:
    with h.Test("steerdns vs NSD + ldns-signzone on a signed static zone") as t:
        os.environ["PATH"] += ":/usr/sbin"
        missing = [x for x in ("nsd", "ldns-signzone") if shutil.which(x) is None]
        if missing:
            t.fail(f"{', '.join(missing)} installed (.ci/install-deps installs nsd, ldnsutils)")
            return
        zone = dict(ZONE, dnssec={"keys": "keys"})
        srv = h.Server(t.binary, [zone], wait=False, name="steerdns")
        t.servers.append(srv)
        keydir = srv.zones_dir / "keys"
        made = h.run([t.binary, "keys", "create", APEX, "--dir", str(keydir)])
        t.eq("steerdns keys create exits 0", made.returncode, 0)
        ds = h.run([t.binary, "keys", "ds", str(keydir)]).stdout.strip()
        tmp = t.tempdir("steerdns-diff-dnssec-")
        (tmp / "unsigned.zone").write_text(nsd_zone_text(keydir, ds))
        _, base = ldns_files(keydir)
        signed = h.run(["ldns-signzone", "-o", APEX, "-f", str(tmp / "signed.zone"),
                        str(tmp / "unsigned.zone"), str(base)])
        t.check("ldns-signzone signs the master file with steerdns's key", signed.returncode == 0,
                detail=signed.stdout + signed.stderr)
        text = (tmp / "signed.zone").read_text()
        z = dns.zone.from_text(text, ORIGIN, relativize=False, check_origin=False)
        file_nsecs = {(name.to_text().lower(), "NSEC", rds.ttl, rd.to_text())
                      for name, rds in z.iterate_rdatasets(NSEC) for rd in rds}
        nsd = diff_nsd.Nsd(tmp, text, apex=APEX)
        checked = nsd.check_zone()
        t.check("nsd-checkzone accepts the signed zone", checked.returncode == 0,
                detail=checked.stdout + checked.stderr)
        srv.start()
        started = nsd.start()
        for _ in range(2):  # the port may be taken between free_port() and nsd's bind
            if started or "already in use" not in nsd.log():
                break
            nsd.stop()
            nsd = diff_nsd.Nsd(tmp, text, apex=APEX)
            started = nsd.start()
        try:
            t.check("nsd starts and answers SOA", started, detail=nsd.log()[-3000:])
            if not started:
                return
            r = query(srv.host, srv.port, APEX, "DNSKEY")
            dnskey = next((x for x in r.answer if x.rdtype == dns.rdatatype.DNSKEY), None) \
                if r is not None else None
            t.check("steerdns serves a DNSKEY", dnskey is not None, resp=r)
            keys = {ORIGIN: dnskey}
            # Every owner: its NSEC asked for, and a name just after it (covered by its NSEC).
            owners = sorted({n for n, _, _, _ in file_nsecs})
            extra = []
            for owner in owners:
                extra.append((owner, "NSEC"))
                if owner != APEX:
                    first, rest = owner.split(".", 1)
                    extra.append((f"{first}-x.{rest}", "A"))
            used = collections.Counter()
            served_nsecs = set()
            for name, rdtype in [(fqdn(n), ty) for n, ty in QUERIES] + extra:
                ours = query(srv.host, srv.port, name, rdtype)
                theirs = query(nsd.host, nsd.port, name, rdtype)
                served_nsecs |= compare(t, f"{name} {rdtype}", ours, theirs, keys, used)
            print(f"# {len(QUERIES) + len(extra)} queries; ldns-signzone's chain has "
                  f"{len(file_nsecs)} NSECs, steerdns served {len(served_nsecs)}")
            t.eq("the NSECs steerdns served are ldns-signzone's whole chain "
                 "(owner, next name, type bitmap, TTL)", sorted(served_nsecs), sorted(file_nsecs))
            for key, why in ALLOWANCES.items():
                print(f"# allowance {key}: applied {used[key]} times: {why}")
        finally:
            nsd.stop()
            t.check("nsd exits on SIGTERM", nsd.proc is None or nsd.proc.poll() is not None)


if __name__ == "__main__":
    main()
