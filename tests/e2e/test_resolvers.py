#!/usr/bin/python3
"""Two steerdns servers seen through real recursive resolvers, as the Internet sees them.

Inside a private network namespace (the script re-executes itself under `unshare -n`, loopback
only, root as CI is), NSD on 127.0.0.1:53 serves a fake root `.` and `test.`, which delegates
lb.example.test. to two steerdns servers on 127.0.0.2:53 and 127.0.0.3:53 (NS + glue), both
reading one shared zones directory, each with its own --nsid. unbound on 127.0.0.53, and where
installed Knot Resolver (kresd) on .54 and PowerDNS Recursor on .55, recurse from that root, each
with the lab settings it needs (commented in its configuration below). .ci/install-deps
installs unbound only: a resolver that is missing is reported as "skipped: NAME not installed".

Checks, each printing its figure:
- a balanced name resolves and rotates through each resolver (fresh names under a wildcard pool
  with a 1 s TTL, so every query reaches an authoritative server);
- ECS through unbound's subnetcache reaches the geo pool's member for that subnet, another
  subnet gets another answer for the same (cached) name, and the scope comes back (PowerDNS
  Recursor: the answers; kresd has no ECS);
- `kill -9` of one server under a bounded load through every resolver at once (20 q/s each for
  10 s; the issue's 30 s is cut to keep CI under its budget; the client resends after 2 s as a
  stub resolver does): no resolution fails, the worst latency is printed per resolver; the
  killed server, restarted, answers within 1 s;
- an edit to the shared zones directory is served by both servers within 1 s;
- the NSID option tells the two servers apart.

Skipped (exit code 77, SKIP_RETURN_CODE in tests/CMakeLists.txt) when not root, when `unshare
-n` is not allowed (an unprivileged container), when nsd is missing, or when none of the three
resolvers is installed.
The whole script takes about 15 s.
"""

import concurrent.futures
import json
import shutil
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import netns_lab as lab  # noqa: E402

lab.enter_netns(needs=("nsd",), resolvers=("unbound", "kresd", "pdns_recursor"))

# ---- inside the namespace: only `lo` exists, and it is up ----------------------------------
import dns.edns  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rdatatype  # noqa: E402

import harness as h  # noqa: E402
from netns_lab import ROOT_HINTS, ask, find, start_resolver, wait_for  # noqa: E402


LB = "lb.example.test."
NS = {"ns-a": "127.0.0.2", "ns-b": "127.0.0.3"}
RR_MEMBERS = [f"192.0.2.{i}" for i in range(1, 5)]
GEO = {"rules": [{"net": "198.51.100.0/24", "region": "eu"}], "default": "us"}
LOAD_QPS, LOAD_SECONDS, KILL_AT, RESTART_AT = 20, 10.0, 3.0, 6.0
STUB_TIMEOUT, STUB_TRIES = 2.0, 3
RUN = uuid.uuid4().hex[:6]  # fresh names per run: nothing comes from an earlier run's cache


def lb_zone(serial: int, edit: str) -> dict:
    return {
        "zone": LB, "ttl": 60,
        "soa": {"mname": "ns1", "rname": "hostmaster", "serial": serial, "refresh": 3600,
                "retry": 600, "expire": 1209600, "minimum": 5},
        "ns": ["ns1", "ns2"],
        "records": ["ns1 A 127.0.0.2", "ns2 A 127.0.0.3", f'edit 1 TXT "{edit}"'],
        "geo": GEO,
        "pools": {
            # A fresh name per query under a 1 s TTL: each resolution reaches a server.
            "*.rr": {"policy": "round-robin", "ttl": 1, "answers": 1,
                     "members": h.members(*RR_MEMBERS)},
            # 30 s: the second subnet's answer must not come from the first one's cache entry.
            "app": {"policy": "geo", "ttl": 30, "regions": {"eu": ["eu", "us"], "us": ["us"]},
                    "members": [{"address": "192.0.2.20", "region": "eu"},
                                {"address": "192.0.2.21", "region": "us"}]},
        },
    }


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
lb.example.test.     NS  ns2.lb.example.test.
ns1.lb.example.test. A   127.0.0.2
ns2.lb.example.test. A   127.0.0.3
"""


def start_nsd(t, tmp: Path) -> lab.Daemon:
    return lab.start_nsd(t, tmp, {".": ROOT_ZONE, "test.": TEST_ZONE})


def start_unbound(t, tmp: Path, addr: str) -> lab.Daemon:
    return lab.start_unbound(t, tmp, addr, """\
    # No validator module and no trust anchor (no auto-trust-anchor-file): the fake root is
    # unsigned. subnetcache: ECS (RFC 7871) towards the authoritative servers, cached per subnet.
    module-config: "subnetcache iterator"
    # Send ECS to these authoritative servers only (unbound sends it to none by default) ...
    send-client-subnet: 127.0.0.2
    send-client-subnet: 127.0.0.3
    # ... and forward the subnet a client puts in its query, as a stub or forwarder does.
    client-subnet-always-forward: yes
    # Short caching, so that fresh lookups keep reaching the authoritative servers.
    cache-max-ttl: 30
