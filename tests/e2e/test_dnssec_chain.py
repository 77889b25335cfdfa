#!/usr/bin/python3
"""DNSSEC as a validating resolver sees it: a signed chain from a fake root down to steerdns.

Inside a private network namespace (netns_lab.py: `unshare -n`, loopback only, root as CI is),
NSD on 127.0.0.1:53 serves a fake root `.` and `test.`, both signed by the test with
`ldns-keygen` + `ldns-signzone`; `test.` delegates lb.example.test. to steerdns on 127.0.0.2:53
with the DS that `steerdns keys ds` prints for the key `steerdns keys create` made. unbound on
127.0.0.53 validates (validator module, the fake root's DS as its trust anchor, no permissive
mode) and is flushed between queries with unbound-control, so that each answer comes from
steerdns.

Checks: the balanced `www` (round robin over four HTTP-checked members on 127.0.0.11-14) answers
with AD=1 and rotates through every member; a static TXT, the DNSKEY, a NODATA and an NXDOMAIN
(proved by NSECs) get AD=1; a geo pool answers each ECS subnet with its region's member, AD=1
(a second unbound, with subnetcache, on 127.0.0.54); a backend stopped drops out of the
answers, which keep AD=1; a fresh key the parent has no DS for, swapped in and reloaded, makes
unbound answer SERVFAIL; the right key put back makes it AD=1 again. dig through unbound shows
`ad` in its flags.

Skipped (exit code 77) when not root, when `unshare -n` is not allowed, or when nsd, unbound,
unbound-control, ldns-keygen or ldns-signzone is missing. About 15 s.
"""

import shutil
import signal
import sys
import time
import uuid
from pathlib import Path

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import netns_lab as lab  # noqa: E402

lab.enter_netns(needs=("nsd", "unbound-control", "ldns-keygen", "ldns-signzone"),
                resolvers=("unbound",))

import dns.dnssec  # noqa: E402
import dns.edns  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

import harness as h  # noqa: E402
from backends import DOWN_BOUND, TIMING, HttpBackend, common_port  # noqa: E402
from netns_lab import ask, find, wait_for  # noqa: E402

LB = "lb.example.test."
STEERDNS = "127.0.0.2"
UNBOUND = "127.0.0.53"
UNBOUND_GEO = "127.0.0.54"
MEMBERS = [f"127.0.0.{i}" for i in range(11, 15)]
GEO = {"eu": "192.0.2.20", "us": "192.0.2.21"}
RUN = uuid.uuid4().hex[:6]

ROOT_ZONE = """$TTL 60
.            SOA ns.nic.test. hostmaster.nic.test. 1 3600 600 1209600 60
.            NS  ns.nic.test.
test.        NS  ns.nic.test.
ns.nic.test. A   127.0.0.1
"""
TEST_ZONE = """$TTL 60
test.                SOA ns.nic.test. hostmaster.nic.test. 1 3600 600 1209600 60
test.                NS  ns.nic.test.
ns.nic.test.         A   127.0.0.1
lb.example.test.     NS  ns1.lb.example.test.
ns1.lb.example.test. A   127.0.0.2
"""


def lb_zone(port: int) -> dict:
    return {
        "zone": LB, "ttl": 60,
        "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1, "refresh": 3600,
                "retry": 600, "expire": 1209600, "minimum": 5},
        "ns": ["ns1"],
        "records": ["ns1 A 127.0.0.2", 'static TXT "signed and static"'],
        "checks": {"web": {"type": "http", "port": port, "paths": ["/healthz"], **TIMING}},
        "geo": {"rules": [{"net": "198.51.100.0/24", "region": "eu"}], "default": "us"},
        "pools": {"www": {"policy": "round-robin", "ttl": 5, "answers": 1, "check": "web",
                          "members": h.members(*MEMBERS)},
                  "app": {"policy": "geo", "ttl": 30, "regions": {"eu": ["eu", "us"],
                                                                 "us": ["us"]},
                          "members": [{"address": GEO["eu"], "region": "eu"},
                                      {"address": GEO["us"], "region": "us"}]}},
        "dnssec": {"keys": "keys/lb.example.test"},
    }


