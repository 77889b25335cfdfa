#!/usr/bin/python3
"""EDNS(0), Client Subnet echo, truncation, and TCP per RFC 7766 (pipelining, split framing,
backpressure, half-close, idle timeout), and shutdown with TCP connections open."""

import socket
import struct
import sys
import time

import dns.edns
import dns.flags

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402

LB = "lb.example.test."
BIG6 = [f"2001:db8:40::{i:x}" for i in range(1, 41)]
HUGE6 = [f"2001:db8:60::{i:x}" for i in range(1, 61)]
TXT40 = [f'txt40 TXT "record-{i:02d}-abcdefghijklmnopqrst"' for i in range(40)]

ZONE = h.lb_zone(
    extra_records=TXT40,
    extra_pools={
        "big6": {"policy": "round-robin", "answers": 40, "members": h.members(*BIG6)},
        "huge6": {"policy": "round-robin", "answers": 60, "members": h.members(*HUGE6)},
    },
)
WWW_V4 = {"192.0.2.10", "192.0.2.11", "192.0.2.12"}
OPT_ECS = 8


def ecs_option(resp):
    if resp is None:
        return None
    found = [o for o in resp.options if o.otype == OPT_ECS]
    return found[0] if len(found) == 1 else (found or None)


def ecs_echo_ok(resp, address, srclen, family):
    o = ecs_option(resp)
    return (isinstance(o, dns.edns.ECSOption) and o.address == address and o.srclen == srclen
            and o.scopelen == 0 and o.family == family)


