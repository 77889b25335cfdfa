#!/usr/bin/python3
"""TCP limits: connection caps (total, per address), the read timeout (slowloris), the
query cap per connection (answered, then a clean close), a slow reader (stops being read,
dropped at the write timeout, never holds the worker), and the memory of 2000 connections."""

import resource
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402

LB = "lb.example.test."
HUGE6 = [f"2001:db8:60::{i:x}" for i in range(1, 61)]
ZONE = h.lb_zone(extra_pools={
    "huge6": {"policy": "round-robin", "answers": 60, "members": h.members(*HUGE6)}})


def connect(srv, source="127.0.0.1", timeout=2.0):
    s = socket.create_connection(srv.addr(), timeout=timeout, source_address=(source, 0))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def answered(srv, s, qid=1):
    """True when a query on `s` gets its answer."""
    try:
        s.sendall(h.frame(h.make_query("static." + LB, "A", qid=qid).to_wire()))
        d = h.recv_frame(s, 2.0)
    except OSError:
        return False
    return d is not None and struct.unpack("!H", d[:2])[0] == qid


def closed_by_server(s, timeout):
    """Seconds until the server closed `s` (EOF or reset), None if still open at `timeout`."""
    start = time.monotonic()
    try:
        return h.wait_eof(s, timeout)
    except (ConnectionResetError, BrokenPipeError):
        return time.monotonic() - start


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


