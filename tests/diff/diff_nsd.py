#!/usr/bin/python3
"""Differential test: steerdns against NSD on the same static zone.

One zone description (ZONE below, a steerdns JSON zone whose records are presentation-format
lines) is written twice: as a steerdns zone file and as an NSD master file (the same record
lines under $ORIGIN/$TTL, with the SOA and apex NS the JSON keys describe). Both servers run on
loopback (NSD in the foreground with its own config in a temp dir, no chroot, no privilege
drop, killed by PID). A seeded random set of queries (names inside and outside the zone,
below the delegation, empty non-terminals, wildcards, random case; every common type including ANY,
RRSIG, DS, NS, SOA; EDNS or not, random buffer sizes and options: ECS, cookies, NSID, padding,
unknown codes; DO, CD and AD bits) goes to both over UDP, and a sample over TCP. For each
query the rcode (extended too), the flags QR AA TC RD RA AD CD, the OPT (present, version, DO)
and the answer, authority and additional sections (as sets of records, TTLs included, owner
names compared case-insensitively) must be the same.

Where steerdns deliberately answers otherwise, the difference is allowed narrowly, each rule
in ALLOWANCES with its reason; every rule applied is counted in the output.

    /usr/bin/python3 tests/diff/diff_nsd.py --binary build/steerdns [--queries 3000] [--seed N]
"""

from __future__ import annotations

import collections
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
import harness as h  # noqa: E402

APEX = "diff.test."
SEED = int(os.environ.get("STEERDNS_DIFF_SEED", "20261201"))

# The zone, static records only. Its records are written verbatim into the NSD master file.
ZONE = {
    "zone": APEX,
    "ttl": 3600,
    "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 2026120101,
            "refresh": 7200, "retry": 900, "expire": 1209600, "minimum": 300},
    "ns": ["ns1", "ns2", "ns.outside.example."],
    "records": [
        "ns1 A 192.0.2.1", "ns1 AAAA 2001:db8::1", "ns2 A 192.0.2.2",
        "@ MX 10 mail", "@ MX 20 mx.outside.example.",
        "@ TXT \"v=spf1 -all\"", "@ CAA 0 issue \"ca.example.net\"",
        "mail A 192.0.2.25", "mail AAAA 2001:db8::25",
        "www 600 A 192.0.2.80", "www 600 A 192.0.2.81", "www AAAA 2001:db8::80",
        "www TXT \"hello world\" \"second string\"",
        "MiXeD.CaSe 120 A 192.0.2.99", "MiXeD.CaSe TXT \"Case Kept\"",
        "alias CNAME c1", "c1 CNAME c2", "c2 CNAME www",
        "ext CNAME www.outside.example.",
        "dangling CNAME nothing-here",
        "to-ent CNAME b.ent", "to-sub CNAME host.sub", "to-mail CNAME mail",
        "_sip._tcp SRV 10 60 5060 sip", "sip A 192.0.2.60",
        "_xmpp._tcp SRV 5 0 5269 www",
        "ptr PTR www.diff.test.",
        "hinfo HINFO \"PC\" \"Linux\"",
        "naptr NAPTR 100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp",
        "sshfp SSHFP 1 1 dd465c09cfa51fb45020cc83316fff21b9ec74ac",
        "_443._tcp.www TLSA 3 1 1 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
        "deep.a.b.ent A 192.0.2.7",
        "sub NS ns.sub", "sub NS ns.outside.example.",
        "ns.sub A 192.0.2.53", "ns.sub AAAA 2001:db8::53",
        "sub DS 60485 5 1 2bb183af5f22588179a53b0a98631fad1a292118",
        "big NS ns1.big", "big NS ns2.big", "big NS ns3.big", "big NS ns4.big",
    ] + [f"ns{i}.big AAAA 2001:db8:b19::{i}" for i in range(1, 5)]
      + [f"ns{i}.big A 198.51.100.{i}" for i in range(1, 5)]
      + ["bigtxt TXT \"" + f"{i:02d}" * 50 + "\"" for i in range(12)]
      # A referral whose glue does not all fit in 512 bytes.
      + [f"huge NS name-server-number-{i}.huge" for i in range(8)]
      + [f"name-server-number-{i}.huge A 203.0.113.{i}" for i in range(8)]
      + [f"name-server-number-{i}.huge AAAA 2001:db8:4:6::{i}" for i in range(8)]
      # Wildcards (RFC 4592): synthesis below wild, not for host.wild or the empty
      # non-terminal ent.wild (nor below them); CNAME wildcards into the zone, into a
      # synthesized name, out of the zone and to a missing name; a * beside an existing
      # empty non-terminal (a.b.ent); a * below a delegation, never synthesized from.
      + ["*.wild A 192.0.2.77", "*.wild AAAA 2001:db8::77", "*.wild TXT \"wild card\"",
         "*.wild MX 10 mail", "host.wild A 192.0.2.78", "x.ent.wild A 192.0.2.79",
         "*.cw CNAME www", "*.cwild CNAME foo.wild", "*.cwx CNAME www.outside.example.",
         "*.cwn CNAME nothing.host.wild", "*.b.ent 600 TXT \"ent wild\"",
         "*.sub A 192.0.2.99"],
}

