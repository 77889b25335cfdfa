"""Shared harness for the steerdns end-to-end tests.

Every test script does roughly:

    import harness as h

    with h.Test("answers") as t:
        srv = t.start_server([h.lb_zone(), h.PARENT_ZONE], threads=2)
        r = srv.query("www.lb.example.test.", "A")
        t.expect(r, "pool A", rcode="NOERROR", aa=True, answer_count=2)

The Test object parses --binary, counts checks, stops every server it started with SIGTERM
(checking it exits 0 within 5 s), prints "N passed, M failed" last and exits non-zero on any
failure. Servers listen on loopback only, on a port nobody else in this test run holds.

Run: /usr/bin/python3 tests/e2e/test_X.py --binary build/steerdns   (from the repo root)
"""

from __future__ import annotations

import argparse
import atexit
import copy
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype

REPO = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent

# --------------------------------------------------------------------------------------------
# Zone fixtures
# --------------------------------------------------------------------------------------------

# The example zone from the contract, verbatim.
LB_ZONE: dict = {
    "zone": "lb.example.test.",
    "ttl": 300,
    "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 2026112501,
            "refresh": 3600, "retry": 600, "expire": 1209600, "minimum": 60},
    "ns": ["ns1", "ns2"],
    "records": [
        "ns1 A 127.0.0.1", "ns2 A 127.0.0.2", "static 600 A 192.0.2.100",
        "@ TXT \"v=spf1 -all\"", "mail MX 10 mx.example.net.", "docs CNAME www",
        "sub NS ns.sub.lb.example.test.", "ns.sub A 192.0.2.53",
    ],
    "pools": {
        "www": {"policy": "round-robin", "ttl": 30, "answers": 2,
                "members": [{"address": "192.0.2.10"}, {"address": "192.0.2.11"},
                            {"address": "192.0.2.12"}, {"address": "2001:db8::10"}]},
    },
}

# A parent zone served next to LB_ZONE. It has names of its own, and names below
# lb.example.test that must never be answered (the longer apex wins).
PARENT_ZONE: dict = {
    "zone": "example.test.",
    "ttl": 3600,
    "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 7,
            "refresh": 3600, "retry": 600, "expire": 1209600, "minimum": 120},
    "ns": ["ns1"],
    "records": [
        "ns1 A 192.0.2.201",
        "www A 192.0.2.200",
        "static.lb A 198.51.100.99",   # shadowed by lb.example.test's own "static"
        "onlyparent.lb A 198.51.100.98",  # hidden: lb.example.test says NXDOMAIN
    ],
}


def members(*addresses: str) -> list:
    return [{"address": a} for a in addresses]


def lb_zone(extra_records: Iterable[str] = (), extra_pools: Optional[dict] = None) -> dict:
    """LB_ZONE plus extra records and pools (a deep copy: fixtures stay untouched)."""
    z = copy.deepcopy(LB_ZONE)
    z["records"].extend(extra_records)
    for name, pool in (extra_pools or {}).items():
        z["pools"][name] = copy.deepcopy(pool)
    return z


def zone_apex(z: Any) -> Optional[str]:
    return z.get("zone") if isinstance(z, dict) else None


# --------------------------------------------------------------------------------------------
# Small DNS helpers
# --------------------------------------------------------------------------------------------

