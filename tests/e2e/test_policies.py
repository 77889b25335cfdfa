#!/usr/bin/python3
"""The steering policies over the wire: weighted shares measured over many queries, failover
when the higher-priority backend is stopped and started again (HTTP health checks on loopback
backends), hash affinity by client subnet (ECS and source address, scope checked) and how many
subnets move when a member goes down or leaves the file, all (cap), geo by net rules and by a
MaxMind database written here with tests/data/write_test_mmdb.pl (country and continent rules,
scope checks), and the validation errors of `steerdns check`. dig and kdig are used for some
geo and hash checks, as an operator would.

Prints the measured weight error and rendezvous movement."""

import json
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import dns.edns  # noqa: E402
import dns.message  # noqa: E402

import harness as h  # noqa: E402
from backends import (DOWN_BOUND, SCALE, TIMING, UP_BOUND, HttpBackend, common_port,  # noqa: E402
                      wait_until)

LB = "lb.example.test."
WEIGHTED_QUERIES = 100_000
WEIGHTS = [1, 2, 3, 4]


def ip(n: int) -> str:
    return f"127.0.0.{n}"


GEO_NETS = {"rules": [{"net": "198.51.100.0/24", "region": "eu"},
                      {"net": "198.51.100.128/25", "region": "us"},
                      {"net": "2001:db8:100::/48", "region": "eu"},
                      {"net": "100.64.0.0/10", "region": "ap"}],
            "default": "us"}
CONTRACT_REGIONS = {"eu": ["eu", "us"], "us": ["us", "eu"], "ap": ["ap", "us", "eu"]}
GEO_MEMBERS = [{"address": "192.0.2.20", "region": "eu"},
               {"address": "192.0.2.21", "region": "us"},
               {"address": "192.0.2.22", "region": "ap", "weight": 2}]


def policies_zone(port: int, serial: int = 1, hash_members: int = 10) -> dict:
    z = h.lb_zone()
    z["soa"]["serial"] = serial
    z["records"].append("sticky CNAME h")
    z["checks"] = {"web": {"type": "http", "port": port, "paths": ["/healthz"],
                           "host": "www.example.com", **TIMING}}
    z["geo"] = json.loads(json.dumps(GEO_NETS))
    z["pools"].update({
        "w": {"policy": "weighted", "answers": 1, "members": [
            {"address": f"192.0.2.{i + 1}", "weight": w} for i, w in enumerate(WEIGHTS)]},
        "w2": {"policy": "weighted", "answers": 2, "members": [
            {"address": f"192.0.2.{i + 1}", "weight": w} for i, w in enumerate(WEIGHTS)]},
        "f": {"policy": "failover", "check": "web", "members": [
            {"address": ip(31), "priority": 101},
            {"address": ip(32), "priority": 99},
            {"address": ip(33), "priority": 99}]},
        "h": {"policy": "hash", "members": h.members(*[f"192.0.2.{i}" for i in range(1, 11)])},
        "h10": {"policy": "hash", "check": "web",
                "members": h.members(*[ip(40 + i) for i in range(1, hash_members + 1)])},
        "a": {"policy": "all", "members": h.members(*[f"192.0.2.{i}" for i in range(1, 13)])},
        "a3": {"policy": "all", "answers": 3,
               "members": h.members(*[f"192.0.2.{i}" for i in range(1, 13)])},
        "app": {"policy": "geo", "regions": CONTRACT_REGIONS, "members": GEO_MEMBERS},
        "app-eu-drained": {"policy": "geo", "regions": CONTRACT_REGIONS, "members": [
            {**GEO_MEMBERS[0], "enabled": False}, GEO_MEMBERS[1], GEO_MEMBERS[2]]},
    })
    return z


def db_zone(database: str, serial: int = 1) -> dict:
    z = h.lb_zone()
    z["soa"]["serial"] = serial
    z["geo"] = {"database": database,
                "rules": [{"net": "198.51.100.0/24", "region": "eu"},
                          {"country": "US", "region": "us"},
                          {"continent": "EU", "region": "eu"},
                          {"continent": "AS", "region": "ap"}],
                "default": "us"}
    z["pools"]["app"] = {"policy": "geo", "regions": CONTRACT_REGIONS, "members": GEO_MEMBERS}
    return z


# --------------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------------