remote-control:
    control-enable: no
""")


def start_kresd(t, tmp: Path, addr: str) -> lab.Daemon:
    rundir = tmp / "kresd"
    rundir.mkdir()
    (rundir / "config").write_text(f"""-- Lab settings: a private root on loopback.
log_target('stderr')
net.ipv6 = false
net.listen('{addr}', 53, {{ kind = 'dns' }})
-- The fake root (NSD on 127.0.0.1) instead of the real root servers.
modules.load('hints > iterate')
hints.root({{['ns.nic.test.'] = '127.0.0.1'}})
-- No trust anchor: the fake root is unsigned.
trust_anchors.remove('.')
-- kresd answers test. (and onion., invalid., local.) itself, NXDOMAIN as RFC 6761 allows:
-- drop that one rule of its special names.
for i, rule in ipairs(policy.special_names) do
    if i == 2 then table.remove(policy.special_names, i) end
end
-- Our authoritative servers are on 127/8, which kresd does not query by default.
policy.add(policy.all(policy.FLAGS({{'ALLOW_LOCAL'}})))
-- Short caching, in the run directory.
cache.open(10 * MB, 'lmdb://{rundir}/cache')
cache.max_ttl(30)
""")
    return start_resolver(t, "kresd", addr, [find("kresd"), "-n", "-c", "config", str(rundir)],
                          tmp)


def start_pdns_recursor(t, tmp: Path, addr: str) -> lab.Daemon:
    conf = tmp / "pdns"
    conf.mkdir()
    (tmp / "root.hints").write_text(ROOT_HINTS)
    (conf / "recursor.conf").write_text(f"""# Lab settings: a private root on loopback.