NAMES_IN = [
    "", "ns1", "ns2", "mail", "www", "MiXeD.CaSe", "mixed.case", "alias", "c1", "c2", "ext",
    "dangling", "to-ent", "to-sub", "to-mail", "_sip._tcp", "sip", "_xmpp._tcp", "ptr", "hinfo",
    "naptr", "sshfp", "_443._tcp.www", "_tcp.www", "deep.a.b.ent", "a.b.ent", "b.ent", "ent",
    "sub", "ns.sub", "host.sub", "deeper.host.sub", "big", "ns1.big", "x.big", "bigtxt",
    "huge", "www.huge", "name-server-number-3.huge",
    "nx", "a.nx", "x.www", "x.deep.a.b.ent", "x.alias", "_udp", "*", "x.ns1",
    "foo.wild", "a.b.wild", "*.wild", "wild", "host.wild", "x.host.wild", "ent.wild",
    "y.ent.wild", "a.*.wild", "*.x.wild", "x.cw", "a.b.cw", "cw", "x.cwild", "x.cwx", "x.cwn",
    "x.b.ent", "y.x.b.ent", "*.b.ent", "x.sub", "*.sub",
]
NAMES_OUT = ["outside.example.", "www.outside.example.", "test.", ".", "xdiff.test.",
             "diff.test.example.", "sub.diff.test.evil."]
TYPES = ["A", "AAAA", "NS", "SOA", "MX", "TXT", "CNAME", "SRV", "CAA", "PTR", "DS", "RRSIG",
         "DNSKEY", "NSEC", "ANY", "HINFO", "NAPTR", "SSHFP", "TLSA", "DNAME", "TYPE65000"]
# Most queries ask the common types.
TYPE_WEIGHTS = [8, 6, 4, 4, 3, 3, 2, 2, 1, 1, 3, 2, 1, 1, 3, 1, 1, 1, 1, 1, 1]

