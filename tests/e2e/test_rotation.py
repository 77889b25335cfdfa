#!/usr/bin/python3
"""Round robin: with 2 worker threads, consecutive queries (from new source ports, so they
land on either worker) rotate the pool's members in order, each first equally often."""

import collections
import sys
import threading

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402

LB = "lb.example.test."
RR3 = ["192.0.2.31", "192.0.2.32", "192.0.2.33"]
RR3B = ["192.0.2.41", "192.0.2.42", "192.0.2.43"]
RR3C = ["192.0.2.51", "192.0.2.52", "192.0.2.53"]
RR6 = ["2001:db8::61", "2001:db8::62", "2001:db8::63"]
WWW = ["192.0.2.10", "192.0.2.11", "192.0.2.12"]

ZONE = h.lb_zone(extra_pools={
    "rr3": {"policy": "round-robin", "ttl": 10, "answers": 1, "members": h.members(*RR3)},
    "rr3b": {"policy": "round-robin", "ttl": 10, "answers": 1, "members": h.members(*RR3B)},
    "rr3c": {"policy": "round-robin", "ttl": 10, "answers": 1, "members": h.members(*RR3C)},
    "rr6": {"policy": "round-robin", "ttl": 10, "answers": 1, "members": h.members(*RR6)},
    "all3": {"policy": "round-robin", "members": h.members(*RR3)},
})


def rotation_problems(firsts, order):
    """Positions where a first answer is not the member after the previous first answer."""
    bad = []
    for i in range(1, len(firsts)):
        prev, cur = firsts[i - 1], firsts[i]
        if prev not in order or cur != order[(order.index(prev) + 1) % len(order)]:
            bad.append((i, prev, cur))
    return bad


def check_rotation(t, label, firsts, order, n_each):
    counts = collections.Counter(firsts)
    t.eq(f"{label}: each member first exactly {n_each} times",
         {a: counts.get(a, 0) for a in order} | {k: v for k, v in counts.items() if k not in order},
         {a: n_each for a in order})
    bad = rotation_problems(firsts, order)
    t.check(f"{label}: consecutive first answers follow the rotation order", not bad,
            detail=f"out of order at (index, previous, got): {bad[:10]}\nsequence: {firsts}")


with h.Test("rotation") as t:
    srv = t.start_server([ZONE], threads=2)

    # ---- 30 dig +short queries: a new process and source port each time ------------------
    firsts = []
    for i in range(30):
        res = h.run(["dig", "@127.0.0.1", "-p", str(srv.port), "+short", "+tries=1", "+time=2",
                     "rr3." + LB, "A"])
        lines = res.stdout.split()
        firsts.append(lines[0] if lines else f"<none: {res.stdout!r} {res.stderr!r}>")
    check_rotation(t, "dig +short rr3 A x30 (2 threads)", firsts, RR3, 10)

    # ---- 30 queries over one dnspython socket --------------------------------------------
    firsts = []
    full = []
    sock = srv.udp_socket()
    for i in range(30):
        r = srv.query("rr3b." + LB, "A", sock=sock)
        a = h.addresses(r) if r is not None else []
        full.append(a)
        firsts.append(a[0] if a else "<none>")
    sock.close()
    t.check("rr3b: answers 1 means one A record per response",
            all(len(a) == 1 for a in full), detail=str(full))
    check_rotation(t, "dnspython rr3b A x30 over one socket", firsts, RR3B, 10)

    # ---- the same over TCP, one connection per query (kdig +tcp) -------------------------
    firsts = []
    for i in range(6):
        res = h.run(["kdig", "@127.0.0.1", "-p", str(srv.port), "+tcp", "+short", "rr6." + LB,
                     "AAAA"])
        lines = res.stdout.split()
        firsts.append(lines[0] if lines else f"<none: {res.stdout!r} {res.stderr!r}>")
    check_rotation(t, "kdig +tcp +short rr6 AAAA x6", firsts, RR6, 2)

    # ---- answers 2: every answer is two consecutive members ------------------------------
    pairs = []
    for i in range(9):
        r = srv.query("www." + LB, "A")
        pairs.append(h.addresses(r) if r is not None else [])
    expected_pairs = [[WWW[(WWW.index(p[0]) + k) % 3] for k in range(2)] if p and p[0] in WWW
                      else None for p in pairs]
    t.check("www (answers 2): each answer is two consecutive members in rotation order",
            all(p == e for p, e in zip(pairs, expected_pairs)), detail=str(pairs))
    check_rotation(t, "www (answers 2): first answers rotate", [p[0] if p else "-" for p in pairs],
                   WWW, 3)

    # ---- a pool without `answers` returns every member, rotated ---------------------------
    seqs = []
    for i in range(3):
        r = srv.query("all3." + LB, "A")
        seqs.append(h.addresses(r) if r is not None else [])
    t.check("all3 (no answers): all 3 members every time", all(sorted(s) == RR3 for s in seqs),
            detail=str(seqs))
    t.check("all3: the order rotates", len({tuple(s) for s in seqs}) == 3, detail=str(seqs))

    # ---- concurrency: 300 queries from 10 sockets at once --------------------------------
    results = []
    lock = threading.Lock()

    def client(n):
        s = srv.udp_socket()
        mine = []
        for _ in range(n):
            r = srv.query("rr3c." + LB, "A", sock=s, timeout=3.0)
            a = h.addresses(r) if r is not None else []
            mine.append(a[0] if a else "<none>")
        s.close()
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=client, args=(30,)) for _ in range(10)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(15)
    counts = collections.Counter(results)
    t.eq("300 concurrent queries from 10 sockets: each member first exactly 100 times",
         dict(sorted(counts.items())), {a: 100 for a in RR3C})

    t.check_alive(srv, "the rotation tests")
