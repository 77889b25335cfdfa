#!/usr/bin/python3
"""The query log: off by default; --query-log PATH writes one logfmt line per query with the
client, transport, name, type, rcode, answer count, first address, TC and ECS; `-` writes to
stderr between whole log lines; --query-log-sample N logs about 1 query in N; SIGHUP reopens
the file (log rotation); a path that cannot be opened fails the start clearly."""

import re
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402
from backends import wait_until  # noqa: E402

LB = "lb.example.test."
PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def parse(line):
    """A logfmt line as a dict; None if the line is not entirely key=value pairs."""
    fields, pos = {}, 0
    for m in PAIR.finditer(line):
        if line[pos:m.start()].strip():
            return None
        v = m.group(2)
        fields[m.group(1)] = v[1:-1] if v.startswith('"') else v
        pos = m.end()
    return fields if not line[pos:].strip() else None


def query_lines(text):
    return [parse(l) for l in text.splitlines() if " msg=query " in l]


def read(path):
    try:
        return path.read_text()
    except OSError:
        return ""


def wait_lines(path, pred, timeout=3.0):
    """The query lines of `path` once pred(lines) holds (or whatever is there at the timeout)."""
    wait_until(lambda: pred(query_lines(read(path))), timeout)
    return query_lines(read(path))


