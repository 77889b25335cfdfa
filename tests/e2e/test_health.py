#!/usr/bin/python3
"""Health probing against real backends on loopback addresses: HTTP servers (healthy, 500,
wrong body, accepts and never answers), HTTPS with a self-signed certificate made here with
the openssl CLI, a closed TCP port, an exec script; every fallback mode; probe_address; a
check of type none; a drained member; a reload that keeps every member's state; and a backend
killed and restarted, with the measured failover and recovery times printed.

Probes use the "test settings": interval 0.5 s, timeout 0.4 s, rise 2, fall 2, so a member
must leave the answers within interval x fall + timeout + 1 s = 2.4 s (the sanitizer build
stretches all of these by STEERDNS_TEST_TIME_SCALE, backends.py).

Set STEERDNS_E2E_DEFAULT_FAILOVER=1 to also measure failover with the default settings
(interval 5 s, timeout 2 s, fall 3: up to 17 s, so it is not part of the normal run)."""

import os
import re
import ssl
import stat
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402
from backends import (DOWN_BOUND, FALL, INTERVAL, RISE, SCALE, TIMEOUT, TIMING,  # noqa: E402
                      UP_BOUND, HttpBackend, common_port, listening_socket, wait_until)

LB = "lb.example.test."


def ip(n: int) -> str:
    return f"127.0.0.{n}"


# --------------------------------------------------------------------------------------------
# Backends: threads of this process, each on its own loopback address, one shared port
# (HttpBackend, common_port and wait_until live in backends.py, shared with test_policies.py).
# --------------------------------------------------------------------------------------------

class HangBackend:
    """Accepts connections and never answers."""

    def __init__(self, addr: str, port: int):
        self.sock = listening_socket(addr, port)
        self.held = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
                self.held.append(conn)
            except OSError:
                continue

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(2)
        for c in self.held:
            c.close()
        self.sock.close()


def make_cert(dirpath) -> ssl.SSLContext:
    key, cert = dirpath / "key.pem", dirpath / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=steerdns-test"],
                   check=True, capture_output=True, timeout=30)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


# --------------------------------------------------------------------------------------------
# The zone
# --------------------------------------------------------------------------------------------

def health_zone(port: int, script: str, serial: int = 1) -> dict:
    z = h.lb_zone()
    z["soa"]["serial"] = serial
    z["checks"] = {
        "web": {"type": "http", "port": port, "paths": ["/healthz", "/"],
                "host": "www.example.com", "expect_status": [200, 204], "expect_body": "ok",
                **TIMING},
        "port": {"type": "tcp", "port": port, **TIMING},
        "tls": {"type": "https", "port": port, "paths": ["/healthz"], "verify": False, **TIMING},
        "tlsv": {"type": "https", "port": port, **TIMING},
        "script": {"type": "exec", "command": [script, "{address}", "{port}"], "port": port,
                   **TIMING},
        "off": {"type": "none"},
    }
    pools = {
        "hc": {"check": "web", "ttl": 5, "members": [
            {"address": ip(11)}, {"address": ip(12)}, {"address": ip(13)}, {"address": ip(14)},
            {"address": ip(15)}, {"address": ip(19), "enabled": False}]},
        "tcp": {"check": "port", "members": h.members(ip(11), ip(16))},
        "exec": {"check": "script", "members": h.members(ip(11), ip(17))},
        "tls": {"check": "tls", "members": h.members(ip(18), ip(16))},
        "tlsv": {"check": "tlsv", "fallback": "none", "members": h.members(ip(18))},
        "fball": {"check": "port", "members": h.members(ip(21), ip(22))},
        "fbnone": {"check": "port", "fallback": "none", "members": h.members(ip(21), ip(22))},
        "fbpool": {"check": "port", "fallback": "hc", "members": h.members(ip(21))},
        "pa": {"check": "port", "members": [
            {"address": "192.0.2.50", "probe_address": ip(11)},
            {"address": "192.0.2.51", "probe_address": ip(23)}]},
        "mixed": {"check": "web", "members": [{"address": ip(16), "check": "off"},
                                              {"address": ip(13)}]},
        "nocheck": {"members": h.members(ip(21))},
    }
    z["pools"].update(pools)
    return z


EXPECTED = {
    "hc": {ip(11), ip(12)},
    "tcp": {ip(11)},
    "exec": {ip(11)},
    "tls": {ip(18)},
    "tlsv": set(),
    "fball": {ip(21), ip(22)},
    "fbnone": set(),
    "fbpool": {ip(11), ip(12)},
    "pa": {"192.0.2.50"},
    "mixed": {ip(16)},
    "nocheck": {ip(21)},
}


def answer_set(srv, pool: str) -> set:
    r = srv.query(f"{pool}.{LB}", "A", timeout=1.0)
    return set(h.addresses(r)) if r is not None else {"<no response>"}


