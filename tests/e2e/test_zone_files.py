#!/usr/bin/python3
"""Two files defining one zone (issue 13): the first in name order serves and `check` names
the same one; the other is a rejected file like any other (/status rejected_files, `steerdns
status`, steerdns_zone_file_rejected with a series per file); when the serving file is
deleted the other takes over in the same reload, and the zone never answers REFUSED."""

import shutil
import signal
import sys
import time
import json
import socket
import urllib.request

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402

LB = "lb.example.test."


def get(srv, path):
    with urllib.request.urlopen(f"{srv.control_url}{path}", timeout=5) as r:
        body = r.read().decode()
    return json.loads(body) if path.startswith("/status") else body


def wait_until(fn, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return None


def two_files(t) -> None:
    zone = h.lb_zone()
    srv = t.start_server({"a.json": zone}, threads=1)
    a, b = srv.zones_dir / "a.json", srv.zones_dir / "b.json"
    shutil.copy(a, b)

    def rejected():
        return [f["file"] for f in get(srv, "/status")["rejected_files"]]
    # Within the 5 s scan, should the copy come before the directory watch started.
    t.check("the copy is listed under rejected_files within 7 s",
            wait_until(lambda: rejected() == [str(b)], 7) is not None,
            detail=get(srv, "/status")["rejected_files"])
    status = get(srv, "/status")
    t.eq("a.json serves", [z["file"] for z in status["zones"]], [str(a)])
    t.check("the copy's error names the file serving the zone",
            any(str(a) in e for f in status["rejected_files"] for e in f["errors"]),
            detail=status["rejected_files"])
    metrics = get(srv, "/metrics")
    t.check("steerdns_zone_file_rejected: 1 for the copy",
            f'steerdns_zone_file_rejected{{zone="{LB}",file="{b}"}} 1' in metrics,
            detail=[line for line in metrics.splitlines() if "file_rejected" in line])
    t.check("steerdns_zone_file_rejected: 0 for the serving file",
            f'steerdns_zone_file_rejected{{zone="{LB}",file="{a}"}} 0' in metrics)
    st = h.run([srv.binary, "status", "--control", f"127.0.0.1:{srv.control_port}"])
    t.check("`steerdns status` lists the copy as not served",
            f"not served: {b}" in st.stdout, detail=st.stdout + st.stderr)

    chk = h.run([srv.binary, "check", str(srv.zones_dir)])
    t.eq("check: exit 1", chk.returncode, 1)
    t.check("check: a.json ok, b.json the problem (the server's choice)",
            f"{a}: ok" in chk.stdout and f"{b}: zone {LB}" in chk.stderr and
            f"{a}: zone" not in chk.stderr, detail=chk.stdout + chk.stderr)

    # Delete the serving file: b.json takes over in the same reload; never REFUSED.
    a.unlink()
    rcodes = set()
    deadline = time.monotonic() + 6.5  # past the 5 s scan
    while time.monotonic() < deadline:
        r = srv.query(LB, "SOA", timeout=0.5)
        rcodes.add(None if r is None else r.rcode())
        time.sleep(0.05)
    t.eq("the zone answered NOERROR throughout", rcodes, {0})
    status = get(srv, "/status")
    t.eq("b.json serves", [z["file"] for z in status["zones"]], [str(b)])
    t.eq("no file rejected any more", status["rejected_files"], [])
    t.check_alive(srv, "server alive")


def since_kept(t) -> None:
    # A health-checked pool too: 127.0.0.1 listens on the check's port (up), 127.0.0.2 does
    # not (down), so both a probed up and a probed down member must keep their since.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    zone = h.lb_zone(extra_pools={"chk": {"check": "port", "ttl": 30, "members": [
        {"address": "127.0.0.1"}, {"address": "127.0.0.2"}]}})
    # fall 3: one probe slowed by a loaded machine must not move a since this test watches.
    zone["checks"] = {"port": {"type": "tcp", "port": port, "interval": 1, "timeout": 0.9,
                               "rise": 2, "fall": 3}}
    srv = t.start_server({"lb.json": zone}, threads=1)

    def checked_states():
        # Only members with a probe result: before its first, a member shows up since the load.
        return {m["address"]: m["state"] for z in get(srv, "/status")["zones"]
                for p in z["pools"] if p["name"] == "chk" for m in p["members"]
                if m["last_probe"] is not None}
    t.check("the checked members settle: 127.0.0.1 up, 127.0.0.2 down",
            wait_until(lambda: checked_states() == {"127.0.0.1": "up", "127.0.0.2": "down"},
                       5) is not None, detail=checked_states())

    def since():
        return {(p["name"], m["address"]): m["since"] for z in get(srv, "/status")["zones"]
                for p in z["pools"] for m in p["members"]}

    def loaded_at():
        return [z["loaded_at"] for z in get(srv, "/status")["zones"]]
    first, first_loaded = since(), loaded_at()
    t.check("every member has a since", first and all(first.values()), detail=first)
    time.sleep(1.1)  # since is shown to the second at least: a new one would differ
    srv.proc.send_signal(signal.SIGHUP)
    t.check("SIGHUP reloads the file (loaded_at moves)",
            wait_until(lambda: loaded_at() != first_loaded, 3) is not None)
    t.eq("after SIGHUP: every since kept", since(), first)
    edited = json.loads(json.dumps(zone))
    edited["records"].append("extra 300 A 192.0.2.99")
    (srv.zones_dir / "lb.json").write_text(json.dumps(edited, indent=2) + "\n")
    t.check("an edit elsewhere in the file is served",
            wait_until(lambda: (r := srv.query("extra." + LB, "A", timeout=0.3)) is not None
                       and r.answer, 3) is not None)
    t.eq("after an edit elsewhere: every since kept", since(), first)
    (srv.zones_dir / "lb.json").rename(srv.zones_dir / "renamed.json")
    t.check("the renamed file serves",
            wait_until(lambda: [z["file"] for z in get(srv, "/status")["zones"]] ==
                       [str(srv.zones_dir / "renamed.json")], 8) is not None)
    t.eq("after a rename: every since kept", since(), first)
    edited["pools"]["www"]["members"][0]["enabled"] = False
    (srv.zones_dir / "renamed.json").write_text(json.dumps(edited, indent=2) + "\n")
    addr = edited["pools"]["www"]["members"][0]["address"]
    t.check("a member disabled in the file: its since moves, the others' stay",
            wait_until(lambda: (s := since())[("www", addr)] != first[("www", addr)] and
                       all(v == first[k] for k, v in s.items() if k != ("www", addr)), 3)
            is not None, detail=since())
    listener.close()


