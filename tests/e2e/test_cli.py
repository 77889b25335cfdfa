#!/usr/bin/python3
"""The command line: --version, --help, `check` and its FILE:LINE:COL: json.path: message
diagnostics, IPv6 listening, serving a directory with a broken file, and refusing a port that
is already in use."""

import copy
import json
import re
import signal
import socket
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402

LB = "lb.example.test."


def broken_zone():
    z = copy.deepcopy(h.LB_ZONE)
    z["zone"] = "broken.test."
    z["pools"]["www"]["members"][0]["address"] = "192.0.2.300"
    return z


def value_pos(text, needle):
    """1-based line and column of the first occurrence of `needle` in `text`."""
    i = text.index(needle)
    line = text.count("\n", 0, i) + 1
    col = i - (text.rfind("\n", 0, i) + 1) + 1
    return line, col


def start_expecting_failure(binary, args, timeout=5.0):
    """Starts the server; returns (exit code or None if it kept running, stderr text)."""
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen([binary] + args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=err)
        try:
            code = p.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        err.seek(0)
        return code, err.read().decode(errors="replace")


with h.Test("cli") as t:
    b = t.binary
    tmp = t.tempdir("steerdns-e2e-cli-")

    # ---- --version / --help ---------------------------------------------------------------
    for flag in ("--version", "-V"):
        res = h.run([b, flag])
        t.eq(f"{flag} exits 0", res.returncode, 0)
        t.check(f"{flag} prints a version", re.search(r"\b\d+\.\d+\.\d+\b", res.stdout + res.stderr),
                detail=f"stdout: {res.stdout!r}\nstderr: {res.stderr!r}")
    res = h.run([b, "--help"])
    out = res.stdout + res.stderr
    t.eq("--help exits 0", res.returncode, 0)
    missing = [o for o in ("--zones", "--listen", "--threads") if o not in out]
    t.check("--help mentions --zones, --listen and --threads", not missing,
            detail=f"missing {missing}; `steerdns --help` printed:\n{out}")
    res = h.run([b, "serve", "--help"])
    out = res.stdout + res.stderr
    t.check("serve --help exits 0 and mentions --zones, --listen, --threads",
            res.returncode == 0 and all(o in out for o in ("--zones", "--listen", "--threads")),
            detail=out)
    res = h.run([b, "--no-such-option"])
    t.check("an unknown option exits non-zero", res.returncode != 0,
            detail=res.stdout + res.stderr)

    # ---- check ----------------------------------------------------------------------------
    res = h.run([b, "check", str(h.REPO / "zones")])
    t.eq("check zones/ (the repo's) exits 0", res.returncode, 0)
    t.check("check zones/ reports the zone ok", "lb.example.test" in res.stdout + res.stderr,
            detail=res.stdout + res.stderr)
    res = h.run([b, "check", "zones/"], cwd=str(h.REPO))
    t.eq("check zones/ (relative path, from the repo root) exits 0", res.returncode, 0)

    bad_dir = tmp / "bad"
    bad_dir.mkdir()
    broken = bad_dir / "broken.json"
    broken_text = json.dumps(broken_zone(), indent=2) + "\n"
    broken.write_text(broken_text)
    line, col = value_pos(broken_text, '"192.0.2.300"')
    res = h.run([b, "check", str(broken)])
    t.eq("check broken.json (member address 192.0.2.300) exits 1", res.returncode, 1)
    pat = re.compile(r"^.*broken\.json:(\d+):(\d+): pools\.www\.members\[0\]\.address: ", re.M)
    m = pat.search(res.stderr)
    t.check("check broken.json: FILE:LINE:COL: pools.www.members[0].address: ... on stderr",
            m is not None, detail=f"stderr:\n{res.stderr}\nstdout:\n{res.stdout}")
    t.eq("check broken.json: LINE:COL is where the bad value starts",
         (int(m.group(1)), int(m.group(2))) if m else None, (line, col))
    t.check("check broken.json: the message names the bad address", "192.0.2.300" in res.stderr,
            detail=res.stderr)

    syntax = bad_dir / "syntax.json"
    syntax.write_text('{\n  "zone": "syntax.test.",\n  "ttl": 300,,\n  "ns": []\n}\n')
    res = h.run([b, "check", str(syntax)])
    t.eq("check syntax.json (JSON syntax error) exits 1", res.returncode, 1)
    m = re.search(r"^.*syntax\.json:(\d+):(\d+): \S", res.stderr, re.M)
    t.check("check syntax.json: FILE:LINE:COL: message on stderr", m is not None,
            detail=res.stderr)
    t.eq("check syntax.json: the error is on line 3", int(m.group(1)) if m else None, 3)

    res = h.run([b, "check", str(bad_dir)])
    t.eq("check on a directory with two broken files exits 1", res.returncode, 1)
    t.check("check on the directory reports both files",
            "broken.json:" in res.stderr and "syntax.json:" in res.stderr, detail=res.stderr)
    res = h.run([b, "check", str(h.REPO / "zones" / "lb.example.test.json"), str(broken)])
    t.eq("check good.json broken.json exits 1", res.returncode, 1)
    res = h.run([b, "check", str(tmp / "does-not-exist")])
    t.check("check on a missing path exits non-zero", res.returncode != 0,
            detail=res.stdout + res.stderr)

    # ---- check: warnings, and every problem once, in plain words (issue 13) ---------------
    warn_dir = tmp / "warn"
    warn_dir.mkdir()
    warned = copy.deepcopy(h.LB_ZONE)
    warned["zone"] = "md.example.test."
    del warned["ttl"]  # the default, 3600
    warned["records"] = ["ns1 A 127.0.0.1", "ns2 A 127.0.0.2", "docs CNAME www.md.example.test"]
    warned["checks"] = {"web": {"type": "tcp", "port": 80}}
    warned["pools"]["www"] = {"check": "web", "members": h.members("192.0.2.10")}
    warned_path = warn_dir / "md.json"
    warned_text = json.dumps(warned, indent=2) + "\n"
    warned_path.write_text(warned_text)
    res = h.run([b, "check", str(warned_path)])
    t.eq("check with only warnings exits 0", res.returncode, 0)
    t.check("check with only warnings says the zone is ok", "md.json: ok: zone md.example.test."
            in res.stdout, detail=res.stdout + res.stderr)
    wline, wcol = value_pos(warned_text, '"docs CNAME www.md.example.test"')
    t.check("warning: FILE:LINE:COL: records[2]: warning: ... has the zone name twice ... fix",
            f'md.json:{wline}:{wcol}: records[2]: warning: www.md.example.test.md.example.test. '
            f'has the zone name twice' in res.stderr and 'write "www.md.example.test." or "www"'
            in res.stderr, detail=res.stderr)
    t.check("warning: a health-checked pool inheriting 3600 s",
            re.search(r"md\.json:\d+:\d+: pools\.www\.ttl: warning: 3600 s lets resolvers keep a "
                      r"dead member for an hour; health-checked pools usually use 30-60", res.stderr),
            detail=res.stderr)
    t.check("the summary counts the warnings", res.stderr.rstrip().endswith("2 warnings"),
            detail=res.stderr)

    glueless = copy.deepcopy(h.LB_ZONE)
    glueless["records"] = [r for r in glueless["records"] if not r.startswith("ns2 ")]
    glueless_path = bad_dir.parent / "glueless.json"
    glueless_text = json.dumps(glueless, indent=2) + "\n"
    glueless_path.write_text(glueless_text)
    res = h.run([b, "check", str(glueless_path)])
    t.eq("check: an in-zone name server without an address exits 1", res.returncode, 1)
    gline, gcol = value_pos(glueless_text, '"ns2"')
    t.check("check: the error is at ns[1] and says why",
            f"glueless.json:{gline}:{gcol}: ns[1]: name server ns2.lb.example.test. is inside the "
            f"zone but has no A or AAAA record" in res.stderr, detail=res.stderr)

    bad_check = copy.deepcopy(h.LB_ZONE)
    bad_check["checks"] = {"web": {"type": "http", "paths": ["healthz"]},
                           "web2": {"type": "tcp", "port": 80}}
    bad_check["pools"]["www"]["check"] = "web"
    bad_check_path = tmp / "bad-check.json"
    bad_check_path.write_text(json.dumps(bad_check, indent=2) + "\n")
    res = h.run([b, "check", str(bad_check_path)])
    lines = [l for l in res.stderr.splitlines() if l.startswith(str(bad_check_path))]
    t.eq("check: an invalid check is one problem, not one more at the pool naming it",
         [re.sub(r"^.*?: ", "", l, count=1) for l in lines],
         ['checks.web.paths[0]: bad path "healthz" (must start with "/")'])

    comma_path = tmp / "comma.json"
    comma_path.write_text('{\n  "zone": "comma.test.",\n  "ns": ["ns1.example.net."],\n}\n')
    res = h.run([b, "check", str(comma_path)])
    t.check("check: a trailing comma is named, at the comma",
            'comma.json:3:29: trailing comma before "}"' in res.stderr, detail=res.stderr)
    comment_path = tmp / "comment.json"
    comment_path.write_text('// lb zone\n{"zone": "comment.test."}\n')
    res = h.run([b, "check", str(comment_path)])
    t.check("check: a comment is named", "comment.json:1:1: comments are not allowed in JSON"
            in res.stderr, detail=res.stderr)
    t.check("check: no nlohmann exception names", "json.exception" not in res.stderr,
            detail=res.stderr)

    srv = t.start_server({"md.example.test.json": warned_text}, ready_name="md.example.test.",
                         name="warned")
    r = srv.query("docs.md.example.test.", "CNAME")
    t.check("a zone with warnings is served", r is not None and r.rcode() == 0, resp=r)
    log = srv.stderr()
    t.check("the server logs warnings at level=warn with FILE:LINE:COL: json.path: warning:",
            re.search(r'level=warn msg="zone file warning" warning="[^"]*md\.example\.test\.json:'
                      r'\d+:\d+: pools\.www\.ttl: warning: 3600 s', log), detail=log)
    t.eq("warned server exits 0 on SIGTERM", srv.stop(), 0)

    # ---- serving a directory with one good and one broken zone ----------------------------
    srv = t.start_server({"lb.example.test.json": h.LB_ZONE, "broken.json": broken_text,
                          "syntax.json": syntax.read_text()}, ready_name=LB, name="mixed-dir")
    r = srv.query("static." + LB, "A")
    t.expect(r, "good zone served next to broken files", rcode="NOERROR", aa=True,
             answer=[f"static.{LB} 600 A 192.0.2.100"])
    r = srv.query("broken.test.", "SOA")
    t.expect(r, "the broken zone is not served: REFUSED", rcode="REFUSED")
    log = srv.stderr()
    t.check("server log has broken.json:LINE:COL: pools.www.members[0].address",
            re.search(rf"broken\.json:{line}:{col}: pools\.www\.members\[0\]\.address: ", log),
            detail=log)
    t.check("server log has syntax.json:3:COL: for the syntax error",
            re.search(r"syntax\.json:3:\d+: ", log), detail=log)
    code = srv.stop()
    t.eq("mixed-dir server exits 0 on SIGTERM", code, 0)

    # `serve` spelled out
    srv = t.start_server([h.LB_ZONE], name="serve-subcommand", subcommand="serve", threads=1)
    t.expect(srv.query(LB, "SOA"), "`steerdns serve --zones ...` answers", rcode="NOERROR",
             aa=True)

    # ---- IPv6 ----------------------------------------------------------------------------
    if not h.ipv6_loopback_available():
        t.skip("--listen [::1]:PORT", "::1 is not configured on this host")
    else:
        v6 = t.start_server([h.LB_ZONE], host="::1", name="ipv6")
        r = v6.query("www." + LB, "AAAA")
        t.expect(r, "--listen [::1]:PORT, UDP", rcode="NOERROR", aa=True,
                 answer=[f"www.{LB} 30 AAAA 2001:db8::10"])
        r = v6.query("static." + LB, "A", tcp=True)
        t.expect(r, "--listen [::1]:PORT, TCP", rcode="NOERROR", aa=True,
                 answer=[f"static.{LB} 600 A 192.0.2.100"])
        res = h.run(["dig", "@::1", "-p", str(v6.port), "+short", "static." + LB])
        t.eq("dig @::1 static A", res.stdout.strip(), "192.0.2.100")
        r = v6.query("static." + LB, "A", ecs="2001:db8::/32")
        t.check("ECS over IPv6 transport echoed", lambda: any(o.otype == 8 for o in r.options), r)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.3)
            s.sendto(h.make_query(LB, "SOA").to_wire(), ("127.0.0.1", v6.port))
            try:
                s.recv(4096)
                leaked = True
            except (socket.timeout, ConnectionRefusedError):
                leaked = False
        t.check("an [::1] server does not answer on 127.0.0.1", not leaked)

    # ---- ports already in use -------------------------------------------------------------
    zdir = tmp / "zones"
    zdir.mkdir()
    (zdir / "lb.example.test.json").write_text(json.dumps(h.LB_ZONE, indent=2))
    for kind in ("udp", "tcp"):
        port = h.free_port()
        holder = socket.socket(socket.AF_INET,
                               socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
        holder.bind(("127.0.0.1", port))
        if kind == "tcp":
            holder.listen(1)
        code, err = start_expecting_failure(b, ["--zones", str(zdir), "--listen",
                                                f"127.0.0.1:{port}", "--threads", "2"])
        holder.close()
        t.check(f"{kind} port held by another socket: the server exits non-zero",
                code is not None and code != 0, detail=f"exit code {code} (None = kept running)\n{err}")
        t.check(f"{kind} port held: a clear error naming the address",
                f"127.0.0.1:{port}" in err and "in use" in err.lower(), detail=err)

    first = t.start_server([h.LB_ZONE], name="first-instance", threads=1)
    # The second instance serves different data for static, so answers show who replied.
    other = h.lb_zone()
    other["records"] = [r if not r.startswith("static ") else "static 600 A 203.0.113.1"
                        for r in other["records"]]
    second = h.Server(b, [other], threads=1, port=first.port, name="second-instance", wait=False)
    second.ready_name = None
    second.start()
    try:
        code = second.proc.wait(5)
    except subprocess.TimeoutExpired:
        code = None
    evidence = ""
    if code is None:
        hijacked = 0
        for i in range(20):  # new source port each time: SO_REUSEPORT hashes them apart
            r = first.query("static." + LB, "A", timeout=1.0)
            hijacked += r is not None and "203.0.113.1" in h.addresses(r)
        evidence = (f"it kept running for 5 s on 127.0.0.1:{first.port}; {hijacked} of 20 queries "
                    f"to that port were answered by the second instance")
        second.stop()
    err = second.stderr()
    t.check("a second steerdns on the port of a running one exits non-zero",
            code is not None and code != 0, detail=f"exit code {code}; {evidence}\n{err}")
    t.check("second instance: a clear error naming the address",
            f"127.0.0.1:{first.port}" in err and "in use" in err.lower(), detail=err)
    second.cleanup()
    t.check_alive(first, "a second instance tried its port")

    # ---- bad arguments --------------------------------------------------------------------
    for args, what in ((["--listen", "127.0.0.1"], "--listen without a port"),
                       (["--listen", "not-an-address:53"], "--listen with a bad address"),
                       (["--threads", "0"], "--threads 0")):
        code, err = start_expecting_failure(b, ["--zones", str(zdir)] + args, timeout=3.0)
        t.check(f"{what}: exits non-zero with a message", code not in (None, 0) and err.strip(),
                detail=f"exit code {code}\n{err}")