with h.Test("health") as t:
    tmp = t.tempdir("steerdns-e2e-health-")
    addrs = [ip(n) for n in (11, 12, 13, 14, 15, 16, 17, 18, 21, 22, 23)]
    port = common_port(addrs)
    tls_ctx = make_cert(tmp)
    script = tmp / "check.sh"
    script.write_text(f"#!/bin/sh\n# exit 1 for 127.0.0.17; 2 if {{port}} was not substituted\n"
                      f"[ \"$1\" = 127.0.0.17 ] && exit 1\n[ \"$2\" = {port} ] || exit 2\nexit 0\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)

    backends = {
        11: HttpBackend(ip(11), port),
        12: HttpBackend(ip(12), port),
        13: HttpBackend(ip(13), port, "500"),
        14: HttpBackend(ip(14), port, "wrongbody"),
        15: HangBackend(ip(15), port),
        18: HttpBackend(ip(18), port, want_host=False, tls=tls_ctx),
    }
    for b in backends.values():
        b.start()
    try:
        zone = health_zone(port, str(script))
        srv = t.start_server([zone], threads=2)

        # ---- steady state: every pool answers exactly its healthy members ----------------
        def all_settled():
            return all(answer_set(srv, p) == want for p, want in EXPECTED.items())
        took = wait_until(all_settled, 5.0 * SCALE, 0.1)
        t.check(f"every pool settles to its healthy members within {5.0 * SCALE:g} s",
                took is not None,
                detail="\n".join(f"{p}: got {sorted(answer_set(srv, p))} want {sorted(w)}"
                                 for p, w in EXPECTED.items()))
        for p, want in EXPECTED.items():
            t.eq(f"pool {p}: answers", lambda p=p: answer_set(srv, p), want)

        r = srv.query(f"fbnone.{LB}", "A")
        t.expect(r, "fallback none: NODATA with a short negative TTL", rcode="NOERROR", aa=True,
                 answer=[], authority=[h.soa_text(LB, 10, zone)])
        r = srv.query(f"tlsv.{LB}", "A")
        t.expect(r, "https with verify (self-signed): down, fallback none", rcode="NOERROR",
                 answer=[], authority=[h.soa_text(LB, 10, zone)])
        r = srv.query(f"fbpool.{LB}", "A")
        t.check("fallback to another pool: that pool's records and TTL",
                lambda: r is not None and all(rr.ttl == 5 for rr in r.answer), r)
        r = srv.query(f"hc.{LB}", "AAAA")
        t.expect(r, "AAAA of a v4-only probed pool: plain NODATA", rcode="NOERROR",
                 answer=[], authority=[h.soa_text(LB, 60, zone)])

        # ---- the reasons, one line per change ---------------------------------------------
        log = srv.stderr()
        for what, pattern in [
            ("http 500", rf'msg="member down" .*address={re.escape(ip(13))} check=web '
                         r'reason="http GET /healthz: status 500"'),
            ("wrong body", rf'msg="member down" .*address={re.escape(ip(14))} .*reason="http GET '
                           r'/healthz: status 200, body does not contain \\"ok\\""'),
            ("hanging backend", rf'msg="member down" .*address={re.escape(ip(15))} .*'
                                rf'reason="http GET /healthz: timeout after {TIMEOUT:g}s"'),
            ("closed tcp port", rf'msg="member down" .*pool=tcp address={re.escape(ip(16))} '
                                r'check=port reason="tcp connect: connection refused"'),
            ("exec exit 1", rf'msg="member down" .*address={re.escape(ip(17))} check=script '
                            r'reason="exec: exit 1"'),
            ("https verify", r'msg="member down" .*check=tlsv reason="https GET /: .*'
                             r'(certificate|SSL)'),
            ("probe_address", r'msg="member down" .*address=192.0.2.51 probe_address=127.0.0.23 '
                              r'check=port reason="tcp connect: connection refused"'),
            ("healthy http", rf'msg="member up" .*address={re.escape(ip(11))} check=web '
                             r'reason="http GET /healthz: status 200" after="first result"'),
        ]:
            # The answers can settle before every first result is logged (a member that has
            # no result yet is answered), so a line may still be on its way.
            seen_line = wait_until(lambda: re.search(pattern, srv.stderr()) is not None,
                                   3.0 * SCALE, 0.05)
            t.check(f"log: {what}", seen_line is not None,
                    detail=f"pattern {pattern!r} not in the log")
        log = srv.stderr()
        t.check("log: one line per state change (no repeated down line for 127.0.0.13)",
                len(re.findall(rf'msg="member down" .*address={re.escape(ip(13))} ', log)) == 1,
                detail=log[-3000:])
        t.check("log: drained member 127.0.0.19 is probed but never answered",
                ip(19) not in answer_set(srv, "hc"))

        # ---- a reload keeps every member's state: no window where a down member is back -----
        srv.write_zones([health_zone(port, str(script), serial=2)])
        reloaded = wait_until(lambda: "zone reloaded" in srv.stderr(), 5.0)
        t.check("zone file rewritten: reloaded", reloaded is not None)
        seen = set()
        for _ in range(20):
            seen |= answer_set(srv, "hc")
        t.eq("after the reload: still only the healthy members (states kept)", seen,
             EXPECTED["hc"])
        t.check("the reload starts no probe again (no 'added' probes after the first set)",
                re.search(r'msg="health probes" probes=\d+ added=[1-9]', srv.stderr().split(
                    "zone reloaded", 1)[1]) is None, detail=srv.stderr()[-2000:])

        # ---- kill a backend: gone within interval x fall + timeout + 1 s -------------------
        stop_at = time.monotonic()
        backends[12].stop()
        gone = wait_until(lambda: ip(12) not in answer_set(srv, "hc"), DOWN_BOUND + 3, 0.02)
        print(f"# failover (test settings: interval {INTERVAL}s, timeout {TIMEOUT}s, fall {FALL}):"
              f" backend stopped -> gone from answers in "
              f"{'%.2f s' % gone if gone is not None else 'never'} (bound {DOWN_BOUND:.2f} s)")
        t.check(f"stopped backend leaves the answers within {DOWN_BOUND:.2f} s",
                gone is not None and gone <= DOWN_BOUND, detail=f"took {gone}")
        t.eq("the other member keeps answering", lambda: answer_set(srv, "hc"), {ip(11)})
        t.check("log: the stopped backend's reason",
                re.search(rf'msg="member down" .*address={re.escape(ip(12))} .*reason="http GET '
                          r'/healthz: connect: connection refused" after="2 failures"',
                          srv.stderr()) is not None, detail=srv.stderr()[-2000:])

        backends[12].start()
        back = wait_until(lambda: ip(12) in answer_set(srv, "hc"), UP_BOUND + 3, 0.02)
        print(f"# recovery (rise {RISE}): backend restarted -> back in answers in "
              f"{'%.2f s' % back if back is not None else 'never'} (bound {UP_BOUND:.2f} s)")
        t.check(f"restarted backend returns within {UP_BOUND:.2f} s (after rise)",
                back is not None and back <= UP_BOUND, detail=f"took {back}")
        t.check("recovery needed rise results, not one", back is not None and back >= INTERVAL,
                detail=f"took {back}")

        # ---- everything down: each fallback -------------------------------------------------
        backends[11].stop()
        backends[12].stop()
        took = wait_until(lambda: answer_set(srv, "tcp") == {ip(11), ip(16)}, DOWN_BOUND + 3)
        t.check("tcp pool all down: fallback all answers every enabled member", took is not None,
                detail=str(answer_set(srv, "tcp")))
        took = wait_until(lambda: answer_set(srv, "hc") == {ip(11), ip(12), ip(13), ip(14),
                                                            ip(15)}, DOWN_BOUND + 3)
        t.check("hc all down: fallback all, drained member still left out", took is not None,
                detail=str(answer_set(srv, "hc")))
        t.eq("fbpool: follows hc, whose own fallback (all) applies", answer_set(srv, "fbpool"),
             {ip(11), ip(12), ip(13), ip(14), ip(15)})
        t.eq("pa: both down, fallback all", answer_set(srv, "pa"), {"192.0.2.50", "192.0.2.51"})
        t.check_alive(srv, "probing hanging, dead and broken backends")

        # ---- optional: failover with the default settings ----------------------------------
        if os.environ.get("STEERDNS_E2E_DEFAULT_FAILOVER"):
            backends[12].start()
            d = h.lb_zone()
            d["checks"] = {"web": {"type": "http", "port": port, "paths": ["/healthz"],
                                   "host": "www.example.com"}}
            d["pools"]["dflt"] = {"check": "web", "members": h.members(ip(12), ip(22))}
            srv2 = t.start_server([d], threads=1, name="defaults")
            # Up by a probe result (not merely unknown), and the other member known down.
            ok = wait_until(lambda: answer_set(srv2, "dflt") == {ip(12)} and re.search(
                rf'msg="member up" .*address={re.escape(ip(12))} ', srv2.stderr()), 12)
            t.check("defaults: settles", ok is not None)
            backends[12].stop()
            gone = wait_until(lambda: answer_set(srv2, "dflt") != {ip(12)}, 25, 0.05)
            print(f"# failover (default settings: interval 5s, timeout 2s, fall 3): "
                  f"{'%.2f s' % gone if gone is not None else 'never'} (bound 18 s)")
            t.check("defaults: gone within interval x fall + timeout + 1 s = 18 s",
                    gone is not None and gone <= 18)
    finally:
        for b in backends.values():
            try:
                b.stop()
            except Exception:  # noqa: BLE001
                pass