with h.Test("query log") as t:
    # ---- off by default: nothing written anywhere -------------------------------------------
    srv = t.start_server([h.lb_zone()], threads=2)
    for _ in range(20):
        srv.query("www." + LB, "A")
    time.sleep(0.3)
    t.check("off by default: no query line on stderr", " msg=query " not in srv.stderr(),
            detail=srv.stderr()[-2000:])
    extra = sorted(p.name for p in srv.tmp.iterdir() if p.name not in
                   ("zones", "stderr.log", "stdout.log"))
    t.eq("off by default: no file written", extra, [])
    t.check("off by default: the start-up line says query_log=off",
            "query_log=off" in srv.stderr(), detail=srv.stderr()[-2000:])
    srv.stop()

    # ---- a file: every query, every field ---------------------------------------------------
    logdir = t.tempdir("steerdns-e2e-qlog-")
    path = logdir / "queries.log"
    srv = t.start_server([h.lb_zone()], threads=2, extra_args=["--query-log", str(path)])
    sock = srv.udp_socket()
    port = sock.getsockname()[1]
    r_a = srv.query("WwW." + LB, "A", sock=sock)
    r_ecs = srv.query("docs." + LB, "A", ecs="198.51.100.0/24", sock=sock)
    r_nx = srv.query("nope." + LB, "AAAA", sock=sock)
    r_ref = srv.query("example.org.", "MX", sock=sock)
    sock.close()
    r_tcp = srv.query("www." + LB, "AAAA", tcp=True)
    lines = wait_lines(path, lambda ls: any(l and l.get("transport") == "tcp" for l in ls))
    t.check("every line in the file is logfmt", lines and all(lines),
            detail=read(path)[-2000:])
    mine = [l for l in lines if l and l.get("port") == str(port)]
    t.eq("one line per query from our socket, in order",
         [(l.get("qname"), l.get("qtype"), l.get("rcode")) for l in mine],
         [("WwW.lb.example.test.", "A", "NOERROR"), ("docs.lb.example.test.", "A", "NOERROR"),
          ("nope.lb.example.test.", "AAAA", "NXDOMAIN"), ("example.org.", "MX", "REFUSED")])
    if len(mine) == 4:
        a, ecs, nx, ref = mine
        t.check("ts is an RFC 3339 UTC time with milliseconds",
                re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", a.get("ts", "")), detail=a)
        t.eq("client address", a.get("client"), "127.0.0.1")
        t.eq("transport udp", a.get("transport"), "udp")
        t.eq("answer count = records in the answer", int(a.get("answers", -1)),
             len(h.records(r_a.answer)) if r_a else None)
        t.eq("first = first address answered", a.get("first"),
             h.addresses(r_a)[0] if r_a and h.addresses(r_a) else None)
        t.eq("size = response bytes", int(a.get("size", -1)), r_a.wire_len if r_a else None)
        t.check("no tc, no ecs on a plain answer", "tc" not in a and "ecs" not in a, detail=a)
        t.eq("CNAME then pool: first address after the CNAME", ecs.get("first"),
             h.addresses(r_ecs)[0] if r_ecs and h.addresses(r_ecs) else None)
        t.eq("ECS as sent, and the scope answered", (ecs.get("ecs"), ecs.get("scope")),
             ("198.51.100.0/24", "0"))
        t.eq("NXDOMAIN: no answers, no first", (nx.get("answers"), nx.get("first")), ("0", None))
        t.eq("REFUSED for a name outside the zones", ref.get("rcode"), "REFUSED")
    tcp = [l for l in lines if l and l.get("transport") == "tcp"]
    t.eq("TCP query logged with transport=tcp and its AAAA",
         [(l.get("qname"), l.get("qtype"), l.get("first")) for l in tcp],
         [("www.lb.example.test.", "AAAA", "2001:db8::10")])

    # A response too big for 512 bytes without EDNS: TC.
    big = {"zone": "big.test.", "soa": {"mname": "ns1", "rname": "h", "serial": 1},
           "ns": ["ns1"], "records": ["ns1 A 192.0.2.1"],
           "pools": {"many": {"answers": 64, "members": h.members(
               *[f"198.51.100.{i}" for i in range(1, 61)])}}}
    srv.write_zones([big])

    def big_served():
        r = srv.query("ns1.big.test.", "A", timeout=0.5)
        return r is not None and bool(r.answer)

    t.check("a zone added while logging is served", wait_until(big_served, 5.0) is not None)
    r_tc = srv.query("many.big.test.", "A", edns=False)
    t.check("the big answer is truncated", r_tc is not None and bool(r_tc.flags & 0x0200), r_tc)
    lines = wait_lines(path, lambda ls: any(l and l.get("qname") == "many.big.test." for l in ls))
    tc = [l for l in lines if l and l.get("qname") == "many.big.test."]
    t.eq("TC shows as tc=1", [l.get("tc") for l in tc], ["1"])

    # ---- SIGHUP reopens the file: log rotation ----------------------------------------------
    rotated = logdir / "queries.log.1"
    path.rename(rotated)
    srv.proc.send_signal(signal.SIGHUP)
    t.check("after SIGHUP the log is reopened (logged)",
            wait_until(lambda: "query log reopened" in srv.stderr(), 3.0) is not None,
            detail=srv.stderr()[-1500:])
    srv.query("static." + LB, "A")
    lines = wait_lines(path, lambda ls: any(l and l.get("qname") == "static.lb.example.test."
                                            for l in ls))
    t.check("queries after the reopen go to the new file",
            any(l and l.get("qname") == "static.lb.example.test." for l in lines),
            detail=read(path)[-1000:])
    t.check("the rotated file is left alone",
            "static.lb.example.test." not in read(rotated))
    srv.stop()

    # ---- sampling: about 1 in N ------------------------------------------------------------
    path2 = logdir / "sampled.log"
    srv = t.start_server([h.lb_zone()], threads=2,
                         extra_args=["--query-log", str(path2), "--query-log-sample", "10"])
    n = 600
    socks = [srv.udp_socket() for _ in range(8)]  # several source ports: both workers get some
    answered = 0
    for i in range(n):
        if srv.query("www." + LB, "A", sock=socks[i % len(socks)]) is not None:
            answered += 1
    for s in socks:
        s.close()
    t.eq("every sampled-run query answered", answered, n)
    time.sleep(0.4)  # the writer flushes every 50 ms
    srv.stop()       # and writes what is left on the way out
    logged = [l for l in query_lines(read(path2)) if l and l.get("qname") == "www.lb.example.test."]
    # Each worker logs its first query and then every 10th: 60 plus at most one per worker.
    t.check(f"--query-log-sample 10: about 1 in 10 of {n} logged ({len(logged)})",
            n // 10 - 2 <= len(logged) <= n // 10 + 3, detail=f"{len(logged)} lines")

    # ---- stderr: whole lines between the log's own --------------------------------------
    srv = t.start_server([h.lb_zone()], threads=2, extra_args=["--query-log", "-"])
    for i in range(50):
        srv.query(f"n{i}." + LB, "A")
    srv.proc.send_signal(signal.SIGHUP)  # log lines from another thread meanwhile
    for i in range(50, 100):
        srv.query(f"n{i}." + LB, "A")
    wait_until(lambda: "qname=n99." in srv.stderr(), 3.0)
    text = srv.stderr()
    names = [l.get("qname") for l in query_lines(text) if l]
    t.eq("--query-log -: a line per query on stderr",
         sorted(x for x in names if x and x.startswith("n")),
         sorted(f"n{i}.lb.example.test." for i in range(100)))
    bad = [l for l in text.splitlines() if l and not l.startswith("ts=")]
    t.eq("stderr holds whole lines only (no interleaving)", bad, [])
    srv.stop()

    # ---- a path that cannot be opened ----------------------------------------------------
    p = subprocess.run([t.binary, "--zones", str(srv.zones_dir), "--listen",
                        f"127.0.0.1:{h.free_port()}", "--query-log", "/nonexistent/dir/q.log"],
                       capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    t.eq("an unopenable --query-log fails the start with exit code 1", p.returncode, 1)
    t.check("and names the path and the reason",
            "/nonexistent/dir/q.log: No such file or directory" in p.stderr, detail=p.stderr)
    p = subprocess.run([t.binary, "--zones", str(srv.zones_dir), "--query-log-sample", "0"],
                       capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    t.check("--query-log-sample 0 is refused", p.returncode != 0 and "query-log-sample" in p.stderr,
            detail=p.stderr)