with h.Test("edns and tcp") as t:
    srv = t.start_server([ZONE], threads=2)
    # Opened first, checked last: with the default idle timeout (10 s) it must survive the
    # rest of this script.
    long_lived = srv.tcp_connect()
    long_lived_opened = time.monotonic()

    # ---- EDNS(0) ------------------------------------------------------------------------
    for payload in (1232, 4096, 512, 1400):
        r = srv.query("www." + LB, "A", payload=payload)
        t.expect(r, f"EDNS payload {payload}", rcode="NOERROR", aa=True, edns=True, answer_count=2)
        t.eq(f"EDNS payload {payload}: our UDP size 1232", lambda: r.payload, 1232, r)
        t.eq(f"EDNS payload {payload}: version 0", lambda: r.edns, 0, r)
    r = srv.query("www." + LB, "A", payload=100)
    t.expect(r, "EDNS payload 100 (treated as 512)", rcode="NOERROR", tc=False, answer_count=2,
             edns=True)
    r = srv.query("www." + LB, "A", edns=False)
    t.expect(r, "no EDNS in the query", rcode="NOERROR", aa=True, edns=False, answer_count=2)
    r = srv.query("nothere." + LB, "A", edns=False)
    t.expect(r, "no EDNS, NXDOMAIN", rcode="NXDOMAIN", edns=False)
    r = srv.query("www.example.com.", "A", edns=True)
    t.expect(r, "EDNS, REFUSED", rcode="REFUSED", edns=True)
    r = srv.query("nothere." + LB, "A", edns=True)
    t.expect(r, "EDNS, NXDOMAIN", rcode="NXDOMAIN", edns=True)

    t.eq("(self-test) the EDNS version 1 query carries version 1 on the wire",
         h.make_query("www." + LB, "A", edns=1).to_wire()[-5], 1)
    r = srv.query("www." + LB, "A", edns=1)
    t.expect(r, "EDNS version 1", rcode="BADVERS", edns=True, answer=[], authority=[])
    t.eq("EDNS version 1: response OPT has version 0", lambda: r.edns, 0, r)
    t.eq("EDNS version 1: header rcode bits 0 (16 = extended 1 << 4)",
         lambda: r.wire[3] & 0x0F, 0, r)
    t.eq("EDNS version 1: OPT extended rcode 1", lambda: (r.ednsflags >> 24) & 0xFF, 1, r)
    r = srv.query("www." + LB, "A", edns=1, tcp=True)
    t.expect(r, "EDNS version 1 over TCP", rcode="BADVERS", edns=True, answer=[])

    opts = [dns.edns.GenericOption(65001, b"hello"), dns.edns.GenericOption(10, b"01234567"),
            dns.edns.GenericOption(12, b"\x00" * 16)]
    r = srv.query("www." + LB, "A", options=opts)
    t.expect(r, "unknown EDNS options (and cookie, padding) ignored", rcode="NOERROR", aa=True,
             answer_count=2, edns=True)
    t.check("unknown EDNS options: not echoed",
            lambda: not [o for o in r.options if o.otype == 65001], r)
    r = srv.query("static." + LB, "A", do=True)
    t.check("DO bit copied", lambda: r.ednsflags & dns.flags.DO, r)
    r = srv.query("static." + LB, "A", do=False)
    t.check("DO bit clear when not sent", lambda: not r.ednsflags & dns.flags.DO, r)
    r = srv.query("nothere." + LB, "A", do=True)
    t.check("DO bit copied on NXDOMAIN", lambda: r.ednsflags & dns.flags.DO, r)

    # ---- Client Subnet ------------------------------------------------------------------
    for name, label in (("static." + LB, "static name"), ("www." + LB, "round-robin pool"),
                        ("nothere." + LB, "NXDOMAIN")):
        r = srv.query(name, "A", ecs="198.51.100.0/24")
        t.check(f"ECS 198.51.100.0/24, {label}: echoed with scope 0",
                lambda: ecs_echo_ok(r, "198.51.100.0", 24, 1), r)
    r = srv.query("www." + LB, "A", ecs="198.51.100.0/24")
    t.check("ECS, pool: still 2 www addresses", lambda: set(h.addresses(r)) <= WWW_V4
            and len(h.addresses(r)) == 2, r)
    r = srv.query("www." + LB, "AAAA", ecs="2001:db8:1::/48")
    t.check("ECS 2001:db8:1::/48: echoed with scope 0",
            lambda: ecs_echo_ok(r, "2001:db8:1::", 48, 2), r)
    r = srv.query("www." + LB, "A", ecs="0.0.0.0/0")
    t.check("ECS 0.0.0.0/0: echoed with scope 0", lambda: ecs_echo_ok(r, "0.0.0.0", 0, 1), r)
    r = srv.query("www." + LB, "A", ecs="198.51.100.0/24", tcp=True)
    t.check("ECS over TCP: echoed with scope 0", lambda: ecs_echo_ok(r, "198.51.100.0", 24, 1), r)
    r = srv.query("www." + LB, "A")
    t.check("no ECS in the query: none in the response", lambda: ecs_option(r) is None, r)
    for name in ("static." + LB, "www." + LB):
        res = h.run(["dig", "@127.0.0.1", "-p", str(srv.port), "+subnet=198.51.100.0/24", name, "A"])
        t.check(f"dig +subnet=198.51.100.0/24 {name}: CLIENT-SUBNET 198.51.100.0/24/0 echoed",
                "; CLIENT-SUBNET: 198.51.100.0/24/0" in res.stdout and "status: NOERROR" in res.stdout,
                detail=res.stdout + res.stderr)
    res = h.run(["kdig", "@127.0.0.1", "-p", str(srv.port), "+subnet=198.51.100.0/24", "www." + LB])
    t.check("kdig +subnet: CLIENT-SUBNET 198.51.100.0/24/0 echoed",
            "CLIENT-SUBNET: 198.51.100.0/24/0" in res.stdout, detail=res.stdout + res.stderr)

    # ---- truncation ---------------------------------------------------------------------
    for name, n, label in (("big6." + LB, 40, "big6 AAAA (40 records)"),
                           ("txt40." + LB, 40, "txt40 TXT (40 records)")):
        rdtype = "AAAA" if name.startswith("big6") else "TXT"
        r = srv.query(name, rdtype, edns=False)
        t.expect(r, f"{label}, no EDNS", rcode="NOERROR", tc=True, answer=[], edns=False)
        t.check(f"{label}, no EDNS: response fits 512 bytes", lambda: r.wire_len <= 512, r)
        t.check(f"{label}, no EDNS: question kept", lambda: len(r.question) == 1, r)
        r = srv.query(name, rdtype, tcp=True, edns=False)
        t.expect(r, f"{label} over TCP", rcode="NOERROR", aa=True, tc=False, answer_count=n)
        r = srv.query(name, rdtype, tcp=True)
        t.expect(r, f"{label} over TCP with EDNS", rcode="NOERROR", aa=True, tc=False,
                 answer_count=n, edns=True)
        r = srv.query(name, rdtype, payload=512)
        t.expect(r, f"{label}, EDNS 512", rcode="NOERROR", tc=True, answer=[], edns=True)
        t.check(f"{label}, EDNS 512: response fits 512 bytes", lambda: r.wire_len <= 512, r)
    r = srv.query("big6." + LB, "AAAA", payload=4096)
    t.expect(r, "big6 AAAA, EDNS 4096 (~1170 bytes fit in 1232)", rcode="NOERROR", aa=True,
             tc=False, answer_count=40, edns=True)
    t.check("big6 AAAA, EDNS 4096: all 40 members", lambda: sorted(h.addresses(r, "AAAA")) ==
            sorted(BIG6), r)
    t.check("big6 AAAA, EDNS 4096: response <= 1232 bytes", lambda: r.wire_len <= 1232, r)
    r = srv.query("big6." + LB, "AAAA", payload=1000)
    t.expect(r, "big6 AAAA, EDNS 1000", rcode="NOERROR", tc=True, answer=[], edns=True)
    t.check("big6 AAAA, EDNS 1000: response <= 1000 bytes", lambda: r.wire_len <= 1000, r)
    for name, rdtype, n in (("huge6." + LB, "AAAA", 60), ("txt40." + LB, "TXT", 40)):
        r = srv.query(name, rdtype, payload=4096)
        t.expect(r, f"{name} {rdtype}, EDNS 4096 (larger than 1232)", rcode="NOERROR", tc=True,
                 answer=[], edns=True)
        t.check(f"{name} {rdtype}, EDNS 4096: response <= 1232 bytes", lambda: r.wire_len <= 1232, r)
        r = srv.query(name, rdtype, payload=4096, ecs="198.51.100.0/24")
        t.expect(r, f"{name} {rdtype}, EDNS 4096 + ECS", rcode="NOERROR", tc=True, edns=True)
        t.check(f"{name} {rdtype}, EDNS 4096 + ECS: ECS echoed on the truncated response",
                lambda: ecs_echo_ok(r, "198.51.100.0", 24, 1), r)
        t.check(f"{name} {rdtype}, EDNS 4096 + ECS: response <= 1232 bytes",
                lambda: r.wire_len <= 1232, r)
        r = srv.query(name, rdtype, tcp=True)
        t.expect(r, f"{name} {rdtype} over TCP", rcode="NOERROR", tc=False, answer_count=n)
    r = srv.query("huge6." + LB, "AAAA", tcp=True)
    t.check("huge6 AAAA over TCP: all 60 members",
            lambda: sorted(h.addresses(r, "AAAA")) == sorted(HUGE6), r)

    res = h.run(["dig", "@127.0.0.1", "-p", str(srv.port), "+noedns", "+ignore", "big6." + LB, "AAAA"])
    t.check("dig +noedns +ignore big6 AAAA: tc flag, no answers",
            "flags: qr aa tc" in res.stdout and "ANSWER: 0" in res.stdout,
            detail=res.stdout + res.stderr)
    res = h.run(["dig", "@127.0.0.1", "-p", str(srv.port), "+noedns", "+short", "big6." + LB, "AAAA"])
    t.eq("dig +noedns +short big6 AAAA (retries over TCP): 40 addresses",
         sorted(res.stdout.split()), sorted(BIG6))
    res = h.run(["kdig", "@127.0.0.1", "-p", str(srv.port), "+tcp", "+short", "big6." + LB, "AAAA"])
    t.eq("kdig +tcp +short big6 AAAA: 40 addresses", sorted(res.stdout.split()), sorted(BIG6))
    res = h.run(["kdig", "@127.0.0.1", "-p", str(srv.port), "+tcp", "docs." + LB, "A"])
    t.check("kdig +tcp docs A: NOERROR over TCP with the CNAME",
            "status: NOERROR" in res.stdout and "(TCP)" in res.stdout and "CNAME" in res.stdout,
            detail=res.stdout + res.stderr)

    # ---- TCP pipelining -----------------------------------------------------------------
    names = [("www." + LB, "A"), ("static." + LB, "A"), ("nothere." + LB, "A"),
             ("huge6." + LB, "AAAA"), ("docs." + LB, "CNAME"), (LB, "SOA"),
             ("www.example.com.", "A"), ("mail." + LB, "MX")]
    want_rcode = ["NOERROR", "NOERROR", "NXDOMAIN", "NOERROR", "NOERROR", "NOERROR", "REFUSED",
                  "NOERROR"]
    queries = [h.make_query(n, ty, qid=0x4000 + i) for i, (n, ty) in enumerate(names)]
    with srv.tcp_connect() as s:
        s.sendall(b"".join(h.frame(q.to_wire()) for q in queries))
        got = []
        for _ in queries:
            data = h.recv_frame(s, 3.0)
            got.append(h.parse_response(data) if data else None)
    t.eq("8 pipelined queries in one write: 8 responses", sum(g is not None for g in got), 8)
    t.eq("pipelined: IDs in order", [g.id if g else None for g in got],
         [q.id for q in queries])
    t.eq("pipelined: questions match", [g.question[0].name.to_text().lower() if g else None
                                        for g in got], [n for n, _ in names])
    t.eq("pipelined: rcodes", [h.dns.rcode.to_text(g.rcode()) if g else None for g in got],
         want_rcode)
    t.eq("pipelined: huge6 AAAA complete (60)", lambda: len(h.addresses(got[3], "AAAA")), 60,
         got[3])

    # One byte per write, two queries back to back (framing split everywhere).
    q1 = h.make_query("static." + LB, "A", qid=0x5001).to_wire()
    q2 = h.make_query("www." + LB, "AAAA", qid=0x5002).to_wire()
    with srv.tcp_connect() as s:
        for b in h.frame(q1) + h.frame(q2):
            s.send(bytes([b]))
            time.sleep(0.002)
        d1 = h.recv_frame(s, 3.0)
        d2 = h.recv_frame(s, 3.0)
    r1 = h.parse_response(d1) if d1 else None
    r2 = h.parse_response(d2) if d2 else None
    t.expect(r1, "1 byte per write: first query", rcode="NOERROR", qid=0x5001,
             answer=[f"static.{LB} 600 A 192.0.2.100"])
    t.expect(r2, "1 byte per write: second query", rcode="NOERROR", qid=0x5002,
             answer=[f"www.{LB} 30 AAAA 2001:db8::10"])

    # Length prefix split from the message, with a pause in between.
    q3 = h.make_query("mail." + LB, "MX", qid=0x5003).to_wire()
    with srv.tcp_connect() as s:
        f = h.frame(q3)
        s.send(f[:1])
        time.sleep(0.1)
        s.send(f[1:7])
        time.sleep(0.1)
        s.send(f[7:])
        d = h.recv_frame(s, 3.0)
    t.expect(h.parse_response(d) if d else None, "framing split with pauses", rcode="NOERROR",
             qid=0x5003, answer=[f"mail.{LB} 300 MX 10 mx.example.net."])

    # A client that writes 1500 queries (~2.5 MB of answers) before reading anything: the
    # server's backpressure must not lose or reorder a single answer.
    n_big = 1500
    big_queries = [h.make_query(("huge6." if i % 3 else "static.") + LB,
                                "AAAA" if i % 3 else "A", qid=i).to_wire() for i in range(n_big)]
    with srv.tcp_connect(timeout=10) as s:
        s.sendall(b"".join(h.frame(w) for w in big_queries))
        time.sleep(0.3)
        ids = []
        deadline = time.monotonic() + 10
        while len(ids) < n_big and time.monotonic() < deadline:
            d = h.recv_frame(s, 5.0)
            if d is None:
                break
            ids.append(struct.unpack("!H", d[:2])[0])
    t.eq(f"{n_big} pipelined queries written before reading: all answered", len(ids), n_big)
    t.check(f"{n_big} pipelined queries: answers in query order", ids == list(range(len(ids))),
            detail=f"first out-of-order position: "
                   f"{next((i for i, x in enumerate(ids) if x != i), None)}")

    # A valid query followed by a frame the server will not answer (QR=1), in one write:
    # the valid query was received first and must still get its answer.
    q_ok = h.make_query("static." + LB, "A", qid=0x5101).to_wire()
    bogus = bytearray(h.make_query("static." + LB, "A", qid=0x5102).to_wire())
    bogus[2] |= 0x80
    with srv.tcp_connect() as s:
        s.sendall(h.frame(q_ok) + h.frame(bytes(bogus)))
        d = h.recv_frame(s, 2.0)
        r = h.parse_response(d) if d else None
        t.expect(r, "query pipelined before a QR=1 frame is still answered", rcode="NOERROR",
                 qid=0x5101, answer=[f"static.{LB} 600 A 192.0.2.100"])
        t.check("no response to the QR=1 frame after it", lambda: h.recv_frame(s, 0.5) is None)

    # Pipelined queries followed at once by a half-close (SHUT_WR): all still answered.
    with srv.tcp_connect(timeout=10) as s:
        s.sendall(b"".join(h.frame(h.make_query("huge6." + LB, "AAAA", qid=i).to_wire())
                           for i in range(300)))
        s.shutdown(socket.SHUT_WR)
        ids = []
        while len(ids) < 300:
            d = h.recv_frame(s, 3.0)
            if d is None:
                break
            ids.append(struct.unpack("!H", d[:2])[0])
        eof = h.wait_eof(s, 3.0)
    t.eq("300 pipelined queries then a half-close: all answered, in order", ids, list(range(300)))
    t.check("after answering a half-closed connection the server closes it", eof is not None)

    # Several queries on one connection, one after the other.
    with srv.tcp_connect() as s:
        ok = 0
        for i in range(20):
            r = srv.query("static." + LB, "A", tcp=True, sock=s)
            ok += r is not None and r.rcode() == 0 and len(r.answer) == 1
    t.eq("20 sequential queries on one TCP connection", ok, 20)

    # ---- idle timeout -------------------------------------------------------------------
    idle = t.start_server([ZONE], threads=1, extra_args=["--tcp-idle-timeout", "1"],
                          name="idle-server")
    s = idle.tcp_connect()
    took = h.wait_eof(s, 3.5)
    s.close()
    t.check("idle connection (no query) closed by the server within 3 s (--tcp-idle-timeout 1)",
            took is not None and took <= 3.0, detail=f"closed after {took} s")
    t.check("idle connection not closed long before the timeout", took is None or took >= 0.7,
            detail=f"closed after {took} s")
    s = idle.tcp_connect()
    r = idle.query("static." + LB, "A", tcp=True, sock=s)
    t.expect(r, "idle server: a query is answered", rcode="NOERROR", answer_count=1)
    took = h.wait_eof(s, 3.5)
    s.close()
    t.check("connection idle after a query closed within 3 s", took is not None and took <= 3.0,
            detail=f"closed after {took} s")
    s = idle.tcp_connect()
    answered = 0
    for i in range(5):  # 2 s of activity, one query every 0.4 s: the timer restarts
        r = idle.query("static." + LB, "A", tcp=True, sock=s)
        answered += r is not None and r.rcode() == 0
        time.sleep(0.4)
    s.close()
    t.eq("an active connection outlives the idle timeout (5 queries over 2 s)", answered, 5)
    t.check_alive(idle, "the idle tests")

    # ---- the connection opened at the start (default 10 s idle timeout) --------------------
    age = time.monotonic() - long_lived_opened
    if age < 9.0:
        r = srv.query("static." + LB, "A", tcp=True, sock=long_lived)
        t.expect(r, f"connection idle for {age:.1f} s under the default 10 s timeout still answers",
                 rcode="NOERROR", answer_count=1)
    else:
        t.skip("default idle timeout", f"the script took {age:.1f} s, too close to 10 s")
    long_lived.close()
    t.check_alive(srv, "the EDNS and TCP tests")

    # ---- shutdown with connections open ------------------------------------------------------
    busy = t.start_server([ZONE], threads=2, name="shutdown-server")
    idle_conn = busy.tcp_connect()
    partial = busy.tcp_connect()
    partial.sendall(h.frame(h.make_query("static." + LB, "A").to_wire())[:9])
    unread = busy.tcp_connect()
    unread.sendall(b"".join(h.frame(h.make_query("huge6." + LB, "AAAA", qid=i).to_wire())
                            for i in range(300)))
    time.sleep(0.2)
    t0 = time.monotonic()
    code = busy.stop(5.0)
    t.eq("SIGTERM with an idle, a half-sent and an unread TCP connection: exit code 0 within 5 s",
         code, 0)
    print(f"  shutdown took {time.monotonic() - t0:.2f} s")
    for name, c in (("idle", idle_conn), ("half-sent", partial), ("unread", unread)):
        c.settimeout(2.0)
        try:
            while c.recv(65536):
                pass
            closed = True
        except (ConnectionResetError, BrokenPipeError):
            closed = True
        except socket.timeout:
            closed = False
        c.close()
        t.check(f"after shutdown the {name} connection is closed", closed)