def drain_ends(t) -> None:
    token = t.tempdir("steerdns-e2e-token-") / "token"
    token.write_text("zf-token\n")
    zone = h.lb_zone()
    srv = t.start_server({"lb.json": zone}, threads=1,
                         extra_args=["--control-token-file", str(token)])
    gone = "192.0.2.12"
    req = urllib.request.Request(
        f"{srv.control_url}/drain", method="POST",
        data=json.dumps({"zone": LB, "pool": "www", "address": gone}).encode(),
        headers={"Authorization": "Bearer zf-token"})
    t.eq("drain 192.0.2.12", urllib.request.urlopen(req, timeout=5).status, 200)
    state = srv.zones_dir / ".steerdns-state.json"
    t.check("the state file holds the drain", gone in state.read_text())

    def member_state():
        return {m["address"]: m["state"] for z in get(srv, "/status")["zones"]
                for p in z["pools"] for m in p["members"]}
    without = h.lb_zone()
    without["pools"]["www"]["members"] = [m for m in without["pools"]["www"]["members"]
                                          if m["address"] != gone]
    (srv.zones_dir / "lb.json").write_text(json.dumps(without, indent=2) + "\n")
    t.check("the member leaves the file and /status",
            wait_until(lambda: gone not in member_state(), 3) is not None)
    t.check("the drain is gone from the state file",
            wait_until(lambda: gone not in state.read_text(), 2) is not None,
            detail=state.read_text())
    t.check("the log says the drain was dropped",
            "drain dropped" in srv.stderr() and gone in srv.stderr())
    (srv.zones_dir / "lb.json").write_text(json.dumps(zone, indent=2) + "\n")
    t.check("re-added, the member is up, not drained",
            wait_until(lambda: member_state().get(gone) == "up", 3) is not None,
            detail=member_state())
    t.check("it answers again",
            wait_until(lambda: any(gone in h.addresses(r) for _ in range(8)
                                   if (r := srv.query("www." + LB, "A", timeout=0.3))), 3)
            is not None)


def main() -> None:
    with h.Test("zone files: several files for a zone, since, drains of removed members") as t:
        two_files(t)
        since_kept(t)
        drain_ends(t)


if __name__ == "__main__":
    main()