def first_addresses(srv, name: str, n: int, window: int = 64) -> list:
    """The first A record of n answers to `name`, over one UDP socket, `window` in flight.
    Parsed by hand (dnspython would take longer than the server): no EDNS, so the answer
    starts right after the echoed question and the first A's RDATA is 12 bytes in."""
    q = dns.message.make_query(name, "A", use_edns=False).to_wire()
    s = srv.udp_socket()
    s.settimeout(2.0)
    out = []
    try:
        sent = 0
        while len(out) < n:
            burst = min(window, n - sent)
            for i in range(burst):
                s.sendto(struct.pack("!H", (sent + i) & 0xFFFF) + q[2:], srv.addr())
            sent += burst
            for _ in range(burst):
                resp, _ = s.recvfrom(4096)
                ancount = struct.unpack("!H", resp[6:8])[0]
                rr = len(q)
                if ancount < 1 or struct.unpack("!H", resp[rr + 10:rr + 12])[0] != 4:
                    raise AssertionError(f"unexpected response {resp.hex()}")
                out.append(socket.inet_ntoa(resp[rr + 12:rr + 16]))
    finally:
        s.close()
    return out


def ecs_answer(srv, name: str, subnet: str, sock=None, rdtype: str = "A"):
    """(addresses, scope) of a query with ECS `subnet`; scope None when not echoed."""
    r = srv.query(name, rdtype, ecs=subnet, sock=sock, timeout=2.0)
    if r is None:
        return None, None
    scope = next((o.scopelen for o in r.options if isinstance(o, dns.edns.ECSOption)), None)
    return h.addresses(r, rdtype), scope