local-address={addr}
local-port=53
# The fake root (NSD on 127.0.0.1) instead of the real root servers.
hint-file={tmp}/root.hints
# pdns-recursor never queries 127/8 (nor RFC 1918, ...) until dont-query is emptied.
dont-query=
# No validation, no trust anchor: the fake root is unsigned.
dnssec=off
# ECS (RFC 7871) to our two authoritative servers only, with the subnet a client sends.
edns-subnet-allow-list=127.0.0.2,127.0.0.3
use-incoming-edns-subnet=yes
# Short caching.
max-cache-ttl=30
# Our own process: in the foreground, files in the temp dir, no syslog.
daemon=no
socket-dir={conf}
write-pid=no
disable-syslog=yes
threads=1
# Full names to the authoritative servers, as for unbound.
qname-minimization=no
""")
    return start_resolver(t, "pdns-recursor", addr,
                          [find("pdns_recursor"), f"--config-dir={conf}"], tmp)


# name, address, binary, starter, whether ECS (RFC 7871) is set up for it
RESOLVERS = [("unbound", "127.0.0.53", "unbound", start_unbound),
             ("kresd", "127.0.0.54", "kresd", start_kresd),
             ("pdns-recursor", "127.0.0.55", "pdns_recursor", start_pdns_recursor)]


def start_steerdns(t, zones_dir: Path, name: str) -> h.Server:
    """A server on NS[name]:53 reading the shared zones directory."""
    srv = h.Server(t.binary, [], wait=False, name=name, host=NS[name], port=53, threads=1,
                   ready_name=LB, extra_args=["--nsid", name])
    srv.zones_dir = zones_dir
    t.servers.append(srv)
    srv.start()
    return srv


def first_address(r):
    got = h.addresses(r) if r is not None else []
    return got[0] if got else None


def ecs_of(r):
    opts = [o for o in (r.options if r is not None else []) if isinstance(o, dns.edns.ECSOption)]
    return opts[0] if opts else None


def check_rotation(t, label: str, addr: str) -> None:
    seen = []
    for i in range(24):
        r, _ = ask(addr, f"r{i}-{RUN}.rr.{LB}")
        seen.append(first_address(r))
    counts = {a: seen.count(a) for a in RR_MEMBERS}
    print(f"# {label}: 24 fresh names under *.rr -> {counts}, failed {seen.count(None)}")
    t.eq(f"{label}: 24 fresh balanced names resolve", seen.count(None), 0)
    t.check(f"{label}: answers rotate through every member", all(counts.values()),
            detail=str(counts))


def check_ecs(t, label: str, addr: str, scope_back: bool) -> None:
    name = f"app.{LB}"
    for subnet, want in (("198.51.100.0/24", "192.0.2.20"), ("203.0.113.0/24", "192.0.2.21"),
                         ("198.51.100.0/24", "192.0.2.20")):
        r, _ = ask(addr, name, options=[dns.edns.ECSOption.from_text(subnet)])
        ecs = ecs_of(r)
        scope = ecs.scopelen if ecs is not None else None
        ttl = r.answer[0].ttl if r is not None and r.answer else None
        print(f"# {label}: ECS {subnet} -> {h.addresses(r) if r else None} scope {scope} "
              f"ttl {ttl}")
        t.eq(f"{label}: ECS {subnet} reaches the geo pool's member {want}",
             h.addresses(r) if r is not None else None, [want], r)
        if scope_back:
            t.eq(f"{label}: ECS {subnet}: scope /24 comes back", scope, 24, r)


def run_load(t, resolvers: list, servers: dict) -> None:
    """LOAD_QPS fresh names a second through each resolver (all at once) for LOAD_SECONDS;
    ns-a killed (SIGKILL) at KILL_AT, restarted at RESTART_AT."""
    total = int(LOAD_QPS * LOAD_SECONDS)
    results = {label: [None] * total for label, _ in resolvers}
    resent = {label: [] for label, _ in resolvers}
    start = time.monotonic()

    def one(label: str, addr: str, i: int) -> None:
        # As a stub resolver does (glibc: a timeout, then the query again): a query in flight
        # to the server the moment it is killed can wait out several of the resolver's upstream
        # timeouts; the resolution fails only when every try does.
        took = 0.0
        for attempt in range(STUB_TRIES):
            r, t_try = ask(addr, f"l{i}-{label}-{RUN}.rr.{LB}", timeout=STUB_TIMEOUT)
            took += t_try
            if r is not None:
                break
        if attempt:
            resent[label].append(i)
        results[label][i] = (first_address(r) is not None and r.rcode() == 0, took)

    victim = servers["ns-a"]
    restart_took = [None]

    def killer() -> None:
        time.sleep(max(0.0, start + KILL_AT - time.monotonic()))
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(5)
        time.sleep(max(0.0, start + RESTART_AT - time.monotonic()))
        spawned = time.monotonic()
        victim._spawn()
        if victim.wait_ready(5.0):
            restart_took[0] = time.monotonic() - spawned

    kt = threading.Thread(target=killer)
    kt.start()
    with concurrent.futures.ThreadPoolExecutor(max_workers=192) as pool:
        for i in range(total):
            time.sleep(max(0.0, start + i / LOAD_QPS - time.monotonic()))
            for label, addr in resolvers:
                pool.submit(one, label, addr, i)
    kt.join()
    for label, _ in resolvers:
        res = results[label]
        done = [x for x in res if x is not None]
        failed = sum(1 for ok, _ in done if not ok) + (total - len(done))
        worst = max((took for _, took in done), default=float("nan"))
        worst_at = next((i / LOAD_QPS for i, x in enumerate(res) if x and x[1] == worst), None)
        slow = sum(1 for _, took in done if took > 0.1)
        print(f"# {label}: kill -9 ns-a at {KILL_AT:.0f} s, restart at {RESTART_AT:.0f} s, "
              f"{LOAD_QPS} q/s x {LOAD_SECONDS:.0f} s: {failed} of {total} resolutions failed, "
              f"worst latency {worst * 1000:.0f} ms (query sent at {worst_at} s), "
              f"{slow} over 100 ms, {len(resent[label])} sent again after {STUB_TIMEOUT:.0f} s")
        t.eq(f"{label}: no resolution fails while ns-a is killed and restarted "
             f"({total} queries)", failed, 0)
    took = restart_took[0]
    print(f"# restarted ns-a answered {took * 1000:.0f} ms after its start" if took is not None
          else "# restarted ns-a did not answer within 5 s")
    t.check("the killed server, restarted, answers within 1 s", took is not None and took < 1.0,
            detail=victim.stderr()[-2000:])


def check_edit(t, zones_dir: Path) -> None:
    (zones_dir / "lb.example.test.json").write_text(
        json.dumps(lb_zone(2, f"v2-{RUN}"), indent=2) + "\n")
    written = time.monotonic()
    want = f'"v2-{RUN}"'
    seen = {}

    def both() -> bool:
        for name, addr in NS.items():
            if name not in seen:
                r, _ = ask(addr, f"edit.{LB}", "TXT", timeout=0.2, rd=False)
                if r is not None and r.answer and r.answer[0][0].to_text() == want:
                    seen[name] = time.monotonic() - written
        return len(seen) == len(NS)

    took = wait_for(both, 5.0, 0.02)
    print(f"# edit of the shared zones directory served by "
          + ", ".join(f"{n} after {s * 1000:.0f} ms" for n, s in sorted(seen.items())))
    t.check("an edit to the shared zones directory is served by both servers within 1 s",
            took is not None and took < 1.0, detail=str(seen))


def check_nsid(t) -> None:
    for name, addr in NS.items():
        r, _ = ask(addr, LB, "SOA", rd=False, options=[dns.edns.GenericOption(dns.edns.NSID, b"")])
        got = [bytes(o.data) for o in (r.options if r else []) if o.otype == dns.edns.NSID]
        t.eq(f"NSID tells {addr} apart: {name}", got, [name.encode()], r)
    if shutil.which("dig"):
        out = h.run(["dig", "@127.0.0.3", "+nsid", "+norec", "+tries=1", "+time=2", LB, "SOA"])
        t.check('dig +nsid @127.0.0.3 shows NSID "ns-b"', '("ns-b")' in out.stdout,
                detail=out.stdout + out.stderr)


with h.Test("resolvers") as t:
    tmp = t.tempdir("steerdns-e2e-resolvers-")
    zones_dir = tmp / "zones"
    zones_dir.mkdir()
    (zones_dir / "lb.example.test.json").write_text(
        json.dumps(lb_zone(1, "v1"), indent=2) + "\n")
    daemons = []
    try:
        daemons.append(start_nsd(t, tmp))
        servers = {name: start_steerdns(t, zones_dir, name) for name in NS}
        check_nsid(t)
        running = []
        for label, addr, tool, starter in RESOLVERS:
            if find(tool) is None:
                print(f"skipped: {label} not installed")
                continue
            d = starter(t, tmp, addr)
            daemons.append(d)
            if d.proc.poll() is None:
                running.append((label, addr))
        for label, addr in running:
            check_rotation(t, label, addr)
        for label, addr in running:
            # Knot Resolver 5 has no ECS support (removed in 4.0); PowerDNS Recursor sends the
            # subnet on but gives its clients no ECS option back.
            if label != "kresd":
                check_ecs(t, label, addr, scope_back=label == "unbound")
        run_load(t, running, servers)
        check_edit(t, zones_dir)
    finally:
        for d in daemons:
            d.stop()
        if t.failed:
            for d in daemons:
                print(f"# {d.name} log (last 30 lines):")
                for line in d.log().splitlines()[-30:]:
                    print(f"#   {line}")
