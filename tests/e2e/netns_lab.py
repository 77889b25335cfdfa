"""A private Internet on loopback for the tests that put real resolvers in front of steerdns
(test_resolvers.py, test_dnssec_chain.py): the re-execution under `unshare -n`, `lo` brought up,
NSD serving a fake root and `test.` on 127.0.0.1:53, and unbound recursing from that root.

A test calls enter_netns() before anything else: outside the namespace it checks what the lab
needs (root, `unshare -n`, the tools), skips with exit code 77 (SKIP_RETURN_CODE in
tests/CMakeLists.txt) and a line saying why when something is missing, or runs the script again
inside a namespace of its own and exits with its code; inside, it returns with `lo` up."""

import fcntl
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__

SKIP = 77
INSIDE = "STEERDNS_E2E_NETNS"
ROOT_NS = "127.0.0.1"
ROOT_HINTS = ". 3600000 NS ns.nic.test.\nns.nic.test. 3600000 A 127.0.0.1\n"


def skip(why: str) -> None:
    print(f"skipped: {why}")
    print("0 passed, 0 failed (skipped)")
    sys.stdout.flush()
    sys.exit(SKIP)


def find(tool: str):
    return shutil.which(tool) or next(
        (str(p) for p in (Path("/usr/sbin") / tool, Path("/sbin") / tool) if p.exists()), None)


def enter_netns(needs: tuple = ("nsd",), resolvers: tuple = ("unbound",)) -> None:
    """Skip unless root, `unshare -n`, every tool of `needs` and one of `resolvers` are there;
    then run this script again in a network namespace of its own (outside), or bring `lo` up
    (inside)."""
    if os.environ.get(INSIDE) == "1":
        loopback_up()
        return
    if os.geteuid() != 0:
        skip("not root: the test binds port 53 on 127.0.0.x in a network namespace")
    for tool in ("unshare",) + tuple(needs):
        if find(tool) is None:
            skip(f"{tool} is not installed (.ci/install-deps installs it)")
    if resolvers and not any(find(tool) for tool in resolvers):
        skip("no recursive resolver is installed: " + ", ".join(resolvers) +
             " (.ci/install-deps installs unbound)")
    probe = subprocess.run([find("unshare"), "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        skip(f"`unshare -n` is not allowed here: {probe.stderr.strip()}")
    sys.stdout.flush()
    script = os.path.abspath(sys.argv[0])
    code = subprocess.run([find("unshare"), "-n", "--", sys.executable, script] + sys.argv[1:],
                          env={**os.environ, INSIDE: "1"}).returncode
    sys.exit(code)


def loopback_up() -> None:
    """`ip link set lo up` without needing iproute2: SIOCSIFFLAGS with IFF_UP."""
    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack("16sh14x", b"lo", 0))
        flags = struct.unpack("16sh14x", ifr)[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh14x", b"lo", flags | IFF_UP))


class Daemon:
    """nsd or unbound in the foreground, its files in a temp dir; stopped by pid."""

    def __init__(self, name: str, cmd: list, tmp: Path):
        self.name, self.cmd, self.tmp, self.proc = name, cmd, tmp, None
        self.log_path = tmp / f"{name}.log"

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, cwd=str(self.tmp))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def ask(server: str, name: str, rdtype: str = "A", *, timeout: float = 2.0, rd: bool = True,
        options=None, do: bool = False):
    """(response or None, seconds)."""
    import dns.query
    import harness as h
    q = h.make_query(name, rdtype, rd=rd, options=options, do=do)
    start = time.monotonic()
    try:
        r = dns.query.udp(q, server, port=53, timeout=timeout)
    except Exception:  # noqa: BLE001 (timeout, refused: no response)
        r = None
    return r, time.monotonic() - start


def wait_for(cond, timeout: float, step: float = 0.02):
    """Seconds until cond() held, or None."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if cond():
            return time.monotonic() - start
        time.sleep(step)
    return None


def start_nsd(t, tmp: Path, zones: dict) -> Daemon:
    """NSD on ROOT_NS:53 serving `zones` ({origin: master file text}), "." and "test." among
    them; checked by an SOA query for test."""
    blocks = ""
    for origin, text in zones.items():
        fname = f"{origin.rstrip('.') or 'root'}.zone"
        (tmp / fname).write_text(text)
        blocks += f'zone:\n    name: "{origin}"\n    zonefile: "{tmp}/{fname}"\n'
    (tmp / "nsd.conf").write_text(f"""server:
    ip-address: {ROOT_NS}
    port: 53
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{tmp}"
    pidfile: "{tmp}/nsd.pid"
    database: ""
    xfrdfile: "{tmp}/xfrd.state"
    xfrdir: "{tmp}"
    zonelistfile: "{tmp}/zone.list"
    verbosity: 1
    # A whole test's queries come from one address: no rate limiting.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
""" + blocks)
    import dns.message
    nsd = Daemon("nsd", [find("nsd"), "-d", "-c", str(tmp / "nsd.conf")], tmp)
    nsd.start()
    up = wait_for(lambda: (ask(ROOT_NS, "test.", "SOA", timeout=0.2, rd=False)[0] or
                           dns.message.Message()).answer != [], 10.0, 0.1)
    t.check("nsd serves the fake root and test. on 127.0.0.1:53", up is not None,
            detail=nsd.log()[-2000:])
    return nsd


def start_resolver(t, name: str, addr: str, cmd: list, tmp: Path) -> Daemon:
    d = Daemon(name, cmd, tmp)
    d.start()
    up = wait_for(lambda: ask(addr, ".", "NS", timeout=0.3)[0] is not None, 10.0, 0.1)
    t.check(f"{name} answers on {addr}:53", up is not None, detail=d.log()[-2000:])
    return d


def start_unbound(t, tmp: Path, addr: str, settings: str) -> Daemon:
    """unbound on addr:53 recursing from the fake root; `settings` adds the lines particular to
    a test (modules, trust anchor, ECS, caching), each commented there."""
    import harness as h
    (tmp / "root.hints").write_text(ROOT_HINTS)
    (tmp / "unbound.conf").write_text(f"""server:
    # Lab settings: a private root on loopback instead of the Internet's.
    interface: {addr}
    port: 53
    do-ip6: no
    # The fake root (NSD on 127.0.0.1) instead of the real root servers.
    root-hints: "{tmp}/root.hints"
    # Our authoritative servers are on 127/8, which unbound never queries by default.
    do-not-query-localhost: no
    # unbound answers test. itself (RFC 6761 local zone) unless told not to.
    local-zone: "test." nodefault
    # Our own process: no chroot, no user change, no syslog, files in the temp dir.
    chroot: ""
    username: ""
    directory: "{tmp}"
    pidfile: "{tmp}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: {os.environ.get("UNBOUND_VERBOSITY", "1")}
    log-time-ascii: yes
    num-threads: 1
    # Full names to the authoritative servers: a delegation two labels down needs no probing.
    qname-minimisation: no
""" + settings)
    checked = h.run([find("unbound-checkconf") or "unbound-checkconf", str(tmp / "unbound.conf")])
    t.eq("unbound-checkconf accepts the lab configuration", checked.returncode, 0)
    return start_resolver(t, "unbound", addr, [find("unbound"), "-d", "-c",
                                               str(tmp / "unbound.conf")], tmp)