with h.Test("tcp limits") as t:
    # ---- total cap ----------------------------------------------------------------------------
    srv = t.start_server([ZONE], threads=2, name="caps", extra_args=[
        "--tcp-max-clients", "5", "--tcp-max-clients-per-address", "3"])
    held = []
    for i, src in enumerate(["127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.2"]):
        s = connect(srv, src)
        t.check(f"connection {i + 1} of 5 is answered", answered(srv, s, i))
        held.append(s)
    extra = connect(srv, "127.0.0.3")
    took = closed_by_server(extra, 2.0)
    t.check("a 6th connection (--tcp-max-clients 5) is closed at once", took is not None,
            detail=f"{took}")
    extra.close()
    held.pop().close()
    ok = False
    deadline = time.monotonic() + 3
    while not ok and time.monotonic() < deadline:  # the server sees the close shortly
        time.sleep(0.05)
        s = connect(srv, "127.0.0.3")
        ok = answered(srv, s, 99)
        if not ok:
            s.close()
    t.check("once one closes, a new connection is served", ok)
    held.append(s)
    for s in held:
        s.close()

    # ---- per address cap ----------------------------------------------------------------------
    time.sleep(0.3)
    held = [connect(srv, "127.0.0.1") for _ in range(3)]
    t.check("3 connections from one address (the cap) are answered",
            all(answered(srv, s, i) for i, s in enumerate(held)))
    fourth = connect(srv, "127.0.0.1")
    took = closed_by_server(fourth, 2.0)
    t.check("a 4th from the same address (--tcp-max-clients-per-address 3) is closed at once",
            took is not None, detail=f"{took}")
    fourth.close()
    other = connect(srv, "127.0.0.4")
    t.check("another address is still served", answered(srv, other, 7))
    other.close()
    for s in held:
        s.close()
    t.check_alive(srv, "the connection caps")

    # ---- read timeout ---------------------------------------------------------------------------
    slow = t.start_server([ZONE], threads=1, name="read-timeout", extra_args=[
        "--tcp-read-timeout", "1", "--tcp-idle-timeout", "30"])
    s = connect(slow)
    s.sendall(h.frame(h.make_query("static." + LB, "A").to_wire())[:9])
    took = closed_by_server(s, 4.0)
    s.close()
    t.check("half a message: closed after the read timeout (1 s), not the idle one (30 s)",
            took is not None and 0.7 <= took <= 3.5, detail=f"closed after {took}")
    # Slowloris: a byte every 0.2 s keeps the connection busy but never finishes a message.
    s = connect(slow)
    wire = h.frame(h.make_query("static." + LB, "A").to_wire())
    start = time.monotonic()
    closed_at = None
    for b in wire:
        try:
            s.send(bytes([b]))
        except OSError:
            closed_at = time.monotonic() - start
            break
        time.sleep(0.2)
        if closed_by_server(s, 0.01) is not None:
            closed_at = time.monotonic() - start
            break
    s.close()
    t.check("a byte every 0.2 s: closed after the read timeout anyway",
            closed_at is not None and closed_at <= 3.5, detail=f"closed after {closed_at}")
    s = connect(slow)
    t.check("an idle connection is not closed by the read timeout",
            closed_by_server(s, 1.6) is None)
    t.check("...and answers", answered(slow, s))
    s.close()

    # ---- queries per connection -------------------------------------------------------------------
    cap = t.start_server([ZONE], threads=1, name="query-cap", extra_args=[
        "--tcp-max-queries", "5"])
    s = connect(cap)
    s.sendall(b"".join(h.frame(h.make_query("www." + LB, "A", qid=i).to_wire())
                       for i in range(8)))
    ids = []
    for _ in range(8):
        d = h.recv_frame(s, 1.0)
        if d is None:
            break
        ids.append(struct.unpack("!H", d[:2])[0])
    t.eq("8 pipelined queries, --tcp-max-queries 5: the first 5 answered", ids, list(range(5)))
    eof = None
    try:
        eof = h.wait_eof(s, 2.0)
        clean = True
    except ConnectionResetError:
        clean = False
    s.close()
    t.check("...then the server closes the connection", eof is not None or not clean)
    t.check("...with a FIN, not a reset", clean)
    s = connect(cap)
    n = sum(answered(cap, s, i) for i in range(5))
    t.eq("5 sequential queries answered", n, 5)
    t.check("...then the connection is closed", closed_by_server(s, 2.0) is not None)
    s.close()
    t.check_alive(cap, "the query cap")

    # ---- slow reader --------------------------------------------------------------------------------
    sr = t.start_server([ZONE], threads=1, name="slow-reader", extra_args=[
        "--tcp-write-timeout", "1", "--tcp-idle-timeout", "30"])
    reader = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    reader.connect(sr.addr())
    reader.setblocking(False)
    q = h.frame(h.make_query("huge6." + LB, "AAAA").to_wire())
    sent = 0
    deadline = time.monotonic() + 2.0
    before = rss_kib(sr.proc.pid)
    while time.monotonic() < deadline and sent < 20_000_000:  # never reads a byte
        try:
            sent += reader.send(q * 200)
        except BlockingIOError:
            time.sleep(0.02)
        except OSError:
            break
    grew = rss_kib(sr.proc.pid) - before
    print(f"  a client that never reads got {sent} bytes of queries in; server RSS +{grew} KiB")
    # What got in sits in kernel buffers (both sides autotune to megabytes on loopback);
    # the server itself holds at most its output cap and one read.
    t.check("a client that never reads holds under 2 MiB of server memory", grew < 2 * 1024,
            detail=f"+{grew} KiB")
    r = sr.query("www." + LB, "A", tcp=True)
    t.expect(r, "while it hangs, the same worker answers others over TCP", rcode="NOERROR")
    r = sr.query("www." + LB, "A")
    t.expect(r, "...and over UDP", rcode="NOERROR")
    time.sleep(2.0)  # past the write timeout
    reader.setblocking(True)
    reader.settimeout(2.0)
    ended = False
    try:
        total = 0
        while total < 50_000_000:
            chunk = reader.recv(1 << 16)
            if not chunk:
                ended = True
                break
            total += len(chunk)
    except (ConnectionResetError, BrokenPipeError):
        ended = True
    except socket.timeout:
        ended = False
    reader.close()
    t.check("the slow reader is disconnected at the write timeout", ended)
    t.check_alive(sr, "the slow reader")

    # ---- 2000 connections cost little ----------------------------------------------------------
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 2200:
        t.skip("2000 connections", f"open file limit {hard}")
    else:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2200), hard))
        many = t.start_server([ZONE], threads=2, name="many", extra_args=[
            "--tcp-max-clients", "3000", "--tcp-max-clients-per-address", "3000",
            "--tcp-idle-timeout", "60"])
        time.sleep(0.3)
        base = rss_kib(many.proc.pid)
        conns = []
        for _ in range(2000):
            conns.append(socket.create_connection(many.addr(), timeout=5))
        time.sleep(0.5)
        silent = rss_kib(many.proc.pid)
        answered_all = 0
        for i, s in enumerate(conns):
            s.sendall(h.frame(h.make_query("www." + LB, "A", qid=i % 65536).to_wire()))
        for s in conns:
            answered_all += h.recv_frame(s, 5.0) is not None
        time.sleep(0.3)
        after = rss_kib(many.proc.pid)
        print(f"  RSS: {base} KiB; 2000 silent connections: {silent} KiB "
              f"(+{(silent - base) / 2000 * 1024:.0f} B each); after one query each: {after} KiB "
              f"(+{(after - base) / 2000 * 1024:.0f} B each)")
        t.eq("2000 connections, one query each: all answered", answered_all, 2000)
        t.check("2000 silent connections cost under 8 MiB", silent - base < 8 * 1024,
                detail=f"+{silent - base} KiB")
        t.check("...and still under 8 MiB once each has been answered", after - base < 8 * 1024,
                detail=f"+{after - base} KiB")
        for s in conns:
            s.close()
        t.check_alive(many, "2000 connections")