RCODE = {n: dns.rcode.from_text(n) for n in
         ("NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "BADVERS")}


def make_query(name: str, rdtype: Any = "A", *, rdclass: Any = "IN", edns: Any = True,
               payload: int = 1232, ecs: Any = None, options: Optional[list] = None,
               do: bool = False, rd: bool = True, qid: Optional[int] = None) -> dns.message.Message:
    """A query as dnspython builds it. edns: True (version 0), False (no OPT) or a version.
    ecs: "198.51.100.0/24" or a dns.edns.ECSOption."""
    opts = list(options or [])
    if ecs is not None:
        opts.append(dns.edns.ECSOption.from_text(ecs) if isinstance(ecs, str) else ecs)
    q = dns.message.make_query(name, rdtype, rdclass, use_edns=False)
    if edns is False or edns is None:
        if opts or do:
            raise ValueError("EDNS options need edns")
    else:
        # use_edns() directly: make_query(use_edns=1) silently sends version 0.
        q.use_edns(0 if edns is True else int(edns), dns.flags.DO if do else 0, payload,
                   options=opts or None)
    if not rd:
        q.flags &= ~dns.flags.RD
    if qid is not None:
        q.id = qid
    return q


def records(section: Iterable) -> list:
    """Records of a message section as 'owner TTL TYPE rdata' strings, owners lowercased."""
    out = []
    for rrset in section:
        for rd in rrset:
            out.append(f"{rrset.name.to_text().lower()} {rrset.ttl} "
                       f"{dns.rdatatype.to_text(rrset.rdtype)} {rd.to_text()}")
    return out


def addresses(msg: dns.message.Message, rdtype: str = "A") -> list:
    """Addresses of the A/AAAA records in the answer, in wire order."""
    t = dns.rdatatype.from_text(rdtype)
    out = []
    for rrset in msg.answer:
        if rrset.rdtype == t:
            out.extend(rd.address for rd in rrset)
    return out


def describe(resp: Any) -> str:
    if resp is None:
        return "(no response)"
    if isinstance(resp, (bytes, bytearray)):
        try:
            return dns.message.from_wire(bytes(resp)).to_text() + f"\n(wire {len(resp)} bytes)"
        except Exception as e:  # noqa: BLE001
            return f"(unparsable {len(resp)} bytes: {bytes(resp).hex()} : {e})"
    if isinstance(resp, dns.message.Message):
        text = resp.to_text()
        wire = getattr(resp, "wire_len", None)
        return text + (f"\n(wire {wire} bytes)" if wire is not None else "")
    return repr(resp)


class WireHeader:
    """The 12-byte header, decoded without dnspython (which rejects unknown opcodes)."""

    def __init__(self, data: bytes):
        if len(data) < 12:
            raise ValueError(f"{len(data)}-byte message has no header")
        (self.id, self.flags, self.qdcount, self.ancount, self.nscount,
         self.arcount) = struct.unpack("!HHHHHH", data[:12])
        self.qr = bool(self.flags & 0x8000)
        self.opcode = (self.flags >> 11) & 0xF
        self.aa = bool(self.flags & 0x0400)
        self.tc = bool(self.flags & 0x0200)
        self.rd = bool(self.flags & 0x0100)
        self.ra = bool(self.flags & 0x0080)
        self.rcode = self.flags & 0xF

    def __repr__(self) -> str:
        return (f"WireHeader(id={self.id:#06x} qr={self.qr} opcode={self.opcode} aa={self.aa} "
                f"tc={self.tc} rd={self.rd} ra={self.ra} rcode={self.rcode} qd={self.qdcount} "
                f"an={self.ancount} ns={self.nscount} ar={self.arcount})")


def parse_response(data: bytes) -> dns.message.Message:
    m = dns.message.from_wire(data)
    m.wire_len = len(data)  # type: ignore[attr-defined]
    m.wire = data  # type: ignore[attr-defined]
    return m


def recv_exact(sock: socket.socket, n: int, deadline: float) -> Optional[bytes]:
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            chunk = sock.recv(n - len(buf))
        except socket.timeout:
            return None
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        buf += chunk
    return buf


def recv_frame(sock: socket.socket, timeout: float = 2.0) -> Optional[bytes]:
    """One length-prefixed DNS message from a TCP socket, None on timeout or EOF."""
    deadline = time.monotonic() + timeout
    head = recv_exact(sock, 2, deadline)
    if head is None:
        return None
    (n,) = struct.unpack("!H", head)
    return recv_exact(sock, n, deadline)


def frame(wire: bytes) -> bytes:
    return struct.pack("!H", len(wire)) + wire


def wait_eof(sock: socket.socket, timeout: float) -> Optional[float]:
    """Seconds until the peer closes the connection (EOF or reset), None if it did not."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return None
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start
        if not data:
            return time.monotonic() - start


def ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------------------------
# Ports: free on the kernel's side, and reserved among concurrently running e2e scripts
# (the server binds with SO_REUSEPORT, so two servers on one port would both start).
# --------------------------------------------------------------------------------------------

_PORT_DIR = Path(tempfile.gettempdir()) / "steerdns-e2e-ports"
_reserved: list = []


def _release_ports() -> None:
    for p in _reserved:
        try:
            p.unlink()
        except OSError:
            pass
    _reserved.clear()


def _reserve(port: int) -> bool:
    _PORT_DIR.mkdir(exist_ok=True)
    path = _PORT_DIR / str(port)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        # Stale reservation of a dead process?
        try:
            pid = int(path.read_text().strip() or "0")
            os.kill(pid, 0)
            return False
        except (ValueError, ProcessLookupError, OSError):
            try:
                path.unlink()
            except OSError:
                pass
            return False
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    _reserved.append(path)
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port where both UDP and TCP can bind on `host` right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(200):
        u = socket.socket(family, socket.SOCK_DGRAM)
        t = socket.socket(family, socket.SOCK_STREAM)
        try:
            u.bind((host, 0))
            port = u.getsockname()[1]
            try:
                t.bind((host, port))
            except OSError:
                continue
        finally:
            u.close()
            t.close()
        if _reserve(port):
            return port
    raise RuntimeError("no free port found")


# --------------------------------------------------------------------------------------------
# The server under test
# --------------------------------------------------------------------------------------------

_all_servers: list = []


def _kill_all() -> None:
    for s in _all_servers:
        s.kill()
    _release_ports()


atexit.register(_kill_all)


class StartError(Exception):
    pass


class Server:
    """One steerdns process on a loopback port, with its own temp zones dir and log file."""

    def __init__(self, binary: str, zones: Any, *, threads: Optional[int] = 2,
                 extra_args: Iterable[str] = (), host: str = "127.0.0.1",
                 name: str = "server", ready_name: Optional[str] = None, wait: bool = True,
                 port: Optional[int] = None, subcommand: Optional[str] = None):
        self.binary = binary
        self.subcommand = subcommand  # e.g. "serve"; None = rely on serve being the default
        self.host = host
        self.family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.name = name
        self.threads = threads
        self.extra_args = list(extra_args)
        self.tmp = Path(tempfile.mkdtemp(prefix=f"steerdns-e2e-{name}-"))
        self.zones_dir = self.tmp / "zones"
        self.zones_dir.mkdir()
        self.write_zones(zones)
        apexes = [zone_apex(z) for z in (zones.values() if isinstance(zones, dict) else zones)]
        self.ready_name = ready_name or next((a for a in apexes if a), None)
        self.stderr_path = self.tmp / "stderr.log"
        self.stdout_path = self.tmp / "stdout.log"
        self.proc: Optional[subprocess.Popen] = None
        self.port = port
        # The control endpoint gets a free port of its own (the default 8053 would clash
        # between servers running at once), unless the test passes its own --control.
        self.control_port: Optional[int] = None
        self.exit_code: Optional[int] = None
        _all_servers.append(self)
        if wait:
            self.start()

    # -- zones ----------------------------------------------------------------------------
    def write_zones(self, zones: Any) -> None:
        """zones: a list of zone dicts (file named after the apex) or {filename: dict|str}."""
        if isinstance(zones, dict) and "zone" in zones:
            zones = [zones]
        items = zones.items() if isinstance(zones, dict) else \
            [(f"{zone_apex(z).rstrip('.')}.json", z) for z in zones]
        for fname, content in items:
            text = content if isinstance(content, str) else json.dumps(content, indent=2) + "\n"
            (self.zones_dir / fname).write_text(text)

    # -- process --------------------------------------------------------------------------
    @property
    def listen(self) -> str:
        return f"[{self.host}]:{self.port}" if self.family == socket.AF_INET6 else \
            f"{self.host}:{self.port}"

    def command(self) -> list:
        cmd = [self.binary] + ([self.subcommand] if self.subcommand else []) + \
            ["--zones", str(self.zones_dir), "--listen", self.listen]
        if self.threads is not None:
            cmd += ["--threads", str(self.threads)]
        if self.control_port is not None and "--control" not in self.extra_args:
            cmd += ["--control", f"127.0.0.1:{self.control_port}"]
        return cmd + self.extra_args

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.control_port}"

    def start(self, timeout: float = 15.0) -> None:
        fixed_port = self.port is not None
        for attempt in range(3):
            if not fixed_port:
                self.port = free_port(self.host)
            if "--control" not in self.extra_args and (self.control_port is None or attempt > 0):
                self.control_port = free_port("127.0.0.1")
            self._spawn()
            if self.ready_name is None:
                return
            if self.wait_ready(timeout):
                return
            log = self.stderr()
            if self.proc.poll() is not None and "in use" in log and not fixed_port and attempt < 2:
                continue  # lost a race for the port: try another
            self.kill()
            raise StartError(f"{self.name} did not answer an SOA query for {self.ready_name} on "
                             f"{self.listen} within {timeout} s (exit code {self.proc.returncode})"
                             f"\ncommand: {' '.join(self.command())}\nstderr:\n{log}")

    def _spawn(self) -> None:
        self.exit_code = None
        with open(self.stderr_path, "ab") as err, open(self.stdout_path, "ab") as out:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, cwd=str(self.tmp))

    def wait_ready(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            r = self.query(self.ready_name, "SOA", timeout=0.2)
            if r is not None and r.rcode() == 0 and r.answer:
                # The workers answer a moment before the start line is written (the reloader
                # and the control endpoint start after them): tests read that line.
                while time.monotonic() < deadline and self.proc.poll() is None:
                    if 'msg="steerdns started"' in self.stderr():
                        return True
                    time.sleep(0.02)
                return 'msg="steerdns started"' in self.stderr()
            time.sleep(0.05)
        return False

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 5.0) -> Optional[int]:
        """SIGTERM by pid; the exit code, or None if it did not exit within `timeout`."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                self.exit_code = None
                return None
        self.exit_code = self.proc.returncode
        return self.exit_code

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(2)
            except ProcessLookupError:
                pass

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- queries --------------------------------------------------------------------------
    def addr(self) -> tuple:
        return (self.host, self.port)

    def udp_socket(self) -> socket.socket:
        s = socket.socket(self.family, socket.SOCK_DGRAM)
        s.bind((self.host, 0))
        return s

    def tcp_connect(self, timeout: float = 2.0) -> socket.socket:
        s = socket.create_connection(self.addr(), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def send_raw(self, data: bytes, *, tcp: bool = False, timeout: float = 0.5,
                 sock: Optional[socket.socket] = None) -> Optional[bytes]:
        """Sends bytes as they are (TCP: with the 2-byte length prefix added); returns the
        first response's bytes, or None when nothing came within `timeout`."""
        if tcp:
            own = sock is None
            s = sock or self.tcp_connect(timeout)
            try:
                s.sendall(frame(data))
                return recv_frame(s, timeout)
            except OSError:
                return None
            finally:
                if own:
                    s.close()
        own = sock is None
        s = sock or self.udp_socket()
        try:
            s.sendto(data, self.addr())
            s.settimeout(timeout)
            try:
                resp, _ = s.recvfrom(65535)
                return resp
            except socket.timeout:
                return None
        finally:
            if own:
                s.close()

    def query(self, name: str, rdtype: Any = "A", *, tcp: bool = False, edns: Any = True,
              payload: int = 1232, ecs: Any = None, raw: Optional[bytes] = None,
              timeout: float = 2.0, sock: Optional[socket.socket] = None,
              **kw: Any) -> Optional[dns.message.Message]:
        """Sends a query (built by make_query, or `raw` bytes) and returns the parsed response
        with .wire and .wire_len set; None on timeout or if the response does not parse
        (the reason is printed)."""
        if raw is None:
            q = make_query(name, rdtype, edns=edns, payload=payload, ecs=ecs, **kw)
            wire = q.to_wire()
        else:
            wire = raw
        qid = struct.unpack("!H", wire[:2])[0] if len(wire) >= 2 else None
        deadline = time.monotonic() + timeout
        data: Optional[bytes] = None
        if tcp:
            data = self.send_raw(wire, tcp=True, timeout=timeout, sock=sock)
        else:
            own = sock is None
            s = sock or self.udp_socket()
            try:
                s.sendto(wire, self.addr())
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    s.settimeout(left)
                    try:
                        resp, _ = s.recvfrom(65535)
                    except socket.timeout:
                        break
                    if qid is None or (len(resp) >= 2 and struct.unpack("!H", resp[:2])[0] == qid):
                        data = resp
                        break
            finally:
                if own:
                    s.close()
        if data is None:
            return None
        try:
            return parse_response(data)
        except Exception as e:  # noqa: BLE001
            print(f"  note: response to {name} {rdtype} does not parse: {e}: {data.hex()}")
            return None

    def alive(self) -> bool:
        if not self.running():
            return False
        r = self.query(self.ready_name or "lb.example.test.", "SOA", timeout=1.0)
        return r is not None and r.rcode() == 0


# --------------------------------------------------------------------------------------------
# The test runner / checker
# --------------------------------------------------------------------------------------------

_current: Optional["Test"] = None


class Test:
    def __init__(self, title: str):
        ap = argparse.ArgumentParser(description=f"steerdns e2e: {title}")
        ap.add_argument("--binary", default=str(REPO / "build" / "steerdns"),
                        help="path to the steerdns binary (default: build/steerdns)")
        ap.add_argument("-q", "--quiet", action="store_true", help="print failures only")
        ap.add_argument("--keep", action="store_true",
                        help="keep the servers' temp dirs (zones, logs) for debugging")
        self.args = ap.parse_args()
        self.binary = str(Path(self.args.binary).resolve())
        self.title = title
        self.passed = 0
        self.failed = 0
        self.servers: list = []
        self.tempdirs: list = []
        self.started = time.monotonic()
        global _current
        _current = self

    # -- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> "Test":
        print(f"# steerdns e2e: {self.title} ({self.binary})")
        if not os.access(self.binary, os.X_OK):
            print(f"FAIL binary {self.binary} is not executable")
            print("0 passed, 1 failed")
            sys.exit(1)
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if exc is not None and not isinstance(exc, SystemExit):
                self.fail("test script raised " + exc_type.__name__,
                          "".join(traceback.format_exception(exc_type, exc, tb)))
        finally:
            for s in self.servers:
                if s.running():
                    code = s.stop(5.0)
                    self.check(f"{s.name} exits with code 0 within 5 s of SIGTERM", code == 0,
                               detail=f"exit code {code}\nstderr:\n{s.stderr()[-3000:]}")
                # Sanitizer builds (-DSTEERDNS_SANITIZE=ON) report into the server's stderr.
                reports = [l for l in s.stderr().splitlines()
                           if "Sanitizer" in l or "runtime error:" in l]
                self.check(f"{s.name}: no sanitizer reports in its stderr", not reports,
                           detail="\n".join(reports[:20]))
            if self.failed:
                for s in self.servers:
                    print(f"# {s.name}: {' '.join(s.command())}")
                    print(f"# {s.name} stderr (last 40 lines):")
                    for line in s.stderr().splitlines()[-40:]:
                        print(f"#   {line}")
            if self.args.keep:
                for path in [s.tmp for s in self.servers] + self.tempdirs:
                    print(f"# kept {path}")
            else:
                for s in self.servers:
                    s.cleanup()
                for path in self.tempdirs:
                    shutil.rmtree(path, ignore_errors=True)
            _release_ports()
        print(f"# {self.title}: {time.monotonic() - self.started:.1f} s")
        _kill_all()
        print(f"{self.passed} passed, {self.failed} failed")
        sys.stdout.flush()
        sys.exit(0 if self.failed == 0 else 1)

    def tempdir(self, prefix: str = "steerdns-e2e-") -> Path:
        """A temp dir removed at the end (kept with --keep)."""
        path = Path(tempfile.mkdtemp(prefix=prefix))
        self.tempdirs.append(path)
        return path

    def start_server(self, zones: Any, **kw: Any) -> Server:
        kw.setdefault("name", f"server{len(self.servers) + 1}")
        srv = Server(self.binary, zones, wait=False, **kw)
        self.servers.append(srv)
        srv.start()
        return srv

    # -- checks ---------------------------------------------------------------------------
    def _report(self, ok: bool, desc: str, detail: Optional[str] = None, resp: Any = None,
                show_resp: bool = True) -> bool:
        if ok:
            self.passed += 1
            if not self.args.quiet:
                print(f"ok   {desc}")
        else:
            self.failed += 1
            print(f"FAIL {desc}")
            if detail:
                for line in str(detail).rstrip().splitlines():
                    print(f"     {line}")
            if show_resp and (resp is not None or detail is None):
                print("     response:")
                for line in describe(resp).splitlines():
                    print(f"       {line}")
        sys.stdout.flush()
        return ok

    def check(self, desc: str, cond: Any, resp: Any = None, detail: Optional[str] = None) -> bool:
        """cond: a bool or a callable (exceptions inside it count as failure)."""
        if callable(cond):
            try:
                ok = bool(cond())
            except Exception:  # noqa: BLE001
                return self._report(False, desc, (detail + "\n" if detail else "") +
                                    traceback.format_exc(limit=2), resp)
        else:
            ok = bool(cond)
        return self._report(ok, desc, detail, resp, show_resp=resp is not None)

    def eq(self, desc: str, got: Any, expected: Any, resp: Any = None) -> bool:
        """got: a value or a callable returning it."""
        if callable(got):
            try:
                got = got()
            except Exception as e:  # noqa: BLE001
                return self._report(False, desc, f"expected {expected!r}, got exception {e!r}", resp)
        return self._report(got == expected, desc, f"expected {expected!r}\n got     {got!r}",
                            resp, show_resp=resp is not None)

    def fail(self, desc: str, detail: Optional[str] = None) -> None:
        self._report(False, desc, detail, show_resp=False)

    def skip(self, desc: str, why: str) -> None:
        print(f"skip {desc}: {why}")

    def check_alive(self, srv: Server, desc: str) -> bool:
        ok = srv.alive()
        detail = None
        if not ok:
            code = srv.proc.poll() if srv.proc else None
            detail = f"server {'exited with ' + str(code) if code is not None else 'does not answer'}" \
                     f"\nstderr (tail):\n{srv.stderr()[-2000:]}"
        return self._report(ok, f"server still alive after {desc}", detail, show_resp=False)

    def expect(self, resp: Optional[dns.message.Message], desc: str, *,
               rcode: Optional[str] = None, aa: Optional[bool] = None, tc: Optional[bool] = None,
               answer: Optional[list] = None, authority: Optional[list] = None,
               additional: Optional[list] = None, answer_count: Optional[int] = None,
               ordered: bool = False, edns: Optional[bool] = None,
               qid: Optional[int] = None, basic: bool = True) -> bool:
        """Checks a response. answer/authority/additional are lists of 'owner TTL TYPE rdata'
        (owners lowercase, absolute), compared as multisets unless ordered=True.
        basic: QR set, RA clear. Each property is one check."""
        all_ok = True
        if resp is None:
            self._report(False, f"{desc}: got a response", "no response (timeout or unparsable)",
                         show_resp=False)
            return False

        def one(what: str, got: Any, want: Any) -> None:
            nonlocal all_ok
            all_ok &= self._report(got == want, f"{desc}: {what}",
                                   f"expected {want!r}\n got     {got!r}", resp)

        if basic:
            one("QR set", bool(resp.flags & dns.flags.QR), True)
            one("RA clear", bool(resp.flags & dns.flags.RA), False)
            wire = getattr(resp, "wire", None)
            if wire is not None and resp.opcode() == 0:
                # dnspython merges identical records, so compare with the header's counts:
                # a difference means the same record was sent twice (RFC 2181 5).
                hd = WireHeader(wire)
                one("no duplicate records (header counts = distinct records)",
                    (hd.ancount, hd.nscount, hd.arcount),
                    (len(records(resp.answer)), len(records(resp.authority)),
                     len(records(resp.additional)) + (1 if resp.edns >= 0 else 0)))
        if qid is not None:
            one("ID echoed", resp.id, qid)
        if rcode is not None:
            one(f"rcode {rcode}", dns.rcode.to_text(resp.rcode()), rcode)
        if aa is not None:
            one("AA set" if aa else "AA clear", bool(resp.flags & dns.flags.AA), aa)
        if tc is not None:
            one("TC set" if tc else "TC clear", bool(resp.flags & dns.flags.TC), tc)
        if edns is not None:
            one("OPT present" if edns else "no OPT", resp.edns >= 0, edns)
        if answer_count is not None:
            one(f"{answer_count} answer records", len(records(resp.answer)), answer_count)
        for sec_name, want in (("answer", answer), ("authority", authority),
                               ("additional", additional)):
            if want is None:
                continue
            got = records(getattr(resp, sec_name))
            if ordered:
                one(f"{sec_name} section", got, want)
            else:
                one(f"{sec_name} section", sorted(got), sorted(want))
        return all_ok


# Module-level conveniences that act on the most recently started server of the current test.
def _srv() -> Server:
    assert _current is not None and _current.servers, "no server started"
    return _current.servers[-1]


def query(name: str, rdtype: Any = "A", **kw: Any) -> Optional[dns.message.Message]:
    return _srv().query(name, rdtype, **kw)


def send_raw(data: bytes, **kw: Any) -> Optional[bytes]:
    return _srv().send_raw(data, **kw)


def poll(fetch: Callable[[], Any], ok: Callable[[Any], bool], timeout: float = 3.0,
         step: float = 0.05) -> Any:
    """fetch() until ok(result) or `timeout` seconds; the last result either way. For a state
    that shows "soon" (a reload, a signal): a quiet machine waits no longer than it takes, a
    loaded one gets more time than a fixed sleep gave it."""
    deadline = time.monotonic() + timeout
    while True:
        result = fetch()
        if ok(result) or time.monotonic() >= deadline:
            return result
        time.sleep(step)


def run(cmd: list, timeout: float = 10.0, **kw: Any) -> subprocess.CompletedProcess:
    """Runs a client tool (dig, kdig, steerdns check) and captures its output as text."""
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kw)


def soa_text(apex: str, negative_ttl: Optional[int] = None, zone: dict = LB_ZONE) -> str:
    s = zone["soa"]
    ttl = negative_ttl if negative_ttl is not None else zone["ttl"]
    return (f"{apex} {ttl} SOA {s['mname']}.{apex} {s['rname']}.{apex} {s['serial']} "
            f"{s['refresh']} {s['retry']} {s['expire']} {s['minimum']}")
