#!/usr/bin/python3
"""TTLs that follow health (issue 15, "ttl_degraded"): a pool probing two real HTTP backends
answers with its ttl while both pass, with its ttl_degraded while one answers 500, also when
every member is down and the pool fails open, and with its ttl again once they recover; `_why`
says which TTL and why."""

import json
import sys

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402
from backends import (DOWN_BOUND, TIMING, UP_BOUND, HttpBackend, common_port,  # noqa: E402
                      wait_until)

LB = "lb.example.test."
TTL, TTL_DEGRADED = 30, 3


def ip(n: int) -> str:
    return f"127.0.0.{n}"


def answer(srv, name="www." + LB):
    """(ttl, address) of every A record dig shows in the answer section."""
    res = h.run(["dig", "@127.0.0.1", "-p", str(srv.port), "+tries=1", "+time=3", "+noall",
                 "+answer", "A", name])
    out = []
    for line in res.stdout.splitlines():
        f = line.split()
        if len(f) == 5 and f[3] == "A":
            out.append((int(f[1]), f[4]))
    return sorted(out)


def trace(srv, name):
    res = h.run(["dig", "@127.0.0.1", "-p", str(srv.port), "+tries=1", "+time=3", "+short",
                 "TXT", "_why." + name])
    return [json.loads(line) for line in res.stdout.splitlines() if line.startswith('"')]


with h.Test("ttl_degraded") as t:
    addrs = [ip(71), ip(72)]
    port = common_port(addrs)
    backends = [HttpBackend(a, port, "ok", want_host=False) for a in addrs]
    for b in backends:
        b.start()
    try:
        z = h.lb_zone()
        z["checks"] = {"web": {"type": "http", "port": port, "paths": ["/healthz"],
                               "expect_status": [200], **TIMING}}
        z["pools"]["www"] = {"ttl": TTL, "ttl_degraded": TTL_DEGRADED, "check": "web",
                             "members": h.members(*addrs)}
        srv = t.start_server([z], extra_args=["--explain-from", "127.0.0.1/32"])
        both_healthy = [(TTL, ip(71)), (TTL, ip(72))]
        # Unknown counts as up, so wait for both first results: the trace says "up since".
        t.check("both members have passed a probe", wait_until(
            lambda: sum(1 for line in trace(srv, "www." + LB) if " up since " in line) == 2,
            DOWN_BOUND * 2) is not None, detail="\n".join(trace(srv, "www." + LB)))
        t.eq("all up: both members at the pool's ttl", answer(srv), both_healthy)

        backends[1].httpd.mode = "500"
        one_down = [(TTL_DEGRADED, ip(71))]
        took = wait_until(lambda: answer(srv) == one_down, DOWN_BOUND * 2)
        print(f"# one backend answering 500 -> ttl {TTL_DEGRADED} after "
              f"{'never' if took is None else f'{took:.2f} s'}")
        t.eq("one member down: the other alone, at ttl_degraded", answer(srv), one_down)
        lines = trace(srv, "www." + LB)
        t.check("_why names the degraded TTL and why",
                f"ttl {TTL_DEGRADED} (ttl_degraded of pool www: 1 of 2 down)" in lines,
                detail="\n".join(lines))

        backends[0].httpd.mode = "500"
        fail_open = [(TTL_DEGRADED, ip(71)), (TTL_DEGRADED, ip(72))]
        t.check("every member down: failing open, still at ttl_degraded",
                wait_until(lambda: answer(srv) == fail_open, DOWN_BOUND * 2) is not None,
                detail=str(answer(srv)))
        lines = trace(srv, "www." + LB)
        t.check("_why: the degraded TTL of a pool failing open",
                f"ttl {TTL_DEGRADED} (ttl_degraded of pool www: failing open)" in lines,
                detail="\n".join(lines))

        for b in backends:
            b.httpd.mode = "ok"
        took = wait_until(lambda: answer(srv) == both_healthy, UP_BOUND * 2)
        print(f"# both backends healthy again -> ttl {TTL} after "
              f"{'never' if took is None else f'{took:.2f} s'}")
        t.eq("recovered: both members at the pool's ttl again", answer(srv), both_healthy)
        t.check("_why: the pool's ttl again", f"ttl {TTL} (pool www)" in trace(srv, "www." + LB))
    finally:
        for b in backends:
            b.stop()
