#!/usr/bin/env python3
"""What an operator meets outside the answers: `check` on an empty directory and with zone
limits after its name, `serve` on an empty directory, --help's value names, --state-file and
its start-up warning, --control-read-from, SIGUSR1 reopening the query log without a reload,
and query-log lines in time order across workers.
"""
import http.client
import json
import os
import pwd
import re
import signal
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness as h  # noqa: E402

LB = "lb.example.test."
TOKEN = "operator-token-77"


def http_get(port, path, source="127.0.0.1", token=None, method="GET", body=None):
    """(status, body) of one request to the control port, sent from `source`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5, source_address=(source, 0))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers=headers)
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def wait_for(pred, timeout=5.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


with h.Test("operator") as t:
    tmp = t.tempdir()

    # ---- check: an empty directory, and zone limits after the word check ------------------
    empty = tmp / "empty"
    empty.mkdir()
    res = h.run([t.binary, "check", str(empty)])
    t.eq("check on a directory without zone files exits 1", res.returncode, 1)
    t.check("check says there is no *.json zone file", "no *.json zone files" in res.stderr,
            detail=res.stderr)
    zdir = tmp / "zones"
    zdir.mkdir()
    (zdir / "lb.example.test.json").write_text(json.dumps(h.LB_ZONE, indent=2))
    res = h.run([t.binary, "check", "--max-zone-records", "2", str(zdir)])
    t.eq("check --max-zone-records 2 (after `check`) applies the limit: exits 1",
         res.returncode, 1)
    t.check("and names the limit", "--max-zone-records" in res.stderr, detail=res.stderr)
    res = h.run([t.binary, "--max-zone-records", "2", "check", str(zdir)])
    t.eq("the same limit before `check` still works", res.returncode, 1)

    # ---- serve on an empty directory: a warning naming it ---------------------------------
    srv = h.Server(t.binary, {}, name="empty-dir", wait=False, threads=1)
    srv.ready_name = None
    srv.start()
    t.check("serve with no zone file keeps running (files may be added live)",
            wait_for(lambda: "steerdns started" in srv.stderr()) and srv.running(),
            detail=srv.stderr())
    log = srv.stderr()
    t.check("serve with no zone file logs a warning naming the directory",
            re.search(r'level=warn msg="no \*\.json zone files[^"]*" zones_dir=\S*'
                      + re.escape(srv.zones_dir.name), log), detail=log)
    srv.write_zones([h.LB_ZONE])
    t.check("a zone file added later is served", wait_for(
        lambda: (r := srv.query(LB, "SOA", timeout=0.3)) is not None and r.rcode() == 0, 8.0))
    t.eq("empty-dir server exits 0", srv.stop(), 0)

    # ---- --help names values as a man page does ------------------------------------------
    res = h.run([t.binary, "--help"])
    for flag, name in (("--control", "ADDR:PORT"), ("--control-token-file", "PATH"),
                       ("--tcp-read-timeout", "SECONDS"), ("--tcp-max-clients-per-address", "N"),
                       ("--state-file", "PATH"), ("--control-read-from", "PREFIXES"),
                       ("--worker-cpus", "CPUS")):
        t.check(f"--help shows {flag} {name}",
                re.search(rf"^\s+{re.escape(flag)} {re.escape(name)}\b", res.stdout, re.M),
                detail=res.stdout)
    for word in ("TEXT", "UINT", "FLOAT", ":INT"):
        t.check(f"--help shows no CLI11 type {word}", word not in res.stdout, detail=res.stdout)
    res = h.run([t.binary, "status", "--help"])
    t.check("status --help shows --control ADDR:PORT", "--control ADDR:PORT" in res.stdout,
            detail=res.stdout)

    # ---- --control-read-from: reads from a listed network need no token ------------------
    token = tmp / "token"
    token.write_text(TOKEN + "\n")
    srv = t.start_server([h.LB_ZONE], threads=1, name="read-default",
                         extra_args=["--control-token-file", str(token)])
    st, body = http_get(srv.control_port, "/status", source="127.0.0.2")
    t.eq("default: a read from 127.0.0.2 is open (127.0.0.0/8 is loopback)", st, 200)
    srv.stop()
    srv = t.start_server([h.LB_ZONE], threads=1, name="read-narrow",
                         extra_args=["--control-token-file", str(token),
                                     "--control-read-from", "127.0.0.1/32"])
    st, body = http_get(srv.control_port, "/metrics", source="127.0.0.1")
    t.eq("--control-read-from 127.0.0.1/32: a read from 127.0.0.1 is open", st, 200)
    st, body = http_get(srv.control_port, "/metrics", source="127.0.0.3")
    t.eq("a read from 127.0.0.3 (not listed) without a token is refused", st, 401)
    st, body = http_get(srv.control_port, "/metrics", source="127.0.0.3", token=TOKEN)
    t.eq("a read from 127.0.0.3 with the token is served", st, 200)
    st, body = http_get(srv.control_port, "/drain", source="127.0.0.1", method="POST",
                        body={"zone": LB, "pool": "www", "address": "192.0.2.10"})
    t.eq("a write from a listed network still needs the token", st, 401)
    srv.stop()
    srv = t.start_server([h.LB_ZONE], threads=1, name="read-off",
                         extra_args=["--control-read-from", "off"])
    st, body = http_get(srv.control_port, "/status")
    t.eq("--control-read-from off, no token file: even loopback reads are refused", st, 403)
    t.check("the refusal names --control-read-from", "--control-read-from" in body, detail=body)
    srv.stop()
    res = h.run([t.binary, "--zones", str(zdir), "--control-read-from", "10.0.0.1/8"])
    t.eq("--control-read-from with host bits set is a usage error (exit 2)", res.returncode, 2)
    t.check("naming the prefix", "10.0.0.1/8" in res.stderr, detail=res.stderr)

    # ---- --state-file --------------------------------------------------------------------
    state = tmp / "state" / "drains.json"
    state.parent.mkdir()
    srv = t.start_server([h.LB_ZONE], threads=1, name="state-file",
                         extra_args=["--control-token-file", str(token), "--state-file", str(state)])
    st, body = http_get(srv.control_port, "/drain", method="POST", token=TOKEN,
                        body={"zone": LB, "pool": "www", "address": "192.0.2.10"})
    t.eq("drain with --state-file: 200", st, 200)
    t.check("the drain is written to --state-file",
            state.exists() and "192.0.2.10" in state.read_text(), detail=str(state))
    t.check("nothing is written beside the zones",
            not (srv.zones_dir / ".steerdns-state.json").exists())
    srv.stop()
    srv.start()
    seen = set()
    for _ in range(12):
        r = srv.query("www." + LB, "A")
        if r is not None:
            seen.update(h.addresses(r))
    t.check("after a restart the drain from --state-file holds", seen and "192.0.2.10" not in seen,
            detail=str(seen))
    srv.stop()

    if os.geteuid() == 0:
        # As nobody, with the state file in a directory only root may write: warned at start.
        port = h.free_port()
        srv = h.Server(t.binary, [h.LB_ZONE], wait=False, name="state-unwritable", threads=1,
                       extra_args=["--user", "nobody"])
        for d in (srv.tmp, srv.zones_dir):
            os.chmod(d, 0o755)
        for f in srv.zones_dir.iterdir():
            os.chmod(f, 0o644)
        srv.start()
        log = srv.stderr()
        t.check("--user nobody with a root-owned zones directory: a start-up warning names the "
                "state file and --state-file",
                re.search(r'level=warn msg="the drain state file cannot be written[^"]*--state-file'
                          r'[^"]*" file=\S*\.steerdns-state\.json user=nobody', log), detail=log)
        srv.stop()
        writable = tmp / "nobody-state"
        writable.mkdir()
        os.chown(writable, pwd.getpwnam("nobody").pw_uid, -1)
        os.chmod(tmp, 0o755)
        srv = h.Server(t.binary, [h.LB_ZONE], wait=False, name="state-writable", threads=1,
                       extra_args=["--user", "nobody", "--state-file", str(writable / "s.json"),
                                   "--control-token-file", str(token)])
        for d in (srv.tmp, srv.zones_dir):
            os.chmod(d, 0o755)
        for f in srv.zones_dir.iterdir():
            os.chmod(f, 0o644)
        os.chmod(token, 0o644)
        srv.start()
        t.check("--state-file in a directory nobody may write: no warning",
                "cannot be written" not in srv.stderr(), detail=srv.stderr())
        st, body = http_get(srv.control_port, "/drain", method="POST", token=TOKEN,
                            body={"zone": LB, "pool": "www", "address": "192.0.2.11"})
        t.eq("and a drain as nobody succeeds", st, 200)
        srv.stop()
    else:
        t.skip("--state-file as --user nobody", "not running as root")

    # ---- SIGUSR1 reopens the query log, and reloads nothing --------------------------------
    qlog = tmp / "query.log"
    srv = t.start_server([h.LB_ZONE], threads=2, name="qlog",
                         extra_args=["--query-log", str(qlog)])
    for _ in range(5):
        srv.query("www." + LB, "A")
    t.check("queries reach the query log", wait_for(lambda: qlog.exists() and
                                                    qlog.read_text().count("\n") >= 5))
    rotated = tmp / "query.log.1"
    qlog.rename(rotated)
    srv.proc.send_signal(signal.SIGUSR1)
    t.check("SIGUSR1 is logged", wait_for(lambda: "SIGUSR1: reopening logs" in srv.stderr()))
    t.check("SIGUSR1 reopens the query log", wait_for(lambda: "query log reopened" in srv.stderr()))
    srv.query("static." + LB, "A")
    t.check("after SIGUSR1 new lines go to a new file at the old path",
            wait_for(lambda: qlog.exists() and "static." in qlog.read_text()))
    t.check("SIGUSR1 does not reload zones", "reloading" not in srv.stderr().lower(),
            detail=srv.stderr())

    # ---- query-log lines in time order across two workers ----------------------------------
    socks = []
    for _ in range(8):  # distinct source ports: SO_REUSEPORT spreads them over both workers
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(1.0)
        socks.append(s)
    wire = h.make_query("www." + LB, "A").to_wire()
    for _ in range(150):
        for s in socks:
            s.sendto(wire, ("127.0.0.1", srv.port))
        for s in socks:
            try:
                s.recv(4096)
            except socket.timeout:
                pass
    for s in socks:
        s.close()
    t.check("1200 more lines arrive",
            wait_for(lambda: qlog.read_text().count("\n") >= 1200, 5.0))
    stamps = re.findall(r"^ts=(\S+)", qlog.read_text(), re.M)
    t.check("query-log lines are in time order across workers",
            stamps == sorted(stamps), detail=f"{len(stamps)} lines")
    t.eq("qlog server exits 0", srv.stop(), 0)