def ldns_sign(t, tmp: Path, origin: str, text: str) -> tuple:
    """(signed master file, DS line of its key): a CSK made by ldns-keygen, the zone signed by
    ldns-signzone (NSEC, inception now, expiration four weeks on)."""
    made = h.run([find("ldns-keygen"), "-a", "ECDSAP256SHA256", "-k", origin], cwd=str(tmp))
    base = made.stdout.strip()
    t.check(f"ldns-keygen makes a key for {origin}", made.returncode == 0 and base,
            detail=made.stderr)
    fname = f"{origin.rstrip('.') or 'root'}.unsigned"
    (tmp / fname).write_text(text)
    signed = h.run([find("ldns-signzone"), "-o", origin, "-f", str(tmp / (fname + ".signed")),
                    str(tmp / fname), str(tmp / base)], cwd=str(tmp))
    t.eq(f"ldns-signzone signs {origin}", signed.returncode, 0)
    return (tmp / (fname + ".signed")).read_text(), (tmp / (base + ".ds")).read_text().strip()


def unbound_control(tmp: Path, *args: str) -> bool:
    return h.run([find("unbound-control"), "-c", str(tmp / "unbound.conf")] + list(args)
                 ).returncode == 0


def resolve(tmp: Path, name: str, rdtype: str = "A", flush: bool = True):
    """unbound's answer with DO, after flushing the name so that steerdns is asked."""
    if flush:
        unbound_control(tmp, "flush", name)
    r, _ = ask(UNBOUND, name, rdtype, do=True, timeout=3.0)
    return r


def ad(r) -> bool:
    return r is not None and bool(r.flags & dns.flags.AD)


def describe(r) -> str:
    if r is None:
        return "no answer"
    return f"{dns.rcode.to_text(r.rcode())} ad={int(ad(r))} {h.addresses(r)}"


def rotation(t, tmp: Path, label: str, want: list, rounds: int) -> None:
    seen, not_ad = [], 0
    for _ in range(rounds):
        r = resolve(tmp, "www." + LB)
        got = h.addresses(r) if r is not None else []
        seen.append(got[0] if got else None)
        not_ad += not ad(r) or r.rcode() != 0
    counts = {a: seen.count(a) for a in sorted(set(seen), key=str)}
    print(f"# {label}: {rounds} resolutions of www through unbound -> {counts}, "
          f"{not_ad} without AD")
    t.eq(f"{label}: every answer for www is validated (NOERROR, AD=1)", not_ad, 0)
    t.eq(f"{label}: the answers rotate through {len(want)} members", sorted(set(seen), key=str),
         sorted(want))


def served_key_tag(srv: h.Server):
    r = srv.query(LB, "DNSKEY", do=True)
    keys = [x for x in (r.answer if r is not None else []) if x.rdtype == dns.rdatatype.DNSKEY]
    return sorted(dns.dnssec.key_id(k) for k in keys[0]) if keys else None


def swap_keys(t, srv: h.Server, keydir: Path, files: list) -> bool:
    """Replace the key directory's files with `files` ([(name, bytes)]), SIGHUP, and wait for
    the served DNSKEY to change."""
    before = served_key_tag(srv)
    for f in keydir.iterdir():
        f.unlink()
    for name, data in files:
        (keydir / name).write_bytes(data)
    srv.proc.send_signal(signal.SIGHUP)
    return wait_for(lambda: served_key_tag(srv) not in (before, None), 10.0, 0.1) is not None


