#!/usr/bin/python3
"""Packets a server must survive: other opcodes (NOTIMP), responses (QR=1: silence), malformed
queries (FORMERR when the header can be read, silence when it cannot), and 2000 seeded random
packets. The server must stay up and keep answering throughout."""

import collections
import random
import select
import socket
import struct
import sys
import time

import dns.rcode

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402

LB = "lb.example.test."
SEED = 20261125


def header(qid, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def question(name="www." + LB, qtype=1, qclass=1):
    return wire_name(name) + struct.pack("!HH", qtype, qclass)


def opt(rdata=b"", payload=1232, ext_rcode=0, version=0, flags=0, owner=b"\x00"):
    return owner + struct.pack("!HHBBHH", 41, payload, ext_rcode, version, flags, len(rdata)) + rdata


def option(code, data):
    return struct.pack("!HH", code, len(data)) + data


def ecs(family, source, scope, address):
    return option(8, struct.pack("!HBB", family, source, scope) + address)


def long_label_name(total):
    """A wire name under lb.example.test. exactly `total` octets long."""
    suffix = wire_name(LB)
    need = total - len(suffix)
    labels = []
    while need > 0:
        n = min(63, need - 1)
        labels.append(bytes([n]) + b"x" * n)
        need -= n + 1
    return b"".join(labels) + suffix


def qid_of(i):
    return 0x6000 + i


with h.Test("malformed") as t:
    srv = t.start_server([h.LB_ZONE], threads=2)

    def expect_rcode(desc, packet, rcode, tcp=False):
        data = srv.send_raw(packet, tcp=tcp, timeout=1.0)
        r = None
        if data is None:
            t.fail(f"{desc}: {rcode} response", "no response within 1 s")
        else:
            try:
                r = h.parse_response(data)
            except Exception as e:  # noqa: BLE001
                t.fail(f"{desc}: response parses", f"{e}: {data.hex()}")
        if r is not None:
            t.expect(r, desc, rcode=rcode, qid=struct.unpack("!H", packet[:2])[0], aa=False,
                     answer=[], authority=[], additional=[])
        t.check_alive(srv, desc)
        return r

    def expect_silence(desc, packet, tcp=False):
        data = srv.send_raw(packet, tcp=tcp, timeout=0.5)
        t.check(f"{desc}: no response", data is None,
                detail=None if data is None else h.describe(data))
        t.check_alive(srv, desc)

    # ---- opcodes (checked on the raw header: dnspython rejects opcodes it does not know) ----
    def expect_notimp(desc, pkt, code, tcp=False):
        data = srv.send_raw(pkt, tcp=tcp, timeout=1.0)
        if data is None:
            t.fail(f"{desc}: NOTIMP response", "no response within 1 s")
        else:
            try:
                hd = h.WireHeader(data)
            except ValueError as e:
                t.fail(f"{desc}: response has a header", f"{e}: {data.hex()}")
            else:
                want = dict(id=struct.unpack("!H", pkt[:2])[0], qr=True, opcode=code, aa=False,
                            ra=False, rcode=4, ancount=0, nscount=0)
                got = {k: getattr(hd, k) for k in want}
                t.eq(f"{desc}: NOTIMP, ID and opcode echoed, QR set, AA/RA clear, no records",
                     got, want, data)
        t.check_alive(srv, desc)

    for code, name in ((1, "IQUERY"), (2, "STATUS"), (4, "NOTIFY"), (5, "UPDATE"), (6, "DSO"),
                       (15, "opcode 15")):
        pkt = header(0x7000 + code, flags=(code << 11) | 0x0100) + question()
        expect_notimp(f"opcode {code} ({name})", pkt, code)
    expect_notimp("NOTIFY over TCP", header(0x7104, flags=(4 << 11)) + question(LB, 6), 4, tcp=True)
    expect_notimp("UPDATE with a zone section and an update RR",
                  header(0x7105, flags=(5 << 11), qd=1, ns=1) + question(LB, 6) +
                  b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + bytes([192, 0, 2, 99]), 5)

    # ---- responses are never answered ---------------------------------------------------
    base = header(0x7200, flags=0x8100) + question()
    expect_silence("QR=1 query-shaped packet", base)
    expect_silence("QR=1 NOERROR response with an answer",
                   header(0x7201, flags=0x8500, an=1) + question() +
                   b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 30, 4) + bytes([192, 0, 2, 10]))
    expect_silence("QR=1 NOTIFY", header(0x7202, flags=0x8000 | (4 << 11)) + question(LB, 6))
    expect_silence("QR=1 malformed (QDCOUNT=0)", header(0x7203, flags=0x8100, qd=0))
    expect_silence("QR=1 over TCP", base, tcp=True)

    # ---- too short for a header ---------------------------------------------------------
    for n in (0, 1, 2, 5, 11):
        expect_silence(f"{n}-byte packet", (header(0x7300) + question())[:n])

    # ---- FORMERR ------------------------------------------------------------------------
    q = question()
    cases = [
        ("QDCOUNT=0, header only", header(qid_of(1), qd=0)),
        ("QDCOUNT=0 with a question after the header", header(qid_of(2), qd=0) + q),
        ("QDCOUNT=2", header(qid_of(3), qd=2) + q + question("static." + LB)),
        ("QDCOUNT=1 but no question", header(qid_of(4))),
        ("truncated question (name cut inside a label)", header(qid_of(5)) + q[:7]),
        ("truncated question (name without its root label)", header(qid_of(6)) + q[:len(wire_name("www." + LB)) - 1]),
        ("truncated question (no QTYPE/QCLASS)", header(qid_of(7)) + wire_name("www." + LB)),
        ("truncated question (QCLASS cut)", header(qid_of(8)) + q[:-1]),
        ("label of 64 octets", header(qid_of(9)) + b"\x40" + b"a" * 64 + wire_name(LB) + b"\x00\x01\x00\x01"),
        ("label length 0x7f (reserved label type)", header(qid_of(10)) + b"\x7f" + b"a" * 127 + b"\x00\x00\x01\x00\x01"),
        ("compression pointer as the question name (to offset 0)", header(qid_of(11)) + b"\xc0\x00\x00\x01\x00\x01"),
        ("compression pointer inside the question name", header(qid_of(12)) + b"\x03www\xc0\x0c\x00\x01\x00\x01"),
        ("pointer loop in the question (points at itself)", header(qid_of(13)) + b"\xc0\x0c\x00\x01\x00\x01"),
        ("name of 256 octets", header(qid_of(14)) + long_label_name(256) + b"\x00\x01\x00\x01"),
        ("name of 273 octets (4 x 63 + suffix)", header(qid_of(15)) + (b"\x3f" + b"y" * 63) * 4 + wire_name(LB) + b"\x00\x01\x00\x01"),
        ("truncated OPT (7 of 11 octets)", header(qid_of(16), ar=1) + q + opt()[:7]),
        ("truncated OPT (RDLENGTH beyond the packet)", header(qid_of(17), ar=1) + q +
         opt(ecs(1, 24, 0, bytes([198, 51, 100])))[:-2]),
        ("OPT option length beyond RDLENGTH", header(qid_of(18), ar=1) + q +
         opt(struct.pack("!HH", 65001, 10) + b"abc")),
        ("ARCOUNT=1 but no additional record", header(qid_of(19), ar=1) + q),
        ("two OPT records", header(qid_of(20), ar=2) + q + opt() + opt()),
        ("ECS IPv4 source prefix 33", header(qid_of(21), ar=1) + q +
         opt(ecs(1, 33, 0, bytes([198, 51, 100, 0, 0])))),
        ("ECS family 3", header(qid_of(22), ar=1) + q + opt(ecs(3, 24, 0, bytes([198, 51, 100])))),
        ("ECS IPv6 source prefix 129", header(qid_of(23), ar=1) + q +
         opt(ecs(2, 129, 0, bytes(17)))),
        ("ECS with more address octets than the prefix needs", header(qid_of(24), ar=1) + q +
         opt(ecs(1, 24, 0, bytes([198, 51, 100, 0])))),
        ("ECS with bits set past the source prefix", header(qid_of(25), ar=1) + q +
         opt(ecs(1, 20, 0, bytes([198, 51, 111])))),
        ("two ECS options", header(qid_of(26), ar=1) + q +
         opt(ecs(1, 24, 0, bytes([198, 51, 100])) + ecs(1, 24, 0, bytes([198, 51, 100])))),
        ("ECS option shorter than 4 octets", header(qid_of(27), ar=1) + q + opt(option(8, b"\x00\x01"))),
    ]
    for desc, pkt in cases:
        r = expect_rcode(desc, pkt, "FORMERR")
        if r is not None:
            t.check(f"{desc}: FORMERR response carries no OPT", lambda: r.edns < 0, r)
    for desc, pkt in cases[2:3] + cases[8:9] + cases[19:21]:
        expect_rcode(desc + " (over TCP)", pkt, "FORMERR", tcp=True)

    # Boundaries that are still valid.
    name255 = long_label_name(255)
    r = srv.query("", raw=header(0x7401) + name255 + b"\x00\x01\x00\x01")
    t.expect(r, "name of exactly 255 octets is valid: NXDOMAIN", rcode="NXDOMAIN", aa=True)
    r = srv.query("", raw=header(0x7402) + b"\x3f" + b"z" * 63 + wire_name(LB) + b"\x00\x01\x00\x01")
    t.expect(r, "label of exactly 63 octets is valid: NXDOMAIN", rcode="NXDOMAIN", aa=True)
    r = srv.query("", raw=header(0x7403, ar=1) + q + opt(ecs(1, 32, 0, bytes([198, 51, 100, 7]))))
    t.expect(r, "ECS /32 with 4 octets is valid", rcode="NOERROR", answer_count=2)
    r = srv.query("", raw=header(0x7404, ar=1) + q + opt(ecs(2, 128, 0, bytes(range(16)))))
    t.expect(r, "ECS IPv6 /128 is valid", rcode="NOERROR", answer_count=2)
    r = srv.query("", raw=header(0x7405, ar=1) + q + opt(option(65001, b"") + option(65002, b"x" * 40)))
    t.expect(r, "empty and unknown options are valid", rcode="NOERROR", answer_count=2)
    t.check_alive(srv, "the boundary cases")

    # ---- TCP oddities -------------------------------------------------------------------
    def closed_without_answer(payload, desc, shutdown=False):
        with srv.tcp_connect() as s:
            s.sendall(payload)
            if shutdown:
                s.shutdown(socket.SHUT_WR)
            took = h.wait_eof(s, 3.0)
        t.check(f"TCP {desc}: connection closed by the server within 3 s",
                took is not None, detail="still open after 3 s")
        t.check_alive(srv, f"TCP {desc}")

    closed_without_answer(h.frame(b""), "zero-length message")
    closed_without_answer(h.frame(b"\x12\x34\x01"), "3-byte message")
    closed_without_answer(h.frame(header(0x7501, flags=0x8100) + q), "QR=1 message")
    closed_without_answer(struct.pack("!H", 100) + header(0x7502) + q, "frame cut short, then EOF",
                          shutdown=True)
    closed_without_answer(b"\x00", "half a length prefix, then EOF", shutdown=True)

    # ---- 2000 random packets --------------------------------------------------------------
    rng = random.Random(SEED)
    seeds = [h.make_query(n, ty, edns=e, ecs=c).to_wire() for n, ty, e, c in (
        ("www." + LB, "A", True, None), ("docs." + LB, "A", False, None),
        ("sub." + LB, "NS", True, "198.51.100.0/24"), (LB, "SOA", True, None),
        ("nothere." + LB, "AAAA", True, "2001:db8::/32"), ("x.sub." + LB, "ANY", False, None),
        (LB, "NS", True, None))]

    def mutate(p):
        b = bytearray(p)
        for _ in range(rng.randint(1, 4)):
            op = rng.randrange(5)
            if op == 0 and b:  # flip a byte
                b[rng.randrange(len(b))] = rng.randrange(256)
            elif op == 1 and len(b) > 12:  # cut the tail
                del b[rng.randrange(12, len(b)):]
            elif op == 2:  # insert junk
                i = rng.randrange(len(b) + 1)
                b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            elif op == 3 and len(b) > 13:  # delete a few bytes after the header
                i = rng.randrange(12, len(b))
                del b[i:i + rng.randint(1, 4)]
            else:  # rewrite a count
                i = rng.choice((4, 6, 8, 10))
                b[i:i + 2] = struct.pack("!H", rng.choice((0, 1, 2, 3, 255, 65535)))
        return b

    def random_packet(min_len, max_len):
        if rng.random() < 0.6:
            b = mutate(rng.choice(seeds))
            while len(b) < min_len:
                b.append(rng.randrange(256))
            return b[:max_len]
        return bytearray(rng.randrange(256) for _ in range(rng.randint(min_len, max_len)))

    def big_socket():
        s = srv.udp_socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
        return s

    def drain(s, quiet=0.05, limit=2.0):
        got = []
        end = time.monotonic() + limit
        while time.monotonic() < end:
            ready, _, _ = select.select([s], [], [], quiet)
            if not ready:
                break
            got.append(s.recv(65535))
        return got

    sock_q, sock_r, sock_s = big_socket(), big_socket(), big_socket()
    sent_ids = collections.Counter()
    answers = []
    n_query, n_resp, n_short = 1200, 400, 400
    started = time.monotonic()
    for i in range(n_query):
        p = random_packet(12, 600)
        p[2] &= 0x7F  # QR=0: every one of these must be answered
        sent_ids[bytes(p[:2])] += 1
        sock_q.sendto(bytes(p), srv.addr())
        if i % 50 == 49:
            answers.extend(drain(sock_q))
    for i in range(n_resp):
        p = random_packet(12, 600)
        p[2] |= 0x80  # QR=1: never answered
        sock_r.sendto(bytes(p), srv.addr())
    for i in range(n_short):
        sock_s.sendto(bytes(rng.randrange(256) for _ in range(rng.randint(0, 11))), srv.addr())
    answers.extend(drain(sock_q, quiet=0.5, limit=8.0))
    silent_r = drain(sock_r, quiet=0.3)
    silent_s = drain(sock_s, quiet=0.05)
    for s in (sock_q, sock_r, sock_s):
        s.close()

    got_ids = collections.Counter(a[:2] for a in answers)
    t.eq(f"fuzz: all {n_query} random packets with QR=0 and a header answered",
         len(answers), n_query)
    t.check("fuzz: response IDs are the IDs sent", got_ids == sent_ids,
            detail=f"missing {list((sent_ids - got_ids).items())[:10]} "
                   f"unexpected {list((got_ids - sent_ids).items())[:10]}")
    bad = []
    rcodes = collections.Counter()
    for a in answers:
        try:
            hd = h.WireHeader(a)
            if not hd.qr or hd.ra or len(a) > 1232:
                bad.append((f"flags/size: {hd}", a.hex()))
            elif hd.opcode != 0:
                # Unknown opcodes: header only (dnspython cannot decode them).
                if (hd.rcode, hd.qdcount, hd.ancount, hd.nscount, hd.arcount) != (4, 0, 0, 0, 0):
                    bad.append((f"other opcode but not a bare NOTIMP: {hd}", a.hex()))
                rcodes["NOTIMP"] += 1
            else:
                m = h.parse_response(a)
                rcodes[dns.rcode.to_text(m.rcode())] += 1
        except Exception as e:  # noqa: BLE001
            bad.append((str(e), a.hex()))
    t.check("fuzz: every response is well formed (parses), QR set, RA clear, <= 1232 bytes",
            not bad, detail="\n".join(f"{why}: {hexa}" for why, hexa in bad[:5]))
    print(f"  fuzz response rcodes: {dict(rcodes)}")
    t.eq(f"fuzz: no response to {n_resp} random packets with QR=1", len(silent_r), 0)
    t.eq(f"fuzz: no response to {n_short} random packets shorter than 12 bytes", len(silent_s), 0)
    print(f"  fuzz took {time.monotonic() - started:.1f} s")
    r = srv.query("www." + LB, "A")
    t.expect(r, "normal query after 2000 random packets", rcode="NOERROR", aa=True, answer_count=2)
    t.check_alive(srv, "2000 random packets")

    # A few random frames over TCP, all at once: each gets an answer or a close, never a hang.
    conns = []
    for i in range(40):
        p = random_packet(0, 300)
        s = srv.tcp_connect()
        s.sendall(h.frame(bytes(p)))
        conns.append(s)
    deadline = time.monotonic() + 3.0
    pending = set(conns)
    while pending and time.monotonic() < deadline:
        ready, _, _ = select.select(list(pending), [], [], 0.1)
        for s in ready:
            try:
                s.recv(65535)
            except OSError:
                pass
            pending.discard(s)
    for s in conns:
        s.close()
    t.eq("TCP fuzz: 40 random frames each get a response or a close within 3 s", len(pending), 0)
    r = srv.query("www." + LB, "A", tcp=True)
    t.expect(r, "normal TCP query after the TCP fuzz", rcode="NOERROR", answer_count=2)
    t.check_alive(srv, "the TCP fuzz")
