#!/usr/bin/python3
"""Not a weapon: response rate limiting (drops and TC slips for a flooding address while
another address is answered), no answers to reflector ports, to our own address:port, to
port 0 or to responses (QR=1), and responses never larger than the query allows."""

import os
import re
import socket
import struct
import sys
import time

import dns.flags
import dns.message

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402

LB = "lb.example.test."
HUGE6 = [f"2001:db8:60::{i:x}" for i in range(1, 61)]
ZONE = h.lb_zone(
    extra_records=[f'txt40 TXT "record-{i:02d}-abcdefghijklmnopqrst"' for i in range(40)],
    extra_pools={"huge6": {"policy": "round-robin", "answers": 60, "members": h.members(*HUGE6)}},
)


def totals(srv):
    """The counters of the server's 'totals' line (logged at exit)."""
    for line in srv.stderr().splitlines():
        if 'msg=totals' in line:
            return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)\b", line) if k != "ts"}
    return {}


def udp_from(host, port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    return s


def collect(sock, until):
    """Every datagram arriving on `sock` until the monotonic time `until`."""
    got = []
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return got
        sock.settimeout(left)
        try:
            got.append(sock.recvfrom(65535)[0])
        except socket.timeout:
            return got


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def spoofed_udp(src, sport, dst, dport, payload):
    """An IPv4 datagram with any source, sent through a raw socket (needs root)."""
    udp_len = 8 + len(payload)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    csum = checksum(pseudo + udp) or 0xFFFF
    udp = struct.pack("!HHHH", sport, dport, udp_len, csum) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0x5eed, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as raw:
        raw.sendto(ip + udp, (dst, 0))


with h.Test("abuse resistance") as t:
    # ---- response rate limiting -------------------------------------------------------------
    RATE = 10
    srv = t.start_server([ZONE], threads=2, extra_args=[
        "--rrl-responses-per-second", str(RATE), "--rrl-slip", "2"], name="rrl")
    # Neither shares a /24 with 127.0.0.1, which the harness uses to see the server is up.
    attacker = udp_from("127.0.2.1")
    bystander = udp_from("127.0.1.1")
    N = 200
    sent_at = time.monotonic()
    for i in range(N):
        attacker.sendto(h.make_query("www." + LB, "A", qid=i).to_wire(), srv.addr())
        if i % 20 == 10:  # the bystander asks in the middle of the flood
            bystander.sendto(h.make_query("static." + LB, "A", qid=0x7000 + i).to_wire(),
                             srv.addr())
    burst_took = time.monotonic() - sent_at
    got = collect(attacker, time.monotonic() + 1.0)
    full, slipped = [], []
    for d in got:
        m = h.parse_response(d)
        (slipped if m.flags & dns.flags.TC else full).append(m)
    dropped = N - len(got)
    windows = int(burst_took) + 2  # seconds of the clock the burst can touch
    print(f"  burst of {N} in {burst_took * 1000:.0f} ms: {len(full)} answered, "
          f"{len(slipped)} TC, {dropped} dropped")
    t.check(f"flood of {N}: at least {RATE} full answers", len(full) >= RATE,
            detail=f"{len(full)} answers")
    t.check(f"flood of {N}: at most {RATE} full answers per second touched ({windows})",
            len(full) <= RATE * windows, detail=f"{len(full)} answers")
    limited = N - len(full)
    t.check("slip 2: about half of the limited responses are TC=1 answers",
            abs(len(slipped) - limited / 2) <= 2 * windows,
            detail=f"{len(slipped)} TC of {limited} limited")
    t.check("slip 2: the others are dropped", abs(dropped - limited / 2) <= 2 * windows,
            detail=f"{dropped} dropped of {limited} limited")
    if slipped:
        m = slipped[0]
        t.check("a slip answer has no records, the question, QR, the query's id",
                not m.answer and not m.authority and not m.additional and len(m.question) == 1
                and m.flags & dns.flags.QR and m.id < N, resp=m)
        t.check("a slip answer is small (header + question)", m.wire_len <= 12 + 64,
                detail=f"{m.wire_len} bytes")
    others = [h.parse_response(d) for d in collect(bystander, time.monotonic() + 0.5)]
    t.eq("another client prefix, asking during the flood: every query answered",
         sorted(m.id for m in others if not m.flags & dns.flags.TC and m.answer),
         [0x7000 + i for i in range(N) if i % 20 == 10])
    with socket.create_connection(srv.addr(), timeout=2, source_address=("127.0.2.1", 0)) as s:
        r = srv.query("www." + LB, "A", tcp=True, sock=s)
    t.expect(r, "the flooding address is answered over TCP (no limit there)", rcode="NOERROR",
             answer_count=2)
    time.sleep(1.1)  # a new second: a fresh budget
    r = srv.query("www." + LB, "A", sock=attacker)
    t.expect(r, "the flooding address is answered again a second later", rcode="NOERROR",
             tc=False, answer_count=2)
    attacker.close()
    bystander.close()
    srv.stop()
    c = totals(srv)
    t.eq("totals: rrl_slipped counts the TC answers", c.get("rrl_slipped"), len(slipped))
    t.eq("totals: rrl_dropped counts the drops", c.get("rrl_dropped"), dropped)

    # RRL is off by default: the same flood is answered in full.
    plain = t.start_server([ZONE], threads=2, name="no-rrl")
    s = udp_from("127.0.0.1")
    for i in range(50):
        s.sendto(h.make_query("www." + LB, "A", qid=i).to_wire(), plain.addr())
    got = collect(s, time.monotonic() + 1.0)
    s.close()
    t.eq("without --rrl-responses-per-second every query of a burst of 50 is answered",
         len(got), 50)

    # ---- sources never answered ---------------------------------------------------------------
    if os.geteuid() != 0:
        t.skip("reflection sources", "binding ports below 1024 and raw sockets need root")
    else:
        srv = t.start_server([ZONE], threads=2, name="reflection")
        q = h.make_query("www." + LB, "A").to_wire()
        for port, name in ((7, "echo"), (19, "chargen"), (13, "daytime")):
            try:
                s = udp_from("127.0.0.1", port)
            except OSError as e:
                t.skip(f"query from port {port}", f"cannot bind it: {e}")
                continue
            s.sendto(q, srv.addr())
            t.eq(f"no answer to a query from UDP port {port} ({name})",
                 len(collect(s, time.monotonic() + 0.5)), 0)
            s.close()
        r = srv.query("www." + LB, "A")
        t.expect(r, "a query from an ordinary port is answered", rcode="NOERROR", answer_count=2)
        # Spoofed from our own listening address:port: an answer would come back to us.
        spoofed_udp("127.0.0.1", srv.port, "127.0.0.1", srv.port, q)
        # Spoofed from port 0.
        spoofed_udp("127.0.0.1", 0, "127.0.0.1", srv.port, q)
        time.sleep(0.3)
        t.check_alive(srv, "spoofed queries")
        srv.stop()
        c = totals(srv)
        t.eq("totals: reflection_dropped counts echo, chargen, daytime and our own address",
             c.get("reflection_dropped"), 4)
        t.eq("totals: dropped counts those and the port 0 query", c.get("dropped"), 5)

    # ---- responses (QR=1) ---------------------------------------------------------------------
    srv = t.start_server([ZONE], threads=1, name="sizes")
    for qtype in ("A", "SOA", "TXT"):
        w = bytearray(h.make_query("www." + LB, qtype).to_wire())
        w[2] |= 0x80
        t.check(f"no answer to a {qtype} response (QR=1) over UDP",
                srv.send_raw(bytes(w), timeout=0.3) is None)

    # ---- response sizes -----------------------------------------------------------------------
    big = t.start_server([ZONE], threads=1, name="sizes-4096",
                         extra_args=["--max-udp-payload", "4096"])
    cases = [("huge6." + LB, "AAAA"), ("txt40." + LB, "TXT"), ("www." + LB, "A"),
             ("www." + LB, "ANY"), ("nothere." + LB, "A"), ("sub." + LB, "A")]
    worst = {}
    for server, ours in ((srv, 1232), (big, 4096)):
        for edns, payload in ((False, 0), (True, 100), (True, 512), (True, 700), (True, 1232),
                              (True, 1500), (True, 4096), (True, 65535)):
            allowed = 512 if not edns else min(max(payload, 512), ours)
            for name, qtype in cases:
                r = server.query(name, qtype, edns=edns, payload=payload or 1232)
                ok = r is not None and r.wire_len <= allowed
                key = (ours, edns, payload)
                worst[key] = max(worst.get(key, 0), r.wire_len if r is not None else 0)
                t.check(f"--max-udp-payload {ours}, EDNS {payload if edns else 'none'}: "
                        f"{name} {qtype} fits in {allowed} bytes", ok, resp=r)
                if r is not None and r.wire_len > allowed - 100 and qtype == "AAAA":
                    t.check(f"  ... and a cut answer says TC ({name} {qtype}, {allowed})",
                            bool(r.flags & dns.flags.TC) or len(r.answer[0]) == 60, resp=r)
    print("  largest UDP response per (our size, EDNS, payload):",
          ", ".join(f"{k[0]}/{k[2] if k[1] else 'none'}={v}" for k, v in sorted(worst.items())))
    t.check_alive(srv, "the size tests")