with h.Test("DNSSEC through a validating resolver") as t:
    tmp = t.tempdir("steerdns-e2e-dnssec-chain-")
    port = common_port(MEMBERS)
    backends = {a: HttpBackend(a, port, want_host=False) for a in MEMBERS}
    for b in backends.values():
        b.start()
    srv = h.Server(t.binary, [lb_zone(port)], wait=False, name="ns1", host=STEERDNS, port=53,
                   threads=1, ready_name=LB)
    t.servers.append(srv)
    zone_file = srv.zones_dir / "lb.example.test.json"
    keydir = srv.zones_dir / "keys" / "lb.example.test"
    made = h.run([t.binary, "keys", "create", "lb.example.test", "--dir", str(keydir)])
    t.eq("steerdns keys create exits 0", made.returncode, 0)
    p = h.run([t.binary, "keys", "ds", str(zone_file)])
    ds_line = p.stdout.strip()
    t.check("steerdns keys ds prints the DS for the parent", p.returncode == 0 and
            "\tDS\t" in ds_line, detail=p.stdout + p.stderr)
    print(f"# DS given to test.: {ds_line}")

    test_signed, test_ds = ldns_sign(t, tmp, "test.", TEST_ZONE + ds_line + "\n")
    root_signed, root_ds = ldns_sign(t, tmp, ".", ROOT_ZONE + test_ds + "\n")
    (tmp / "root.anchor").write_text(root_ds + "\n")
    daemons = []
    try:
        daemons.append(lab.start_nsd(t, tmp, {".": root_signed, "test.": test_signed}))
        srv.start()
        daemons.append(lab.start_unbound(t, tmp, UNBOUND, f"""\
    # The validator, with the fake root's DS as the only trust anchor (no
    # auto-trust-anchor-file: the real root's key would not sign this root) ...
    module-config: "validator iterator"
    trust-anchor-file: "{tmp}/root.anchor"
    # ... answering SERVFAIL for what does not validate, and saying why in its log.
    val-permissive-mode: no
    val-log-level: 2
remote-control:
    # unbound-control flushes names between queries, over a socket in the temp dir.
    control-enable: yes
    control-interface: "{tmp}/unbound.ctl"
    control-use-cert: no
"""))
        ub = daemons[-1]
        t.check("unbound-control reaches unbound", unbound_control(tmp, "status"))

        r = resolve(tmp, LB, "DNSKEY")
        t.check("the DNSKEY of lb.example.test. validates from the root down (AD=1)",
                ad(r) and r.rcode() == 0 and r.answer, resp=r)
        rotation(t, tmp, "four members up", MEMBERS, 16)
        r = resolve(tmp, "static." + LB, "TXT")
        t.check("a static TXT validates (AD=1)", ad(r) and r.rcode() == 0 and r.answer, resp=r)
        r = resolve(tmp, f"nx-{RUN}." + LB)
        t.check("an NXDOMAIN validates through its NSECs (NXDOMAIN, AD=1)",
                ad(r) and r.rcode() == dns.rcode.NXDOMAIN, resp=r)
        r = resolve(tmp, "static." + LB, "MX")
        t.check("a NODATA validates (NOERROR, no answer, AD=1)",
                ad(r) and r.rcode() == 0 and not r.answer, resp=r)
        # Geo by ECS: a second unbound, with subnetcache (its per-subnet cache is out of
        # reach of unbound-control's flush, which the rotation checks above need).
        geo_tmp = tmp / "geo"
        geo_tmp.mkdir()
        daemons.append(lab.start_unbound(t, geo_tmp, UNBOUND_GEO, f"""\
    # The same validator and trust anchor as the first unbound ...
    module-config: "subnetcache validator iterator"
    trust-anchor-file: "{tmp}/root.anchor"
    val-permissive-mode: no
    # ... and ECS (RFC 7871) to steerdns, with the subnet a client puts in its query.
    send-client-subnet: {STEERDNS}
    client-subnet-always-forward: yes
remote-control:
    control-enable: no
"""))
        for subnet, region in (("198.51.100.0/24", "eu"), ("203.0.113.0/24", "us")):
            r, _ = ask(UNBOUND_GEO, "app." + LB, do=True, timeout=3.0,
                       options=[dns.edns.ECSOption.from_text(subnet)])
            print(f"# geo through unbound, ECS {subnet}: {describe(r)}")
            t.check(f"ECS {subnet}: the geo pool's {region} member, validated (AD=1)",
                    ad(r) and h.addresses(r) == [GEO[region]], resp=r)
        if shutil.which("dig"):
            for _ in range(2):  # the output README "DNSSEC" shows: two answers, both with ad
                unbound_control(tmp, "flush", "www." + LB)
                out = h.run(["dig", f"@{UNBOUND}", "+dnssec", "www.lb.example.test", "A"])
                print("# " + out.stdout.replace("\n", "\n# "))
                t.check("dig through unbound shows the ad flag on www",
                        "flags: qr rd ra ad;" in out.stdout, detail=out.stdout)

        # A dead backend: out of the answers (steerdns asked directly), still validated.
        backends[MEMBERS[0]].stop()
        stopped = time.monotonic()

        def out_of_answers() -> bool:
            got = [h.addresses(srv.query("www." + LB, timeout=0.5) or dns.message.Message())
                   for _ in range(len(MEMBERS))]
            return all(g and MEMBERS[0] not in g for g in got)

        took = wait_for(out_of_answers, DOWN_BOUND * 3, 0.1)
        print(f"# {MEMBERS[0]} stopped: out of steerdns's answers after "
              f"{took if took is None else round(time.monotonic() - stopped, 2)} s")
        t.check(f"a stopped backend ({MEMBERS[0]}) leaves the answers", took is not None)
        rotation(t, tmp, f"{MEMBERS[0]} down", MEMBERS[1:], 12)

        # The wrong key: one the parent has no DS for.
        good = [(f.name, f.read_bytes()) for f in sorted(keydir.iterdir())]
        other = tmp / "otherkey"
        h.run([t.binary, "keys", "create", "lb.example.test", "--dir", str(other)])
        t.check("a fresh key swapped in and reloaded is served",
                swap_keys(t, srv, keydir, [(f.name, f.read_bytes()) for f in other.iterdir()]))
        unbound_control(tmp, "flush_zone", LB)
        unbound_control(tmp, "flush_bogus")
        r = resolve(tmp, "www." + LB)
        print(f"# wrong key: www through unbound -> {describe(r)}")
        t.check("with a key the parent has no DS for, unbound answers SERVFAIL",
                r is not None and r.rcode() == dns.rcode.SERVFAIL and not r.answer, resp=r)
        r = resolve(tmp, "static." + LB, "TXT")
        t.check("... for static names too", r is not None and r.rcode() == dns.rcode.SERVFAIL,
                resp=r)
        bogus = [line for line in ub.log().splitlines() if "validation failure" in line]
        print(f"# unbound: {bogus[0] if bogus else 'no validation failure logged'}")
        t.check("unbound logs a validation failure for lb.example.test.",
                any(LB.rstrip(".") in line for line in bogus), detail=ub.log()[-2000:])

        # The right key back: validated again.
        t.check("the right key put back and reloaded is served", swap_keys(t, srv, keydir, good))
        unbound_control(tmp, "flush_zone", LB)
        unbound_control(tmp, "flush_bogus")
        r = resolve(tmp, "www." + LB)
        t.check("with the right key back, www validates again (AD=1)",
                ad(r) and r.rcode() == 0 and r.answer, resp=r)
    finally:
        for d in daemons:
            d.stop()
        for b in backends.values():
            b.stop()
        if t.failed:
            for d in daemons:
                print(f"# {d.name} log (last 30 lines):")
                for line in d.log().splitlines()[-30:]:
                    print(f"#   {line}")