# Where steerdns answers otherwise on purpose. Each: why, and which part is not compared.
ALLOWANCES = {
    "any": "RFC 8482: steerdns answers ANY with one synthesized HINFO record, NSD with every "
           "RRset of the name; the answer and additional sections of ANY queries at a name "
           "that has data are not compared (rcode, flags and authority are), nor a TC that "
           "NSD sets because all of a large name's RRsets do not fit where one HINFO does.",
    "cd": "RFC 4035 3.1.6: steerdns copies the CD bit from the query, as the RFC says a name "
          "server must; NSD 4.6 clears it. For queries with CD, steerdns must set CD and NSD "
          "may leave it clear; the other flags are compared.",
    "badvers-do": "RFC 3225 3: steerdns copies DO into every response with an OPT, the BADVERS "
                  "error included; NSD leaves DO clear there. DO is not compared in BADVERS "
                  "responses.",
    "rfc9471": "RFC 9471 3.1: a referral whose in-domain glue does not all fit over UDP must "
               "set TC; steerdns then sends TC with empty sections (as it does for any answer "
               "that does not fit), NSD 4.6 (older than the RFC) sends the NS records and the "
               "glue that fits without TC. Allowed only for such a pair: our TC and empty "
               "response against NSD's non-authoritative NS-only referral without TC.",
    "ede": "RFC 8914: NSD attaches an Extended DNS Error (option 15, code 20 Not "
           "Authoritative) to REFUSED answers for names outside its zones; the option is "
           "optional and steerdns sends none. Allowed on REFUSED responses only.",
    "ecs": "RFC 7871 7.2.2: steerdns echoes the Client Subnet option (scope 0 for static "
           "data); NSD 4.6 does not implement ECS and leaves it out. For queries with ECS, "
           "steerdns's options must be NSD's plus ECS.",
}


def nsd_master(zone: dict) -> str:
    """The NSD master file for a steerdns JSON zone: same record lines, SOA and apex NS."""
    s = zone["soa"]
    lines = [f"$ORIGIN {zone['zone']}", f"$TTL {zone['ttl']}",
             f"@ SOA {s['mname']} {s['rname']} {s['serial']} {s['refresh']} {s['retry']} "
             f"{s['expire']} {s['minimum']}"]
    lines += [f"@ NS {ns}" for ns in zone["ns"]]
    lines += zone["records"]
    return "\n".join(lines) + "\n"


