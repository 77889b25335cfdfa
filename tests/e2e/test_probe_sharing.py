#!/usr/bin/python3
"""Probes are shared: 10 zones whose pools hold the same 1 000 members behind the same check
are 1 000 probes per interval, not 10 000 (issue 17: a backend named in several pools or zones
is probed once). The members are loopback addresses on a port nothing listens on, so every
probe is an immediate "connection refused"; the rate of probe results in /metrics over a few
seconds shows how many targets are being probed."""

import re
import socket
import sys
import time
import urllib.request

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import backends as b  # noqa: E402
import harness as h  # noqa: E402

ZONES, MEMBERS, INTERVAL = 10, 1000, 1.0


def closed_port():
    """A port on 127.3.0.1 that nothing listens on: bound and closed again."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.3.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def zone(k, port):
    members = [{"address": f"127.3.{i // 250}.{i % 250 + 1}"} for i in range(MEMBERS)]
    return {"zone": f"z{k}.example.test.", "ttl": 60,
            "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1},
            "ns": ["ns1"], "records": ["ns1 A 127.0.0.1"],
            # The same check in every zone (by value, under a name of each zone's own): the
            # probe key is the address and the check's definition, not the zone.
            "checks": {f"tcp{k}": {"type": "tcp", "port": port, "interval": INTERVAL,
                                   "timeout": 0.5, "rise": 1, "fall": 1}},
            "pools": {"www": {"check": f"tcp{k}", "members": members}}}


def failures(srv):
    with urllib.request.urlopen(srv.control_url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    m = re.search(r'^steerdns_probe_results_total\{type="tcp",outcome="failure"\} (\d+)', text,
                  re.M)
    return int(m.group(1)) if m else 0


with h.Test("probe sharing") as t:
    port = closed_port()
    srv = t.start_server([zone(k, port) for k in range(ZONES)])
    probes = [int(n) for n in re.findall(r'msg="health probes" probes=(\d+)', srv.stderr())]
    t.eq(f"{ZONES} zones x {MEMBERS} shared members: {MEMBERS} probes", max(probes, default=0),
         MEMBERS)
    # Every member probed down once (a first round), then measure a window of whole rounds.
    h.poll(lambda: failures(srv), lambda n: n >= MEMBERS, timeout=10 * b.SCALE)
    t0, n0 = time.monotonic(), failures(srv)
    time.sleep(3 * INTERVAL * b.SCALE)
    t1, n1 = time.monotonic(), failures(srv)
    rounds = (t1 - t0) / INTERVAL
    per_round = (n1 - n0) / rounds
    print(f"# {n1 - n0} probe results in {t1 - t0:.2f} s: {per_round:.0f} per interval "
          f"({ZONES * MEMBERS} if each zone probed its own)")
    # Within a factor of 1.5 of one probe per member per interval (rounds straddle the
    # window's edges), far below the ten times that unshared probes would be.
    t.check("about one probe per shared member per interval",
            MEMBERS * 0.5 <= per_round <= MEMBERS * 1.5, detail=f"{per_round:.0f}")
    t.check("every zone still answers (the members are all down: the fallback answers all)",
            all(h.query(f"www.z{k}.example.test.") is not None for k in range(ZONES)))
