#!/usr/bin/python3
"""Plain http checks on steerdns's own HTTP/1.1 client, against a raw-socket backend on
loopback that counts connections and requests: a chunked body matched by expect_body on one
kept connection; a backend that closes the kept connection as the next GET arrives (before
any answer) is probed again on one new connection in the same probe, with no failure; one
that does so on every connection goes down with the reason in the log and /status, and comes
back on a new connection when it answers again."""

import json
import re
import socket
import sys
import threading
import urllib.request

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402
from backends import (DOWN_BOUND, INTERVAL, SCALE, TIMING, UP_BOUND,  # noqa: E402
                      common_port, wait_until)

LB = "lb.example.test."


def ip(n: int) -> str:
    return f"127.0.0.{n}"


class RawBackend:
    """HTTP/1.1 by hand: answers each GET with a chunked 200 "status: alive and well" (in
    3-byte chunks) and keeps the connection, except while `drop` > 0 (or `drop_all`), when a
    GET's connection is closed instead of answered."""

    def __init__(self, addr: str, port: int):
        self.addr, self.port = addr, port
        self.connections = 0
        self.requests = 0
        self.drop = 0
        self.drop_all = False
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((addr, port))
        self.listener.listen(64)
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn: socket.socket) -> None:
        buf = b""
        with conn:
            while True:
                try:
                    data = conn.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                buf += data
                while b"\r\n\r\n" in buf:
                    _, buf = buf.split(b"\r\n\r\n", 1)
                    with self.lock:
                        self.requests += 1
                        dropping = self.drop_all or self.drop > 0
                        if self.drop > 0:
                            self.drop -= 1
                    if dropping:
                        return  # closed, no answer
                    body = b"status: alive and well"
                    out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    for at in range(0, len(body), 3):
                        piece = body[at:at + 3]
                        out += b"%x\r\n%s\r\n" % (len(piece), piece)
                    out += b"0\r\n\r\n"
                    try:
                        conn.sendall(out)
                    except OSError:
                        return

    def close(self) -> None:
        self.listener.close()


def zone(port: int) -> dict:
    z = h.lb_zone()
    z["checks"] = {"alive": dict(type="http", port=port, paths=["/healthz"], expect_body="alive",
                                 **TIMING)}
    z["pools"]["www"] = {"check": "alive", "fallback": "none", "members": h.members(ip(44))}
    return z


def answer_set(srv, pool: str) -> set:
    r = srv.query(f"{pool}.{LB}", "A", timeout=1.0)
    return set(h.addresses(r)) if r is not None else {"<no response>"}


def member_reason(srv) -> str:
    with urllib.request.urlopen(srv.control_url + "/status", timeout=2) as r:
        status = json.load(r)
    for z in status.get("zones", []):
        for p in z.get("pools", []):
            for m in p.get("members", []):
                if m.get("address") == ip(44):
                    return m.get("reason", "")
    return ""


def http_failures(srv) -> int:
    with urllib.request.urlopen(srv.control_url + "/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(r'^steerdns_probe_results_total\{type="http",outcome="failure"\} (\d+)$', text,
                  re.M)
    return int(m.group(1)) if m else -1


with h.Test("http client") as t:
    port = common_port([ip(44)])
    b = RawBackend(ip(44), port)
    try:
        srv = t.start_server([zone(port)], threads=1)
        # ---- chunked: the body matched across its chunks, on one kept connection ----------
        up = wait_until(lambda: answer_set(srv, "www") == {ip(44)}, UP_BOUND + 3, 0.05)
        t.check("chunked answer containing expect_body: member up", up is not None)
        want = 6
        enough = wait_until(lambda: b.requests >= want, (want + 4) * INTERVAL + 5 * SCALE, 0.05)
        t.check(f"{want} probes", enough is not None, detail=f"{b.requests} requests")
        t.eq("on one kept connection", b.connections, 1)

        # ---- the kept connection closed as the GET arrives: reconnect in the same probe -----
        c0, r0 = b.connections, b.requests
        with b.lock:
            b.drop = 1
        again = wait_until(lambda: b.requests >= r0 + 5, 10 * INTERVAL + 5 * SCALE, 0.05)
        t.check("probing goes on after the dropped GET", again is not None,
                detail=f"{b.requests - r0} requests")
        t.eq("one reconnect, counted by the backend", b.connections, c0 + 1)
        t.check("no failure: no down line, still answered",
                answer_set(srv, "www") == {ip(44)} and re.search(
                    rf'msg="member down" .*address={re.escape(ip(44))} ', srv.stderr()) is None,
                detail=srv.stderr()[-2000:])
        t.eq("the retried GET succeeded in its probe: no failed http result in /metrics",
             http_failures(srv), 0)

        # ---- every connection closed at its GET: down, with the reason --------------------
        with b.lock:
            b.drop_all = True
        gone = wait_until(lambda: answer_set(srv, "www") == set(), DOWN_BOUND + 3, 0.02)
        t.check(f"a backend closing every GET leaves the answers within {DOWN_BOUND:.2f} s",
                gone is not None and gone <= DOWN_BOUND, detail=f"took {gone}")
        t.check("the reason says so, in the log",
                re.search(rf'msg="member down" .*address={re.escape(ip(44))} .*reason="http GET '
                          r'/healthz: connection closed before the response"',
                          srv.stderr()) is not None, detail=srv.stderr()[-2000:])
        t.eq("and in /status", member_reason(srv),
             "http GET /healthz: connection closed before the response")
        c1 = b.connections
        with b.lock:
            b.drop_all = False
        back = wait_until(lambda: answer_set(srv, "www") == {ip(44)}, UP_BOUND + 3, 0.02)
        t.check(f"answering again: back within {UP_BOUND:.2f} s", back is not None and
                back <= UP_BOUND, detail=f"took {back}")
        c2, r2 = b.connections, b.requests
        steady = wait_until(lambda: b.requests >= r2 + 4, 8 * INTERVAL + 5 * SCALE, 0.05)
        t.check("on a new connection, kept again",
                steady is not None and b.connections == c2 and c2 > c1,
                detail=f"{c1} -> {c2} -> {b.connections} connections")
    finally:
        b.close()
