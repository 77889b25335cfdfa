#!/usr/bin/python3
"""Drains that know when they are done: a member drained through the API is `draining` until
the pool's TTL has passed since it left the answers (its safe_to_remove_at), then `drained`;
/status, steerdns_member_draining and `steerdns status --wait-drained` follow it, and a deploy
script's wait ends in time, or at its timeout."""

import json
import re
import sys
import time
import urllib.request

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402

LB = "lb.example.test."
TOKEN = "drain-lifecycle-token"
TTL = 3  # the pool's TTL: how long resolvers may hold an answer with the member


def get(srv, path):
    with urllib.request.urlopen(srv.control_url + path, timeout=5) as r:
        return r.read().decode()


def member(srv, address):
    doc = json.loads(get(srv, f"/status?zone={LB}&pool=www"))
    for m in doc["zones"][0]["pools"][0]["members"]:
        if m["address"] == address:
            return m
    return None


def draining_gauge(srv, address):
    m = re.search(r'steerdns_member_draining\{zone="%s",pool="www",address="%s"\} (\d+)'
                  % (re.escape(LB), re.escape(address)), get(srv, "/metrics"))
    return int(m.group(1)) if m else None


with h.Test("drain lifecycle") as t:
    tmp = t.tempdir("steerdns-e2e-drainlife-")
    (tmp / "token").write_text(TOKEN + "\n")
    zone = h.lb_zone()
    zone["pools"]["www"]["ttl"] = TTL
    srv = t.start_server([zone], extra_args=["--control-token-file", str(tmp / "token")])
    ctl = f"127.0.0.1:{srv.control_port}"
    t.eq("before: up, not draining", (member(srv, "192.0.2.11")["state"],
                                       draining_gauge(srv, "192.0.2.11")), ("up", 0))

    req = urllib.request.Request(
        srv.control_url + "/drain", method="POST",
        data=json.dumps({"zone": LB, "pool": "www", "address": "192.0.2.11"}).encode(),
        headers={"Authorization": f"Bearer {TOKEN}"})
    drained_at = time.time()
    t.eq("POST /drain", urllib.request.urlopen(req, timeout=5).status, 200)
    answers = set()
    for _ in range(10):
        answers |= set(h.addresses(srv.query("www." + LB, "A")))
    t.check("out of the answers at once", "192.0.2.11" not in answers, detail=str(answers))
    m = member(srv, "192.0.2.11")
    t.eq("right after: draining, by the API", (m["state"], m["drained"], m["drained_by"]),
         ("draining", True, "api"))
    safe = m.get("safe_to_remove_at")
    t.check("safe_to_remove_at: the drain plus the pool's TTL",
            safe is not None and abs(time.mktime(time.strptime(safe, "%Y-%m-%dT%H:%M:%SZ"))
                                     - time.timezone - (drained_at + TTL)) <= 2, detail=str(m))
    t.eq("steerdns_member_draining 1", draining_gauge(srv, "192.0.2.11"), 1)
    res = h.run([t.binary, "status", "--control", ctl])
    t.check("steerdns status says draining and the time left",
            re.search(r"192\.0\.2\.11 +draining \(api, \d+s left\)", res.stdout) is not None,
            detail=res.stdout)

    res = h.run([t.binary, "status", "--control", ctl, "--wait-drained", LB, "www",
                 "192.0.2.11", "--timeout", "0.2"])
    t.eq("--wait-drained with a timeout shorter than the TTL: exit 1", res.returncode, 1)
    t.check("... and says it is still draining", "still draining" in res.stderr,
            detail=res.stdout + res.stderr)

    started = time.monotonic()
    res = h.run([t.binary, "status", "--control", ctl, "--wait-drained", LB, "www",
                 "192.0.2.11", "--timeout", "30"], timeout=40)
    waited = time.monotonic() - started
    t.eq("--wait-drained: exit 0 once drained", res.returncode, 0)
    t.check(f"... after the TTL, not much later (waited {waited:.1f} s)",
            time.time() - drained_at >= TTL - 1 and waited <= TTL + 3, detail=res.stdout)
    t.check("... printing the way there", "192.0.2.11: draining, safe to remove in" in res.stdout
            and "192.0.2.11: drained" in res.stdout, detail=res.stdout)
    t.eq("then: drained, gauge 0", (member(srv, "192.0.2.11")["state"],
                                    draining_gauge(srv, "192.0.2.11")), ("drained", 0))
    t.check("?state=drained lists it, ?state=draining no more",
            "192.0.2.11" in get(srv, f"/status?zone={LB}&state=drained")
            and "192.0.2.11" not in get(srv, f"/status?zone={LB}&state=draining"))

    res = h.run([t.binary, "status", "--control", ctl, "--wait-drained", LB, "www",
                 "192.0.2.99"])
    t.check("--wait-drained on an unknown member: exit 1, says so",
            res.returncode == 1 and "member 192.0.2.99 not found" in res.stderr,
            detail=res.stderr)
    res = h.run([t.binary, "status", "--control", ctl, "--wait-drained", LB, "www"])
    t.eq("--wait-drained needs three values: exit 2", res.returncode, 2)

