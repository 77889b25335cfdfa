#!/usr/bin/python3
"""`steerdns status` with several --control (and --control-file): two servers of one zone, one of
which cannot reach a backend (an exec check reading a file in that server's working directory):
the merged table marks the member, exit 3; all agree, exit 0; a server down, exit 1. /status
carries the NSID and the zone file's SHA-256 (= sha256sum), /metrics build_info the NSID."""

import hashlib
import json
import sys
import urllib.request

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402

ZONE = {
    "zone": "lb.example.test.", "ttl": 60,
    "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 2026120601},
    "ns": ["ns1", "ns2"], "records": ["ns1 A 192.0.2.53", "ns2 A 198.51.100.53"],
    # Each server runs its checks in its own working directory (the harness's temp dir).
    "checks": {"site": {"type": "exec", "command": ["/bin/sh", "-c", "test ! -e blocked-{address}"],
                        "interval": 0.5, "timeout": 0.4, "rise": 1, "fall": 1}},
    "pools": {"www": {"check": "site", "ttl": 30,
                      "members": [{"address": "192.0.2.10"}, {"address": "192.0.2.11"}]}},
}


def status(t, *args):
    return h.run([t.binary, "status", *args])


with h.Test("status of several servers") as t:
    a = t.start_server([ZONE], extra_args=["--nsid", "ns1"], name="ns1")
    b = t.start_server([ZONE], extra_args=["--nsid", "ns2"], name="ns2")
    (b.tmp / "blocked-192.0.2.11").write_text("")
    ca, cb = f"127.0.0.1:{a.control_port}", f"127.0.0.1:{b.control_port}"

    p = h.poll(lambda: status(t, "--control", ca, "--control", cb),
               lambda r: r.returncode == 3, timeout=10)
    t.eq("one server cannot reach 192.0.2.11: exit 3", p.returncode, 3)
    t.check("the member is marked with that server's reason",
            "192.0.2.11  up" in p.stdout and f"differs; {cb}: exec: exit 1" in p.stdout,
            detail=p.stdout + p.stderr)
    t.check("the summary counts it", "2 members on 2 servers: 1 agree, 1 differs" in p.stdout,
            detail=p.stdout)
    sha = hashlib.sha256((a.zones_dir / "lb.example.test.json").read_bytes()).hexdigest()
    t.check("the zone's serial and hash agree",
            f"zone lb.example.test.: serial 2026120601 sha256 {sha[:16]} on every server"
            in p.stdout, detail=p.stdout)

    doc = json.load(urllib.request.urlopen(a.control_url + "/status", timeout=5))
    t.eq("/status: nsid", doc.get("nsid"), "ns1")
    t.eq("/status: file_sha256 is sha256sum of the file", doc["zones"][0].get("file_sha256"), sha)
    metrics = urllib.request.urlopen(b.control_url + "/metrics", timeout=5).read().decode()
    t.check("/metrics: build_info carries the nsid",
            'steerdns_build_info{version="' in metrics and ',nsid="ns2"} 1' in metrics)

    (b.tmp / "blocked-192.0.2.11").unlink()
    p = h.poll(lambda: status(t, "--control", ca, "--control", cb),
               lambda r: r.returncode == 0, timeout=10)
    t.eq("all agree again: exit 0", p.returncode, 0)
    t.check("no member marked", "differs" not in p.stdout, detail=p.stdout)

    listing = t.tempdir() / "servers"
    dead = f"127.0.0.1:{h.free_port()}"
    listing.write_text(f"# the NS set\n{ca}\n{cb}  # ns2\n{dead}\n")
    p = status(t, "--control-file", str(listing))
    t.eq("--control-file with a server down: exit 1", p.returncode, 1)
    t.check("the server that did not answer is listed", f"not answering: {dead}: " in p.stdout,
            detail=p.stdout)
    t.check("the others still in the table", ca in p.stdout and cb in p.stdout, detail=p.stdout)
    listing.write_text("127.0.0.1:8053\nnot an address\n")
    p = status(t, "--control-file", str(listing))
    t.eq("a bad line: exit 2", p.returncode, 2)
    t.check("located FILE:LINE", f"{listing}:2: " in p.stderr, detail=p.stderr)
    p = status(t, "--control", ca, "--control", cb, "--wait-drained", "lb.example.test.", "www",
               "192.0.2.10")
    t.eq("--wait-drained with two servers: exit 2", p.returncode, 2)