def answer_from(srv, source: str, name: str) -> list:
    """Addresses answered to a query without ECS sent from `source` (a 127/8 address)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    try:
        r = srv.query(name, "A", edns=False, sock=s)
    finally:
        s.close()
    return h.addresses(r) if r is not None else ["<no response>"]


def answer_set(srv, name: str) -> set:
    r = srv.query(name, "A", timeout=1.0)
    return set(h.addresses(r)) if r is not None else {"<no response>"}


def subnets(n: int) -> list:
    return [f"10.{i // 250}.{i % 250}.0/24" for i in range(n)]


def hash_map(srv, name: str, nets: list) -> dict:
    s = srv.udp_socket()
    try:
        return {net: tuple(ecs_answer(srv, name, net, sock=s)[0]) for net in nets}
    finally:
        s.close()


def soa_serial(srv) -> int:
    r = srv.query(LB, "SOA")
    return r.answer[0][0].serial if r is not None and r.answer else -1


def dig_subnet(tool: str, srv, name: str, subnet: str):
    """(answers, scope) as `dig +subnet=` or `kdig +subnet=` print them."""
    limits = ["+time=2", "+tries=1"] if tool == "dig" else ["+timeout=2", "+retry=0"]
    res = h.run([tool, f"@{srv.host}", "-p", str(srv.port), name, "A", f"+subnet={subnet}",
                 *limits])
    m = re.search(r"CLIENT-SUBNET: (\S+)/(\d+)/(\d+)", res.stdout)
    answers = re.findall(r"^\S+\s+\d+\s+IN\s+A\s+(\S+)$", res.stdout, re.M)
    return answers, (int(m.group(3)) if m else None), res.stdout


# --------------------------------------------------------------------------------------------

with h.Test("steering policies") as t:
    tmp = t.tempdir("steerdns-e2e-policies-")
    backend_ips = [31, 32, 33] + [40 + i for i in range(1, 11)]
    port = common_port([ip(n) for n in backend_ips])
    backends = {n: HttpBackend(ip(n), port) for n in backend_ips}
    for b in backends.values():
        b.start()
    try:
        zone = policies_zone(port)
        srv = t.start_server([zone], threads=2)
        phase = time.monotonic()

        # ---- weighted: shares of first places over the wire ---------------------------------
        start = time.monotonic()
        firsts = first_addresses(srv, f"w.{LB}", WEIGHTED_QUERIES)
        took = time.monotonic() - start
        total = sum(WEIGHTS)
        errors = []
        for i, w in enumerate(WEIGHTS):
            share = 100.0 * firsts.count(f"192.0.2.{i + 1}") / len(firsts)
            errors.append((f"192.0.2.{i + 1}", w, share, share - 100.0 * w / total))
        worst = max(abs(e[3]) for e in errors)
        print(f"# weighted over the wire: {len(firsts)} queries in {took:.1f} s, weights "
              f"{WEIGHTS}: shares " + ", ".join(f"{a} {s:.2f}% (want {100 * w / total:.0f}%)"
                                                 for a, w, s, _ in errors) +
              f"; largest error {worst:.2f} points")
        t.check(f"weighted: every share of first places within 1 point of its weight share "
                f"over {WEIGHTED_QUERIES} queries", worst < 1.0, detail=str(errors))
        r = srv.query(f"w2.{LB}", "A")
        t.check("weighted answers 2: two distinct members",
                lambda: len(h.addresses(r)) == 2 and len(set(h.addresses(r))) == 2, r)
        a, scope = ecs_answer(srv, f"w.{LB}", "203.0.113.0/24")
        t.eq("weighted: ECS echoed with scope 0", scope, 0)

        # ---- all: capped, rotating -----------------------------------------------------------
        r = srv.query(f"a.{LB}", "A")
        t.check("all: 8 of 12 members without answers (Route 53's cap)",
                lambda: len(set(h.addresses(r))) == 8 and len(h.addresses(r)) == 8, r)
        r = srv.query(f"a3.{LB}", "A")
        t.check("all with answers 3: three distinct members",
                lambda: len(set(h.addresses(r))) == 3, r)
        firsts = first_addresses(srv, f"a.{LB}", 12)
        t.eq("all: over 12 queries each of the 12 members comes first once",
             sorted(firsts, key=socket.inet_aton), [f"192.0.2.{i}" for i in range(1, 13)])
        t.eq("all: ECS scope 0", ecs_answer(srv, f"a.{LB}", "203.0.113.0/24")[1], 0)

        # ---- hash: affinity by subnet, scope = hashing prefix ---------------------------------
        nets = [f"10.{i}.{j}.0/24" for i in range(20) for j in range(10)]
        first = hash_map(srv, f"h.{LB}", nets)
        again = hash_map(srv, f"h.{LB}", nets)
        t.eq("hash: 200 subnets get the same answer twice", again, first)
        t.check("hash: one member per answer (no answers: 1)",
                all(len(v) == 1 for v in first.values()), detail=str(list(first.items())[:5]))
        spread = {v for v in first.values()}
        t.check("hash: 200 subnets spread over all 10 members", len(spread) == 10,
                detail=str(spread))
        scopes = {ecs_answer(srv, f"h.{LB}", n)[1] for n in nets[:20]}
        t.eq("hash: ECS scope = the source prefix (/24)", scopes, {24})
        t.eq("hash: ECS /20 gets scope 20", ecs_answer(srv, f"h.{LB}", "10.1.16.0/20")[1], 20)
        t.eq("hash: ECS 2001:db8:aa::/56 gets scope 56",
             ecs_answer(srv, f"h.{LB}", "2001:db8:aa::/56")[1], 56)
        t.eq("hash: ECS /0 gets scope 0", ecs_answer(srv, f"h.{LB}", "0.0.0.0/0")[1], 0)
        # Without ECS the source's /24 is the key: the same answer as ECS <source>/24.
        same = [answer_from(srv, f"127.0.{k}.{host}", f"h.{LB}") for k in (5, 6, 7)
                for host in (1, 77, 254)]
        want = [list(ecs_answer(srv, f"h.{LB}", f"127.0.{k}.0/24")[0]) for k in (5, 6, 7)
                for _ in range(3)]
        t.eq("hash without ECS: sources in one /24 share the answer of ECS <that /24>", same,
             want)
        by_source = {tuple(answer_from(srv, f"127.0.{k}.9", f"h.{LB}")) for k in range(10, 40)}
        t.check("hash without ECS: 30 source /24s spread over several members",
                len(by_source) >= 4, detail=str(by_source))
        r = srv.query(f"sticky.{LB}", "A", ecs="10.0.3.0/24")
        t.check("hash through a CNAME: the same member, scope 24",
                lambda: h.addresses(r) == list(first["10.0.3.0/24"]) and
                r.options[0].scopelen == 24, r)
        for tool in ("dig", "kdig"):
            if shutil.which(tool) is None:
                t.skip(f"{tool} +subnet (hash)", f"{tool} is not installed")
                continue
            answers, scope, out = dig_subnet(tool, srv, f"h.{LB}", "10.0.3.0/24")
            t.check(f"{tool} +subnet=10.0.3.0/24 h: the member ECS gave, scope 24",
                    answers == list(first["10.0.3.0/24"]) and scope == 24, detail=out)

        # ---- hash: one of 10 members goes down, then leaves the file ---------------------------
        nets = subnets(1000)
        # Up by a probe result, not merely "unknown, counted up": 13 probed members.
        settled = wait_until(lambda: srv.stderr().count('msg="member up"') >= 13, 5.0 * SCALE)
        t.check("every probed member has a first result", settled is not None,
                detail=srv.stderr()[-2000:])
        before = hash_map(srv, f"h10.{LB}", nets)
        t.eq("hash h10: 1000 subnets answered by 10 members",
             len({v for v in before.values()}), 10)
        victim = ip(45)
        owned = {n for n, v in before.items() if v == (victim,)}
        backends[45].stop()
        gone = wait_until(lambda: all(ecs_answer(srv, f"h10.{LB}", n)[0] != [victim]
                                      for n in list(owned)[:5]), DOWN_BOUND + 3, 0.05)
        t.check("hash h10: the stopped member leaves the answers", gone is not None)
        down = hash_map(srv, f"h10.{LB}", nets)
        moved = {n for n in nets if down[n] != before[n]}
        print(f"# rendezvous movement: 1 of 10 members down -> {len(moved)} of 1000 subnets "
              f"changed answer ({100 * len(moved) / 1000:.1f}%); the member had {len(owned)}")
        t.eq("hash h10: only the down member's subnets move", moved, owned)
        t.check("hash h10: about a tenth of the subnets move (5-16%)",
                50 <= len(moved) <= 160, detail=str(len(moved)))
        backends[45].start()
        back = wait_until(lambda: hash_map(srv, f"h10.{LB}", list(owned)[:5]) ==
                          {n: before[n] for n in list(owned)[:5]}, UP_BOUND + 3, 0.05)
        t.check("hash h10: the member comes back up", back is not None)
        t.eq("hash h10: back up, every subnet has its first answer again",
             hash_map(srv, f"h10.{LB}", nets), before)
        # Removing the last member from the file: only its subnets move, as when it was down.
        removed = ip(50)
        owned = {n for n, v in before.items() if v == (removed,)}
        srv.write_zones([policies_zone(port, serial=2, hash_members=9)])
        t.check("zone rewritten without 127.0.0.50: reloaded",
                wait_until(lambda: soa_serial(srv) == 2, 5.0) is not None)
        after = hash_map(srv, f"h10.{LB}", nets)
        moved = {n for n in nets if after[n] != before[n]}
        print(f"# rendezvous movement: 1 of 10 members removed from the file -> {len(moved)} of "
              f"1000 subnets changed answer ({100 * len(moved) / 1000:.1f}%); it had {len(owned)}")
        t.eq("hash h10: removing a member from the file moves only its subnets", moved, owned)

        # ---- failover: stop the priority-101 backend, start it again --------------------------
        t.eq("failover: the priority-101 member answers alone", answer_set(srv, f"f.{LB}"),
             {ip(31)})
        t.eq("failover: ECS scope 0", ecs_answer(srv, f"f.{LB}", "203.0.113.0/24")[1], 0)
        stop_at = time.monotonic()
        backends[31].stop()
        moved_at = wait_until(lambda: answer_set(srv, f"f.{LB}") == {ip(32), ip(33)},
                              DOWN_BOUND + 3, 0.02)
        print(f"# failover: priority 101 stopped -> priority 99 members answer after "
              f"{'%.2f s' % moved_at if moved_at is not None else 'never'} (bound {DOWN_BOUND:.2f} s)")
        t.check(f"failover: answers move to the two priority-99 members within {DOWN_BOUND:.2f} s",
                moved_at is not None and moved_at <= DOWN_BOUND, detail=str(moved_at))
        firsts = {h.addresses(srv.query(f"f.{LB}", "A"))[0] for _ in range(4)}
        t.eq("failover: the priority-99 equals rotate (each comes first)", firsts,
             {ip(32), ip(33)})
        backends[31].start()
        back_at = wait_until(lambda: answer_set(srv, f"f.{LB}") == {ip(31)}, UP_BOUND + 3, 0.02)
        print(f"# failover: priority 101 restarted -> answers again after "
              f"{'%.2f s' % back_at if back_at is not None else 'never'} (bound {UP_BOUND:.2f} s)")
        t.check(f"failover: back to the priority-101 member within {UP_BOUND:.2f} s",
                back_at is not None and back_at <= UP_BOUND, detail=str(back_at))
        for n in (31, 32, 33):
            backends[n].stop()
        # Fail open "as if all were up": the policy still picks, so the primary answers.
        every = wait_until(lambda: srv.stderr().count(f'msg="member down" zone={LB} pool=f ') >= 4,
                           DOWN_BOUND + 3, 0.05)
        t.check("failover: all three backends stopped, all three down", every is not None,
                detail=srv.stderr()[-2000:])
        t.eq("failover: everything down, fallback all answers as if all were up (priority 101)",
             answer_set(srv, f"f.{LB}"), {ip(31)})

        # ---- geo by net rules (no database) ----------------------------------------------------
        cases = [
            ("198.51.100.0/24", ["192.0.2.20"], 24, "net rule eu"),
            ("198.51.100.5/32", ["192.0.2.20"], 25, "net rule eu, cut by the nested /25"),
            ("198.51.100.200/32", ["192.0.2.21"], 25, "nested net rule us"),
            ("2001:db8:100:1::/64", ["192.0.2.20"], 48, "IPv6 net rule eu"),
            ("100.64.1.0/24", ["192.0.2.22"], 10, "net rule ap: scope = the rule's /10"),
            ("203.0.113.0/24", ["192.0.2.21"], 24, "no rule, no database: default us"),
            ("10.0.0.0/8", ["192.0.2.21"], 8, "default: scope = source prefix"),
        ]
        for subnet, want, want_scope, what in cases:
            got, scope = ecs_answer(srv, f"app.{LB}", subnet)
            t.eq(f"geo {subnet} ({what}): answer", got, want)
            t.eq(f"geo {subnet} ({what}): scope {want_scope}", scope, want_scope)
        got, scope = ecs_answer(srv, f"app-eu-drained.{LB}", "198.51.100.0/24")
        t.eq("geo: eu drained, eu clients get their next region (us)", got, ["192.0.2.21"])
        t.eq("geo: AAAA of an IPv4-only geo pool is NODATA with scope 0",
             ecs_answer(srv, f"app.{LB}", "198.51.100.0/24", rdtype="AAAA"), ([], 0))
        t.eq("geo without ECS: the source address (127.0.0.1, default us)",
             answer_from(srv, "127.0.0.1", f"app.{LB}"), ["192.0.2.21"])
        for tool, subnet, want, want_scope in (("dig", "198.51.100.0/24", ["192.0.2.20"], 24),
                                               ("kdig", "198.51.100.0/22", ["192.0.2.20"], 22),
                                               ("dig", "203.0.113.0/24", ["192.0.2.21"], 24)):
            if shutil.which(tool) is None:
                t.skip(f"{tool} +subnet (geo)", f"{tool} is not installed")
                continue
            answers, scope, out = dig_subnet(tool, srv, f"app.{LB}", subnet)
            t.check(f"{tool} +subnet={subnet} app: {want}, scope {want_scope}",
                    answers == want and scope == want_scope, detail=out)
        print(f"# steering checks on one server: {time.monotonic() - phase:.1f} s")

        # ---- geo with a MaxMind database written for this run ---------------------------------
        if subprocess.run(["perl", "-MMaxMind::DB::Writer::Tree", "-e", "1"],
                          capture_output=True).returncode != 0:
            t.skip("geo with a GeoIP database", "libmaxmind-db-writer-perl is not installed")
        else:
            mmdb = tmp / "test.mmdb"
            h.run(["perl", str(h.REPO / "tests" / "data" / "write_test_mmdb.pl"), str(mmdb)],
                  timeout=30).check_returncode()
            geo_srv = t.start_server([db_zone(str(mmdb))], threads=2, name="geoip")
            cases = [
                ("203.0.113.0/24", ["192.0.2.21"], 24, "US: country rule us"),
                ("192.0.2.9/32", ["192.0.2.22"], 26, "JP: continent AS (ap), database /26"),
                ("192.0.2.0/24", ["192.0.2.22"], 24, "JP with a /24 source: never more than it"),
                ("2001:db8:200::/56", ["192.0.2.20"], 48, "DE: continent EU, database /48"),
                ("2001:db8:f123::/48", ["192.0.2.20"], 36, "continent only (EU), database /36"),
                ("2001:db8:310::/48", ["192.0.2.21"], 40, "US in IPv6, database /40"),
                ("100.64.1.0/24", ["192.0.2.21"], 24, "BR (SA): no rule, default us"),
                ("10.0.0.0/8", ["192.0.2.21"], 8, "not in the database: default"),
                ("198.51.100.5/32", ["192.0.2.20"], 24, "net rule before the database"),
            ]
            for subnet, want, want_scope, what in cases:
                got, scope = ecs_answer(geo_srv, f"app.{LB}", subnet)
                t.eq(f"geoip {subnet} ({what}): answer", got, want)
                t.eq(f"geoip {subnet} ({what}): scope {want_scope}", scope, want_scope)
            if shutil.which("dig"):
                answers, scope, out = dig_subnet("dig", geo_srv, f"app.{LB}", "192.0.2.9/32")
                t.check("dig +subnet=192.0.2.9/32 app (JP): ap, scope 26",
                        answers == ["192.0.2.22"] and scope == 26, detail=out)
            # A database that cannot be opened on reload: the previous version keeps serving.
            geo_srv.write_zones([db_zone(str(tmp / "missing.mmdb"), serial=2)])
            rejected = wait_until(lambda: "previous version keeps serving" in geo_srv.stderr(), 5.0)
            t.check("reload with a missing database: rejected, previous version keeps serving",
                    rejected is not None, detail=geo_srv.stderr()[-2000:])
            t.check("the log names the database problem with its position",
                    re.search(r'geo\.database: cannot open GeoIP database \\".*missing\.mmdb\\": '
                              r'No such file or directory', geo_srv.stderr()) is not None,
                    detail=geo_srv.stderr()[-2000:])
            t.eq("still serial 1", soa_serial(geo_srv), 1)
            t.eq("still answering by country (US)",
                 ecs_answer(geo_srv, f"app.{LB}", "203.0.113.0/24"), (["192.0.2.21"], 24))

        # ---- steerdns check: validation errors with positions -----------------------------------
        bad = db_zone(str(tmp / "missing.mmdb"))
        bad["geo"]["rules"] += [{"net": "198.51.100.0/24", "region": "us"},
                                {"net": "203.0.113.1/24", "region": "us"},
                                {"continent": "OC", "region": "oc"}]
        bad["pools"]["app"]["regions"] = {"eu": ["eu", "su"]}
        bad["pools"]["nogeo"] = {"policy": "weighted", "members": [
            {"address": "192.0.2.1", "weight": 0}]}
        path = tmp / "bad.json"
        path.write_text(json.dumps(bad, indent=2) + "\n")
        res = h.run([t.binary, "check", str(path)])
        t.eq("check bad.json: exits 1", res.returncode, 1)
        # Shape problems come first (the loader); fix the host bits to see compile's.
        t.check("check: host bits set, at the net's position",
                re.search(r"bad\.json:\d+:\d+: geo\.rules\[5\]\.net: \"203\.0\.113\.1/24\" has "
                          r"host bits set \(did you mean 203\.0\.113\.0/24\?\)", res.stderr),
                detail=res.stderr)
        bad["geo"]["rules"][5]["net"] = "203.0.113.0/24"
        path.write_text(json.dumps(bad, indent=2) + "\n")
        res = h.run([t.binary, "check", str(path)])
        for what, pattern in [
            ("unopenable database", r"geo\.database: cannot open GeoIP database \".*missing\.mmdb\": "
                                    r"No such file or directory"),
            ("identical nets", r"geo\.rules\[4\]\.net: duplicate net 198\.51\.100\.0/24 "
                               r"\(first at line \d+:\d+\)"),
            ("unknown region (rule)", r"geo\.rules\[6\]\.region: unknown region \"oc\": no geo "
                                      r"pool has a member in it"),
            ("unknown region (regions value)", r"pools\.app\.regions\.eu\[1\]: unknown region "
                                               r"\"su\""),
            ("all weights zero", r"pools\.nogeo\.policy: all weights are zero: nothing can be "
                                 r"chosen"),
        ]:
            t.check(f"check: {what}, FILE:LINE:COL: path: message",
                    re.search(r"bad\.json:\d+:\d+: " + pattern, res.stderr), detail=res.stderr)
        nogeo = h.lb_zone()
        nogeo["pools"]["app"] = {"policy": "geo", "members": GEO_MEMBERS}
        path.write_text(json.dumps(nogeo, indent=2) + "\n")
        res = h.run([t.binary, "check", str(path)])
        t.check("check: a geo pool without a geo section",
                re.search(r"bad\.json:\d+:\d+: pools\.app\.policy: policy \"geo\" needs the "
                          r"zone's \"geo\" section", res.stderr), detail=res.stderr)
        res = h.run([t.binary, "check", str(h.REPO / "zones")])
        t.eq("check zones/ (with the policies example) exits 0", res.returncode, 0)
    finally:
        for b in backends.values():
            try:
                b.stop()
            except Exception:  # noqa: BLE001
                pass
