#!/usr/bin/python3
"""The control endpoint against the real binary: every endpoint (/, /status, /metrics,
POST /drain, /undrain, /reload), HTTP behaviour (keep-alive, pipelining, limits, errors), the
bearer token (missing or wrong: 401 and nothing changed: answers, state file, metrics), a drain
taking members out of answers at once and surviving a reload, a restart and a broken zone
file, metrics that count what was answered, and `steerdns status`."""

import copy
import http.client
import json
import os
import pty
import re
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402

LB = "lb.example.test."
TOKEN = "e2e-token-4f9a"
WWW = {"192.0.2.10", "192.0.2.11", "192.0.2.12"}


def request(srv, method, path, body=None, token=None, headers=None, timeout=5.0):
    """(status, headers dict lowercased, body text) of one request on a new connection."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.control_port, timeout=timeout)
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    data = json.dumps(body) if isinstance(body, dict) else body
    if data is not None:
        hdrs.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    finally:
        conn.close()


def get_json(srv, path):
    status, _, body = request(srv, "GET", path)
    assert status == 200, f"GET {path}: {status} {body}"
    return json.loads(body)


def metrics(srv):
    """{'name{labels}': value} of GET /metrics."""
    status, _, body = request(srv, "GET", "/metrics")
    assert status == 200, body
    out = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def member_key(name, address, pool="www"):
    return f'{name}{{zone="{LB}",pool="{pool}",address="{address}"}}'


def www_addresses(srv, n=12, tcp=False):
    """Every address www A answered with over n queries."""
    seen = set()
    for _ in range(n):
        r = srv.query("www." + LB, "A", tcp=tcp)
        if r is not None:
            seen.update(h.addresses(r))
    return seen


def member_state(srv, address, pool="www"):
    doc = get_json(srv, "/status")
    for z in doc["zones"]:
        if z["zone"] != LB:
            continue
        for p in z["pools"]:
            if p["name"] == pool:
                for m in p["members"]:
                    if m["address"] == address:
                        return m
    return None


def state_file(srv):
    path = srv.zones_dir / ".steerdns-state.json"
    return path.read_text() if path.exists() else None


def raw_http(srv, data, timeout=2.0, read_until_close=True):
    """Sends bytes on a new connection; returns everything read until close or timeout."""
    s = socket.create_connection(("127.0.0.1", srv.control_port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
            if not read_until_close:
                break
        return out
    finally:
        s.close()


def wait_for(cond, timeout=5.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


DRAIN_11 = {"zone": "lb.example.test", "pool": "www", "address": "192.0.2.11"}


def zone(serial=2026112501, bad=False):
    z = copy.deepcopy(h.LB_ZONE)
    z["soa"]["serial"] = serial
    z["pools"]["www"]["answers"] = 3
    if bad:
        z["pools"]["www"]["members"][0]["address"] = "192.0.2.300"
    return z


with h.Test("control") as t:
    tmp = t.tempdir("steerdns-e2e-control-")
    token_file = tmp / "token"
    token_file.write_text(f"  {TOKEN}\n")
    srv = t.start_server([zone()], threads=2, extra_args=["--control-token-file", str(token_file)])
    # The server answers queries before the control thread has logged its line: wait for it.
    t.check("start-up log names the control endpoint", wait_for(
        lambda: f"control endpoint listening\" control=127.0.0.1:{srv.control_port}" in srv.stderr()
        or f"msg=\"control endpoint listening\" control=127.0.0.1:{srv.control_port}" in srv.stderr()),
            detail=srv.stderr())

    # ---- read endpoints ---------------------------------------------------------------------
    status, hdrs, body = request(srv, "GET", "/")
    t.eq("GET / is 200", status, 200)
    t.eq("GET / is HTML", hdrs.get("content-type"), "text/html; charset=utf-8")
    t.check("GET / has the table and refreshes from /status", "<table" in body and "status" in body
            and "2000" in body, detail=body[:500])
    t.check("GET / loads nothing from elsewhere", not re.search(r"(src|href)=\"(https?:)?//", body))
    status, hdrs, body = request(srv, "GET", "/status")
    t.eq("GET /status is 200", status, 200)
    t.eq("GET /status is JSON", hdrs.get("content-type"), "application/json")
    doc = json.loads(body)
    t.eq("/status lists the zone", [z["zone"] for z in doc["zones"]], [LB])
    z = doc["zones"][0]
    t.eq("/status zone serial and file", (z["serial"], z["file"].endswith("lb.example.test.json")),
         (2026112501, True))
    t.check("/status zone loaded_at is RFC 3339 UTC",
            re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", z["loaded_at"] or ""), detail=z)
    www = z["pools"][0]
    t.eq("/status pool and policy", (www["name"], www["policy"]), ("www", "round-robin"))
    t.eq("/status members and states",
         [(m["address"], m["state"], m["drained"]) for m in www["members"]],
         [("192.0.2.10", "up", False), ("192.0.2.11", "up", False), ("192.0.2.12", "up", False),
          ("2001:db8::10", "up", False)])
    t.check("/status member fields", all(k in www["members"][0] for k in (
        "since", "last_result", "reason", "latency_seconds", "weight", "priority", "region",
        "drained", "check")), detail=www["members"][0])
    status, hdrs, body = request(srv, "GET", "/metrics")
    t.eq("GET /metrics is 200", status, 200)
    t.eq("GET /metrics content type (Prometheus text 0.0.4)", hdrs.get("content-type"),
         "text/plain; version=0.0.4; charset=utf-8")
    t.check("/metrics has HELP and TYPE lines", "# HELP steerdns_queries_total " in body and
            "# TYPE steerdns_queries_total counter" in body, detail=body[:400])
    status, hdrs, _ = request(srv, "HEAD", "/status")
    t.eq("HEAD /status is 200 without a body", status, 200)

    # ---- errors -------------------------------------------------------------------------------
    status, _, body = request(srv, "GET", "/nope")
    t.eq("unknown path: 404", status, 404)
    t.check("404 body is short JSON with an error", "error" in json.loads(body), detail=body)
    status, hdrs, body = request(srv, "POST", "/status", token=TOKEN, body="")
    t.eq("POST /status: 405", status, 405)
    t.eq("405 says what is allowed", hdrs.get("allow"), "GET, HEAD")
    status, hdrs, _ = request(srv, "GET", "/drain")
    t.eq("GET /drain: 405", status, 405)
    t.eq("GET /drain: Allow: POST", hdrs.get("allow"), "POST")
    status, _, body = request(srv, "POST", "/drain", token=TOKEN, body="{not json")
    t.eq("bad JSON: 400", status, 400)
    t.check("bad JSON: says so", "not JSON" in body, detail=body)
    status, _, body = request(srv, "POST", "/drain", token=TOKEN,
                              body={"zone": LB, "pool": "www"})
    t.eq("missing key: 400", status, 400)
    t.check("missing key: names it", "address" in body, detail=body)
    for what, bodyd, needle in (
            ("zone", {"zone": "nope.test.", "pool": "www", "address": "192.0.2.11"}, "zone nope.test. not found"),
            ("pool", {"zone": LB, "pool": "wwx", "address": "192.0.2.11"}, 'pool \\"wwx\\" not found'),
            ("address", {"zone": LB, "pool": "www", "address": "192.0.2.99"}, "member 192.0.2.99 not found")):
        status, _, body = request(srv, "POST", "/drain", token=TOKEN, body=bodyd)
        t.eq(f"unknown {what}: 404", status, 404)
        t.check(f"unknown {what}: the message names it", needle in body, detail=body)
    reply = raw_http(srv, b"POST /drain HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                     TOKEN.encode() + b"\r\nContent-Length: 100000\r\n\r\n")
    t.check("body over 64 KiB: 413 from its Content-Length, connection closed",
            reply.startswith(b"HTTP/1.1 413 ") and b"Connection: close" in reply, detail=reply[:300])
    reply = raw_http(srv, b"GET / HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 10000 + b"\r\n\r\n")
    t.check("headers over 8 KiB: 431", reply.startswith(b"HTTP/1.1 431 "), detail=reply[:200])
    reply = raw_http(srv, b"GET /\xff\xfe HTTP/1.1\r\nConnection: close\r\n\r\n")
    t.check("a path that is not UTF-8: 404, still JSON", reply.startswith(b"HTTP/1.1 404 ")
            and json.loads(reply.split(b"\r\n\r\n", 1)[1]).get("error"), detail=reply[:300])
    reply = raw_http(srv, b"NONSENSE\r\n\r\n")
    t.check("malformed request: 400", reply.startswith(b"HTTP/1.1 400 "), detail=reply[:200])

    # ---- keep-alive and pipelining --------------------------------------------------------------
    conn = http.client.HTTPConnection("127.0.0.1", srv.control_port, timeout=5)
    codes = []
    for path in ("/status", "/metrics", "/nope", "/status"):
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        codes.append(r.status)
    sock_fileno = conn.sock.fileno() if conn.sock else -1
    conn.close()
    t.eq("keep-alive: four requests on one connection", codes, [200, 200, 404, 200])
    t.check("keep-alive: the connection stayed open", sock_fileno >= 0)
    reply = raw_http(srv, b"GET /status HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\n"
                          b"GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", reply)
    t.eq("pipelining: three answers, in order", statuses, [b"200", b"404", b"200"])

    # ---- the token: missing or wrong changes nothing ---------------------------------------------
    before_metrics = metrics(srv)
    for label, tok in (("missing", None), ("wrong", "not-the-token"), ("prefix", TOKEN[:-1])):
        status, hdrs, body = request(srv, "POST", "/drain", body=DRAIN_11, token=tok)
        t.eq(f"{label} token: 401", status, 401)
        t.check(f"{label} token: WWW-Authenticate: Bearer", "Bearer" in hdrs.get("www-authenticate", ""))
        t.eq(f"{label} token: connection closed", hdrs.get("connection"), "close")
    status, _, _ = request(srv, "POST", "/reload", token="wrong")
    t.eq("wrong token on /reload: 401", status, 401)
    status, _, _ = request(srv, "POST", "/undrain", body=DRAIN_11, headers={"Authorization": TOKEN})
    t.eq("token without Bearer: 401", status, 401)
    # Refused before the body is read: headers alone get the answer at once.
    reply = raw_http(srv, b"POST /drain HTTP/1.1\r\nContent-Length: 500\r\n\r\n", timeout=2)
    t.check("missing token: 401 before any body byte was sent", reply.startswith(b"HTTP/1.1 401 "),
            detail=reply[:200])
    t.eq("after 401s: answers unchanged (all three members)", www_addresses(srv), WWW)
    t.eq("after 401s: no state file", state_file(srv), None)
    t.eq("after 401s: 192.0.2.11 not drained in /status", member_state(srv, "192.0.2.11")["state"], "up")
    after_metrics = metrics(srv)
    t.eq("after 401s: steerdns_member_drained unchanged",
         after_metrics.get(member_key("steerdns_member_drained", "192.0.2.11")),
         before_metrics.get(member_key("steerdns_member_drained", "192.0.2.11")))
    t.eq("after 401s: reloads_total unchanged",
         after_metrics.get('steerdns_reloads_total{result="success"}'),
         before_metrics.get('steerdns_reloads_total{result="success"}'))

    # ---- drain ---------------------------------------------------------------------------------------
    status, _, body = request(srv, "POST", "/drain", body=DRAIN_11, token=TOKEN)
    t.eq("drain: 200", status, 200, resp=None)
    t.check("drain: answer says drained", json.loads(body).get("state") == "drained", detail=body)
    # The answers changed before the reply was sent (a few ms of grace for the workers).
    time.sleep(0.01)
    t.eq("drain: 192.0.2.11 gone from answers (UDP, both workers)", www_addresses(srv, 20), WWW - {"192.0.2.11"})
    t.eq("drain: gone over TCP too", www_addresses(srv, 6, tcp=True), WWW - {"192.0.2.11"})
    res = h.run(["dig", "@127.0.0.1", "-p", str(srv.port), "+short", "+tries=1", "+time=2", "www." + LB, "A"])
    t.eq("drain: dig +short shows the other two", sorted(res.stdout.split()), ["192.0.2.10", "192.0.2.12"])
    m = member_state(srv, "192.0.2.11")
    # Out of answers, but resolvers may hold it for the pool's TTL (30 s): draining until then.
    t.eq("drain: /status state draining, by the API", (m["state"], m["drained"], m["drained_by"]),
         ("draining", True, "api"))
    t.check("drain: safe to remove once the pool's TTL has passed", m.get("safe_to_remove_at")
            is not None and m["safe_to_remove_at"] > m["since"], detail=m)
    st = json.loads(state_file(srv) or "{}")
    t.eq("drain: state file holds it", [(d["zone"], d["pool"], d["address"]) for d in st.get("drained", [])],
         [(LB, "www", "192.0.2.11")])
    t.eq("drain: steerdns_member_drained 1",
         metrics(srv).get(member_key("steerdns_member_drained", "192.0.2.11")), 1.0)
    t.check("drain: no temporary state file left", not (srv.zones_dir / ".steerdns-state.json.tmp").exists())
    status, _, _ = request(srv, "POST", "/drain", body=DRAIN_11, token=TOKEN)
    t.eq("drain again: 200 (nothing to do)", status, 200)

    # ---- survives a reload (file edited) and POST /reload ------------------------------------------
    srv.write_zones([zone(serial=2026112502)])
    t.check("file edit: new serial served", wait_for(
        lambda: (lambda r: r is not None and r.answer and r.answer[0][0].serial == 2026112502)(
            srv.query(LB, "SOA")), 5))
    t.eq("file edit: 192.0.2.11 still drained", www_addresses(srv), WWW - {"192.0.2.11"})
    status, _, body = request(srv, "POST", "/reload", token=TOKEN)
    t.eq("POST /reload: 200", status, 200)
    rep = json.loads(body)
    t.eq("POST /reload: result ok, one file", (rep.get("result"), len(rep.get("files", [])),
                                              rep["files"][0]["ok"] if rep.get("files") else None),
         ("ok", 1, True))
    t.eq("after /reload: 192.0.2.11 still drained", www_addresses(srv), WWW - {"192.0.2.11"})

    # ---- metrics count what was answered ----------------------------------------------------------
    m0 = metrics(srv)
    seen = {}
    n_udp, n_tcp = 40, 10
    for i in range(n_udp + n_tcp):
        r = srv.query("www." + LB, "A", tcp=i >= n_udp)
        for a in h.addresses(r) if r is not None else []:
            seen[a] = seen.get(a, 0) + 1
    srv.query("nothere." + LB, "AAAA")
    m1 = metrics(srv)

    def delta(key):
        return m1.get(key, 0) - m0.get(key, 0)

    t.eq("metrics: UDP A NOERROR queries counted",
         delta('steerdns_queries_total{transport="udp",qtype="A",rcode="NOERROR"}'), n_udp)
    t.eq("metrics: TCP A NOERROR queries counted",
         delta('steerdns_queries_total{transport="tcp",qtype="A",rcode="NOERROR"}'), n_tcp)
    t.eq("metrics: the NXDOMAIN AAAA counted",
         delta('steerdns_queries_total{transport="udp",qtype="AAAA",rcode="NXDOMAIN"}'), 1)
    t.eq("metrics: pool responses", delta(f'steerdns_pool_responses_total{{zone="{LB}",pool="www"}}'),
         n_udp + n_tcp)
    t.eq("metrics: member responses match the answers seen",
         {a: delta(member_key("steerdns_member_responses_total", a)) for a in WWW},
         {a: seen.get(a, 0) for a in WWW})
    t.eq("metrics: TCP connections counted", delta("steerdns_tcp_connections_total"), n_tcp)
    t.eq("metrics: zone serial", m1.get(f'steerdns_zone_serial{{zone="{LB}"}}'), 2026112502)
    t.check("metrics: reloads counted", m1.get('steerdns_reloads_total{result="success"}', 0) >= 2)
    srv.send_raw(b"\x00\x01\x80\x00")  # a response-flagged stub: dropped
    t.check("metrics: a malformed packet counted",
            wait_for(lambda: metrics(srv).get('steerdns_dropped_packets_total{reason="malformed"}', 0) >= 1, 2))
    t.eq("metrics: member up gauge", m1.get(member_key("steerdns_member_up", "192.0.2.10")), 1.0)

    # ---- steerdns status ---------------------------------------------------------------------------------
    res = h.run([t.binary, "status", "--control", f"127.0.0.1:{srv.control_port}"])
    t.eq("steerdns status: exit 0", res.returncode, 0)
    t.check("steerdns status: the member table", re.search(r"^ZONE +POOL +ADDRESS +STATE", res.stdout, re.M)
            # Draining for the pool's 30 s TTL after the drain, drained after (a slow run).
            and re.search(r"192\.0\.2\.11 +(draining \(api, \d+s left\)|drained \(api\))",
                          res.stdout)
            and re.search(r"192\.0\.2\.10 +up", res.stdout), detail=res.stdout + res.stderr)
    t.check("steerdns status: no colours into a pipe", "\033[" not in res.stdout)
    master, slave = pty.openpty()
    p = subprocess.Popen([t.binary, "status", "--control", f"127.0.0.1:{srv.control_port}"],
                         stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    p.wait(10)
    os.close(master)
    t.check("steerdns status: colours on a terminal", (b"\033[33mdraining (api, " in out or b"\033[33mdrained (api)\033[0m" in out)
            and b"\033[32mup\033[0m" in out, detail=repr(out[:400]))
    closed = h.free_port()
    res = h.run([t.binary, "status", "--control", f"127.0.0.1:{closed}"])
    t.eq("steerdns status, nothing listening: exit 1", res.returncode, 1)
    t.check("steerdns status, nothing listening: a clear error",
            "cannot reach the control endpoint" in res.stderr and str(closed) in res.stderr,
            detail=res.stderr)

    # ---- survives a restart --------------------------------------------------------------------------
    code = srv.stop()
    t.eq("stop: exit 0", code, 0)
    srv.start()
    t.eq("restart: 192.0.2.11 still drained", www_addresses(srv), WWW - {"192.0.2.11"})
    t.eq("restart: /status says drained by the API",
         (member_state(srv, "192.0.2.11") or {}).get("drained_by"), "api")
    t.check("restart: the log says drained members were restored",
            "drained members restored" in srv.stderr(), detail=srv.stderr()[-2000:])

    # ---- undrain ---------------------------------------------------------------------------------------
    status, _, body = request(srv, "POST", "/undrain", body=DRAIN_11, token=TOKEN)
    t.eq("undrain: 200", status, 200)
    t.eq("undrain: back in answers", www_addresses(srv), WWW)
    t.eq("undrain: state file empty", json.loads(state_file(srv) or "{}").get("drained"), [])
    t.eq("undrain: /status up", member_state(srv, "192.0.2.11")["state"], "up")

    # ---- drain while the zone file is broken -------------------------------------------------------
    srv.write_zones([zone(serial=2026112503, bad=True)])
    status, _, body = request(srv, "POST", "/reload", token=TOKEN)
    t.eq("POST /reload with a broken file: 422", status, 422)
    rep = json.loads(body)
    t.check("POST /reload with a broken file: the error per file",
            rep.get("result") == "error" and not rep["files"][0]["ok"] and
            re.search(r"lb\.example\.test\.json:\d+:\d+: pools\.www\.members\[0\]\.address",
                      "\n".join(rep["files"][0]["errors"])), detail=body)
    t.check("/status shows the rejected file's problem",
            any("192.0.2.300" in e for e in get_json(srv, "/status")["zones"][0]["errors"]))
    t.eq("broken file: the last good version serves", www_addresses(srv), WWW)
    status, _, body = request(srv, "POST", "/drain", token=TOKEN,
                              body={"zone": LB, "pool": "www", "address": "192.0.2.12"})
    t.eq("drain with the file broken: 200", status, 200)
    t.eq("drain with the file broken: gone from the serving version", www_addresses(srv),
         WWW - {"192.0.2.12"})
    r = srv.query(LB, "SOA")
    t.eq("drain with the file broken: still the last good serial", r.answer[0][0].serial if r else None,
         2026112502)
    srv.write_zones([zone(serial=2026112504)])
    t.check("file fixed: new serial", wait_for(
        lambda: (lambda r: r is not None and r.answer and r.answer[0][0].serial == 2026112504)(
            srv.query(LB, "SOA")), 5))
    t.eq("file fixed: the drain applies to the new version", www_addresses(srv), WWW - {"192.0.2.12"})
    status, _, _ = request(srv, "POST", "/undrain", token=TOKEN,
                           body={"zone": LB, "pool": "www", "address": "192.0.2.12"})
    t.eq("undrain after the fix: 200", status, 200)
    t.eq("undrain after the fix: all back", www_addresses(srv), WWW)

    # ---- connection limit ------------------------------------------------------------------------------
    held = []
    try:
        for _ in range(64):
            held.append(socket.create_connection(("127.0.0.1", srv.control_port), timeout=2))
        time.sleep(0.2)
        reply = raw_http(srv, b"GET /status HTTP/1.1\r\n\r\n")
        t.check("the 65th connection: 503", reply.startswith(b"HTTP/1.1 503 "), detail=reply[:200])
    finally:
        for s in held:
            s.close()
    t.check("after the 64 close: served again",
            wait_for(lambda: raw_http(srv, b"GET /status HTTP/1.1\r\nConnection: close\r\n\r\n")
                     .startswith(b"HTTP/1.1 200 "), 3))
    t.check_alive(srv, "the control endpoint tests")

    # ---- without a token file: writes refused ----------------------------------------------------------
    ro = t.start_server([zone()], threads=1, name="no-token")
    status, _, body = request(ro, "POST", "/drain", body=DRAIN_11, token=TOKEN)
    t.eq("no token file: writes get 403", status, 403)
    t.check("no token file: the message says to set --control-token-file",
            "--control-token-file" in body, detail=body)
    t.eq("no token file: reads work", request(ro, "GET", "/status")[0], 200)
    t.eq("no token file: nothing drained", www_addresses(ro), WWW)

    # ---- start-up errors and --control off ----------------------------------------------------------------
    zdir = tmp / "zones"
    zdir.mkdir()
    (zdir / "lb.example.test.json").write_text(json.dumps(zone()))
    empty = tmp / "empty-token"
    empty.write_text(" \n")
    # A bad token file is a start failure (exit 1, logged like any other); a malformed option
    # value is a usage error (exit 2).
    for label, args, needle, code in (
            ("an empty token file", ["--control-token-file", str(empty)], "token file is empty", 1),
            ("a missing token file", ["--control-token-file", str(tmp / "nope")], "nope: cannot read", 1),
            ("a bad --control", ["--control", "localhost"], "--control localhost", 2)):
        res = h.run([t.binary, "--zones", str(zdir), "--listen", f"127.0.0.1:{h.free_port()}"] + args)
        t.check(f"{label}: exits {code} at once", res.returncode == code, detail=res.stderr)
        t.check(f"{label}: says what is wrong", needle in res.stderr, detail=res.stderr)
        if code == 1:
            t.check(f"{label}: a logfmt 'cannot start' line at level error",
                    'level=error msg="cannot start"' in res.stderr, detail=res.stderr)
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    busy = holder.getsockname()[1]
    res = h.run([t.binary, "--zones", str(zdir), "--listen", f"127.0.0.1:{h.free_port()}",
                 "--control", f"127.0.0.1:{busy}"])
    holder.close()
    t.check("control port in use: exits non-zero with the address",
            res.returncode != 0 and f"--control 127.0.0.1:{busy}" in res.stderr and "in use" in res.stderr,
            detail=res.stderr)
    (zdir / ".steerdns-state.json").write_text("{ broken")
    res = h.run([t.binary, "--zones", str(zdir), "--listen", f"127.0.0.1:{h.free_port()}", "--control", "off"])
    t.check("a corrupt state file: refuses to start, naming it",
            res.returncode != 0 and ".steerdns-state.json" in res.stderr, detail=res.stderr)
    (zdir / ".steerdns-state.json").unlink()
    off = t.start_server([zone()], threads=1, name="control-off", extra_args=["--control", "off"])
    t.check("--control off: DNS answers", off.query(LB, "SOA") is not None)
    t.check("--control off: nothing in the log about a control endpoint",
            "control endpoint listening" not in off.stderr())