class Nsd:
    """NSD in the foreground on a loopback port, everything in its own temp dir."""

    def __init__(self, tmp: Path, zone_text: str, host: str = "127.0.0.1", apex: str = APEX):
        self.tmp = tmp
        self.host = host
        self.apex = apex
        self.port = h.free_port(host)
        (tmp / "diff.test.zone").write_text(zone_text)
        (tmp / "nsd.conf").write_text(f"""server:
    ip-address: {host}@{self.port}
    port: {self.port}
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{tmp}"
    pidfile: "{tmp}/nsd.pid"
    database: ""
    xfrdfile: "{tmp}/xfrd.state"
    xfrdir: "{tmp}"
    zonelistfile: "{tmp}/zone.list"
    logfile: "{tmp}/nsd.log"
    verbosity: 1
    # Extra data only where needed, as steerdns: no apex NS in the authority section of
    # positive answers, no addresses of MX/SRV targets.
    minimal-responses: yes
    refuse-any: no
    # Response rate limiting is on by default: at our query rate it would answer with
    # slipped (TC, empty) responses, which say nothing about the zone.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    reuseport: no
remote-control:
    control-enable: no
zone:
    name: "{apex}"
    zonefile: "{tmp}/diff.test.zone"
""")
        self.proc = None

    def check_zone(self) -> subprocess.CompletedProcess:
        return subprocess.run(["nsd-checkzone", self.apex, str(self.tmp / "diff.test.zone")],
                              capture_output=True, text=True, timeout=30)

    def start(self, timeout: float = 15.0) -> bool:
        self.proc = subprocess.Popen(["nsd", "-d", "-c", str(self.tmp / "nsd.conf")],
                                     stdin=subprocess.DEVNULL,
                                     stdout=open(self.tmp / "stdout.log", "wb"),
                                     stderr=open(self.tmp / "stderr.log", "wb"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            r = ask(self.host, self.port, dns.message.make_query(self.apex, "SOA").to_wire(), 0.2)
            if r is not None and r.rcode() == 0 and r.answer:
                return True
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def log(self) -> str:
        out = ""
        for name in ("stderr.log", "nsd.log"):
            try:
                out += (self.tmp / name).read_text(errors="replace")
            except OSError:
                pass
        return out


def ask(host: str, port: int, wire: bytes, timeout: float = 1.0, tcp: bool = False):
    """The parsed response, or None; the wire is kept on it as .wire. Over UDP, datagrams
    that do not answer this query (a late answer to an earlier one reaching a reused port)
    are skipped, and the query is sent up to three times."""
    for _ in range(3):
        data = None
        try:
            if tcp:
                with socket.create_connection((host, port), timeout=timeout) as s:
                    s.sendall(h.frame(wire))
                    data = h.recv_frame(s, timeout)
            else:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.sendto(wire, (host, port))
                    deadline = time.monotonic() + timeout
                    while data is None and time.monotonic() < deadline:
                        s.settimeout(max(0.01, deadline - time.monotonic()))
                        got, _ = s.recvfrom(65535)
                        if got[:2] == wire[:2]:
                            data = got
        except (socket.timeout, OSError):
            pass
        if data is None:
            continue
        m = dns.message.from_wire(data)
        m.wire = data
        return m
    return None


def random_case(rng: random.Random, name: str) -> str:
    return "".join(c.upper() if c.isalpha() and rng.random() < 0.5 else c.lower() for c in name)


def make_queries(rng: random.Random, count: int) -> list:
    out = []
    for i in range(count):
        if rng.random() < 0.85:
            rel = rng.choice(NAMES_IN)
            name = f"{rel}.{APEX}" if rel else APEX
        else:
            name = rng.choice(NAMES_OUT)
        name = random_case(rng, name)
        rdtype = rng.choices(TYPES, TYPE_WEIGHTS)[0]
        q = dns.message.make_query(name, rdtype, use_edns=False)
        q.id = rng.randrange(65536)
        if rng.random() < 0.3:
            q.flags &= ~dns.flags.RD
        if rng.random() < 0.2:
            q.flags |= dns.flags.CD
        if rng.random() < 0.2:
            q.flags |= dns.flags.AD
        edns = "none"
        if rng.random() < 0.7:
            opts = []
            if rng.random() < 0.3:
                opts.append(dns.edns.ECSOption.from_text(
                    rng.choice(["198.51.100.0/24", "203.0.113.7/32", "2001:db8:100::/56", "0.0.0.0/0"])))
            if rng.random() < 0.3:
                opts.append(dns.edns.GenericOption(10, rng.randbytes(8)))  # client cookie
            if rng.random() < 0.1:
                opts.append(dns.edns.GenericOption(3, b""))  # NSID
            if rng.random() < 0.1:
                opts.append(dns.edns.GenericOption(12, bytes(rng.randrange(64))))  # padding
            if rng.random() < 0.1:
                opts.append(dns.edns.GenericOption(rng.randrange(65001, 65535), rng.randbytes(3)))
            version = 1 if rng.random() < 0.03 else 0
            payload = rng.choice([512, 1232, 1232, 4096, 600, 100, 65535])
            do = dns.flags.DO if rng.random() < 0.3 else 0
            q.use_edns(version, do, payload, options=opts)
            edns = f"v{version}/{payload}{'/do' if do else ''}/{len(opts)}opt"
        out.append((q.to_wire(), name, rdtype, edns))
    return out


def opt_of(m) -> tuple:
    if m.edns < 0:
        return ("no OPT",)
    return ("OPT", m.edns, bool(m.ednsflags & dns.flags.DO))


def records(section) -> dict:
    """{comparable key: text} of a section's records. Names compare case-insensitively, as DNS
    names do (RFC 4343): NSD compresses names in rdata against the question, so they come back
    in the client's case; the key uses the canonical rdata form (RFC 4034 6.2)."""
    out = {}
    for rrset in section:
        for rd in rrset:
            key = (rrset.name.canonicalize(), rrset.ttl, rrset.rdtype, rd.to_digestable())
            out[key] = (f"{rrset.name.to_text().lower()} {rrset.ttl} "
                        f"{dns.rdatatype.to_text(rrset.rdtype)} {rd.to_text()}")
    return out


def glue_count(authority) -> int:
    """How many glue records ZONE holds for the NS records of a referral."""
    addresses = collections.Counter()
    for line in ZONE["records"]:
        words = line.split()
        if any(w in ("A", "AAAA") for w in words[1:3]):
            addresses[dns.name.from_text(words[0], dns.name.from_text(APEX))] += 1
    return sum(addresses[rd.target.canonicalize()] for rrset in authority for rd in rrset)


EDE = 15  # the Extended DNS Error option code

FLAGS = [("QR", dns.flags.QR), ("AA", dns.flags.AA), ("TC", dns.flags.TC), ("RD", dns.flags.RD),
         ("RA", dns.flags.RA), ("AD", dns.flags.AD), ("CD", dns.flags.CD)]


def flags_of(m) -> str:
    return " ".join(n for n, f in FLAGS if m.flags & f)


def compare(query, ours, theirs, rdtype: str, used: collections.Counter) -> list:
    """The differences between two responses after the allowances, as (field, ours, theirs)."""
    diffs = []
    if ours.rcode() != theirs.rcode():
        diffs.append(("rcode", dns.rcode.to_text(ours.rcode()), dns.rcode.to_text(theirs.rcode())))
    our_flags, their_flags = ours.flags, theirs.flags
    if (our_flags & dns.flags.TC and not (ours.answer or ours.authority or ours.additional)
            and not their_flags & dns.flags.TC and not their_flags & dns.flags.AA
            and not theirs.answer and theirs.authority
            and all(rr.rdtype == dns.rdatatype.NS for rr in theirs.authority)
            and sum(len(rrset) for rrset in theirs.additional) < glue_count(theirs.authority)):
        used["rfc9471"] += 1
        their_flags |= dns.flags.TC
        theirs = ours  # nothing else to compare: ours is empty by design
    any_with_data = rdtype == "ANY" and ours.rcode() == 0 and any(
        rr.rdtype == dns.rdatatype.HINFO for rr in ours.answer)
    if any_with_data and (their_flags & dns.flags.TC) and not (our_flags & dns.flags.TC):
        their_flags &= ~dns.flags.TC  # every RRset of a big name may not fit, one HINFO does
    if query.flags & dns.flags.CD:
        if not our_flags & dns.flags.CD:
            diffs.append(("flags", "CD not copied", ""))
        if our_flags != their_flags:
            used["cd"] += 1
        our_flags &= ~dns.flags.CD
        their_flags &= ~dns.flags.CD
    if our_flags != their_flags:
        diffs.append(("flags", flags_of(ours), flags_of(theirs)))
    our_opt, their_opt = opt_of(ours), opt_of(theirs)
    if ours.rcode() == dns.rcode.BADVERS and our_opt != their_opt:
        used["badvers-do"] += 1
        our_opt, their_opt = our_opt[:2], their_opt[:2]
    if our_opt != their_opt:
        diffs.append(("opt", our_opt, their_opt))
    our_codes = sorted(int(o.otype) for o in ours.options)
    their_codes = sorted(int(o.otype) for o in theirs.options)
    if any(o.otype == dns.edns.ECS for o in query.options) and our_codes != their_codes:
        used["ecs"] += 1
        their_codes = sorted(their_codes + [int(dns.edns.ECS)])
    if theirs.rcode() == dns.rcode.REFUSED and EDE in their_codes and EDE not in our_codes:
        used["ede"] += 1
        their_codes.remove(EDE)
    if our_codes != their_codes:
        diffs.append(("EDNS options", our_codes, their_codes))
    sections = ["answer", "authority", "additional"]
    if any_with_data:
        used["any"] += 1
        sections = ["authority"]
    for sec in sections:
        a, b = records(getattr(ours, sec)), records(getattr(theirs, sec))
        if a.keys() != b.keys():
            diffs.append((sec, sorted(a[k] for k in a.keys() - b.keys()),
                          sorted(b[k] for k in b.keys() - a.keys())))
    # Header counts catch the same record sent twice, which the sets above merge.
    wire_counts = lambda m: tuple(int.from_bytes(m.wire[i:i + 2], "big") for i in (6, 8, 10))
    if not any_with_data and not diffs and wire_counts(ours) != wire_counts(theirs):
        diffs.append(("header counts", wire_counts(ours), wire_counts(theirs)))
    return diffs


def run_set(t, srv, nsd, queries, tcp: bool, used: collections.Counter) -> None:
    label = "TCP" if tcp else "UDP"
    groups = collections.OrderedDict()
    unanswered = []
    for wire, name, rdtype, edns in queries:
        ours = ask(srv.host, srv.port, wire, tcp=tcp)
        theirs = ask(nsd.host, nsd.port, wire, tcp=tcp)
        if ours is None or theirs is None:
            unanswered.append(f"{name} {rdtype} {edns}: steerdns {'ok' if ours else 'none'}, "
                              f"nsd {'ok' if theirs else 'none'}")
            continue
        for field, a, b in compare(dns.message.from_wire(wire), ours, theirs, rdtype, used):
            # Grouped without case: the same difference under another query case is one.
            key = (field, str(a).lower(), str(b).lower())
            groups.setdefault(key, []).append(f"{name} {rdtype} {edns}")
    t.check(f"{label}: both servers answer all {len(queries)} queries", not unanswered,
            detail="\n".join(unanswered[:20]))
    detail = []
    for (field, a, b), examples in groups.items():
        detail.append(f"{field}: steerdns {a}\n        nsd {b}\n        "
                      f"{len(examples)} queries, e.g. {examples[0]}")
    t.check(f"{label}: steerdns and NSD agree on {len(queries)} queries "
            f"(rcode, flags, OPT, answer/authority/additional)", not groups,
            detail="\n".join(detail))


def main() -> None:
    with h.Test("steerdns vs NSD on a static zone") as t:
        if shutil.which("nsd") is None and not Path("/usr/sbin/nsd").exists():
            t.fail("nsd is installed (Debian package nsd; .ci/install-deps installs it)")
            return
        os.environ["PATH"] += ":/usr/sbin"
        count = int(os.environ.get("STEERDNS_DIFF_QUERIES", "3000"))
        rng = random.Random(SEED)
        tmp = t.tempdir("steerdns-diff-nsd-")
        nsd = Nsd(tmp, nsd_master(ZONE))
        checked = nsd.check_zone()
        t.check("nsd-checkzone accepts the master file written from the JSON zone",
                checked.returncode == 0, detail=checked.stdout + checked.stderr)
        srv = t.start_server([ZONE], threads=2, name="steerdns")
        started = nsd.start()
        for _ in range(2):  # the port may be taken between free_port() and nsd's bind
            if started or "already in use" not in nsd.log():
                break
            nsd.stop()
            nsd = Nsd(tmp, nsd_master(ZONE))
            started = nsd.start()
        try:
            t.check("nsd starts and answers SOA", started, detail=nsd.log()[-3000:])
            if not started:
                return
            used = collections.Counter()
            queries = make_queries(rng, count)
            run_set(t, srv, nsd, queries, tcp=False, used=used)
            run_set(t, srv, nsd, rng.sample(queries, min(300, len(queries))), tcp=True, used=used)
            for key, why in ALLOWANCES.items():
                print(f"# allowance {key}: applied {used[key]} times: {why}")
        finally:
            nsd.stop()
            t.check("nsd exits on SIGTERM", nsd.proc.poll() is not None)


if __name__ == "__main__":
    main()
