#!/usr/bin/python3
"""--user: started as root on a privileged loopback port with --user nobody, the daemon runs as
nobody (every uid/gid, no capability left, in every thread), answers, reloads an edited zone and
keeps probing backends (a tcp check sees a killed backend go) and runs the notify program as
nobody. Started as nobody with only CAP_NET_BIND_SERVICE (setpriv), --user nobody is a no-op
and --user daemon a clear error; an unknown user and a zones directory the user cannot read are
clear errors too.

Needs root (it is how CI runs); without it, it says so and checks nothing else."""

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402
from backends import DOWN_BOUND, SCALE, TIMING, HttpBackend, common_port, wait_until  # noqa: E402

LB = "lb.example.test."


def privileged_port(host="127.0.0.1"):
    """A port below 1024 where UDP and TCP both bind on `host` now, reserved like free_port."""
    for port in list(range(853, 1024)) + list(range(600, 853)):
        ok = True
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind((host, port))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok and h._reserve(port):
            return port
    raise RuntimeError("no free port below 1024")


def status_fields(pid):
    """/proc/PID/status as {key: value}, and the same for every thread."""
    def read(path):
        out = {}
        with open(path) as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k] = v.split()
        return out
    tasks = [read(f"/proc/{pid}/task/{tid}/status") for tid in os.listdir(f"/proc/{pid}/task")]
    return read(f"/proc/{pid}/status"), tasks


def open_to_all(srv):
    """The daemon reads zones as nobody: make its temp dirs and files world-readable."""
    for d in (srv.tmp, srv.zones_dir):
        os.chmod(d, 0o755)
    for f in srv.zones_dir.iterdir():
        os.chmod(f, 0o644)


def run(cmd, timeout=10):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


with h.Test("privileges") as t:
    if os.geteuid() != 0:
        t.skip("--user as root", "not running as root")
    else:
        nobody = pwd.getpwnam("nobody")
        # ---- root, --user nobody, port below 1024, tcp checks to local backends ------------
        backends_addrs = ["127.0.0.2", "127.0.0.3"]
        bport = common_port(backends_addrs)
        backends = {a: HttpBackend(a, bport, want_host=False) for a in backends_addrs}
        for b in backends.values():
            b.start()
        zone = h.lb_zone(extra_pools={"app": {
            "check": "port", "members": h.members(*backends_addrs)}})
        zone["checks"] = {"port": dict(TIMING, type="tcp", port=bport)}
        # The notify program runs as the --user account too: it writes its uid.
        notify_dir = t.tempdir("steerdns-e2e-notify-")
        os.chmod(notify_dir, 0o777)
        notify_script = notify_dir / "on-change"
        notify_script.write_text(f"#!/bin/sh\necho \"$(id -u) $1 $2 $3\" >> {notify_dir}/ran\n")
        os.chmod(notify_script, 0o755)
        zone["notify"] = [str(notify_script), "{pool}", "{address}", "{state}"]
        port = privileged_port()
        srv = h.Server(t.binary, [zone], wait=False, name="as-nobody", port=port,
                       extra_args=["--user", "nobody"])
        t.servers.append(srv)
        open_to_all(srv)
        try:
            srv.start()
            started = True
        except h.StartError as e:
            t.fail("starts as root with --user nobody on a port below 1024", str(e))
            started = False
        if started:
            t.check(f"listening on privileged port {port}", port < 1024)
            main, tasks = status_fields(srv.proc.pid)
            want_uid = [str(nobody.pw_uid)] * 4
            want_gid = [str(nobody.pw_gid)] * 4
            t.eq("Uid: real, effective, saved, fs = nobody", main.get("Uid"), want_uid)
            t.eq("Gid: real, effective, saved, fs = nobody's group", main.get("Gid"), want_gid)
            t.check("no supplementary group but nobody's own",
                    set(main.get("Groups", [])) <= {str(nobody.pw_gid)}, detail=main.get("Groups"))
            t.eq("no capability left (CapPrm, CapEff)",
                 (main.get("CapPrm"), main.get("CapEff")), (["0" * 16], ["0" * 16]))
            t.check(f"every thread ({len(tasks)}) runs as nobody",
                    len(tasks) > 1 and all(x.get("Uid") == want_uid and x.get("Gid") == want_gid
                                           for x in tasks),
                    detail=[x.get("Uid") for x in tasks])
            log = srv.stderr()
            t.check("the drop is logged with the user, uid and gid",
                    f"msg=\"dropped privileges\" user=nobody uid={nobody.pw_uid} "
                    f"gid={nobody.pw_gid}" in log, detail=log[-2000:])
            t.check("the start-up line names the user", "user=nobody" in log, detail=log[-2000:])

            r = srv.query("www." + LB, "A")
            t.expect(r, "answers as nobody", rcode="NOERROR", answer_count=2)
            def app_addresses():
                r = srv.query("app." + LB, "A", timeout=0.5)
                return h.addresses(r) if r is not None else []

            both = wait_until(lambda: set(app_addresses()) == set(backends_addrs), 5.0 * SCALE)
            t.check("probes as nobody: both backends up and answered", both is not None)

            # Reload: the edited file is read by nobody.
            zone2 = h.lb_zone(extra_records=["added A 192.0.2.77"], extra_pools=zone["pools"])
            zone2["checks"] = zone["checks"]
            zone2["notify"] = zone["notify"]
            zone2["soa"]["serial"] += 1
            srv.write_zones([zone2])
            os.chmod(srv.zones_dir / "lb.example.test.json", 0o644)

            def added():
                r = srv.query("added." + LB, "A", timeout=0.5)
                return r is not None and h.addresses(r) == ["192.0.2.77"]
            t.check("an edited zone is reloaded as nobody", wait_until(added, 5.0) is not None,
                    detail=srv.stderr()[-1500:])

            # Health: a killed backend leaves the answers.
            backends["127.0.0.2"].stop()

            took = wait_until(lambda: app_addresses() == ["127.0.0.3"], DOWN_BOUND + 2)
            t.check("probes still run as nobody: the killed backend leaves the answers",
                    took is not None, detail=srv.stderr()[-1500:])
            t.check("and its member down line is logged",
                    "msg=\"member down\" zone=lb.example.test. pool=app address=127.0.0.2"
                    in srv.stderr(), detail=srv.stderr()[-1500:])
            ran = notify_dir / "ran"
            t.check("the notify program ran as nobody for the member down", wait_until(
                lambda: ran.exists() and f"{nobody.pw_uid} app 127.0.0.2 down" in
                ran.read_text().splitlines(), 3.0 * SCALE) is not None,
                detail=ran.read_text() if ran.exists() else "it never ran")
            t.eq("still nobody after reloads and probes", status_fields(srv.proc.pid)[0].get("Uid"),
                 want_uid)
            code = srv.stop()
            t.eq("SIGTERM: exits 0 as nobody", code, 0)
        for b in backends.values():
            b.stop()

        # ---- errors ------------------------------------------------------------------------
        tmp = t.tempdir("steerdns-e2e-priv-")
        zones = tmp / "zones"
        zones.mkdir()
        (zones / "lb.example.test.json").write_text(json.dumps(h.lb_zone()))
        base = [t.binary, "--zones", str(zones)]

        p = run(base + ["--listen", f"127.0.0.1:{h.free_port()}", "--user", "no-such-user-x"])
        t.eq("unknown user: exit code 1", p.returncode, 1)
        t.check("unknown user: says so", "--user no-such-user-x: no such user" in p.stderr,
                detail=p.stderr)

        os.chmod(tmp, 0o755)
        os.chmod(zones, 0o700)  # root's only
        p = run(base + ["--listen", f"127.0.0.1:{h.free_port()}", "--user", "nobody"])
        t.eq("zones directory unreadable by the user: exit code 1", p.returncode, 1)
        t.check("and the message names the directory and the reason",
                f"--zones {zones}: Permission denied" in p.stderr, detail=p.stderr)
        os.chmod(zones, 0o755)
        os.chmod(zones / "lb.example.test.json", 0o644)

        # ---- non-root with CAP_NET_BIND_SERVICE only (what systemd's unit gives) ------------
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            t.skip("CAP_NET_BIND_SERVICE as nobody", "setpriv (util-linux) is not installed")
        else:
            as_nobody = [setpriv, f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
                         "--clear-groups", "--inh-caps=+net_bind_service",
                         "--ambient-caps=+net_bind_service", "--"]
            port2 = privileged_port()
            srv2 = h.Server(t.binary, [h.lb_zone()], wait=False, name="cap-only", port=port2,
                            extra_args=["--user", "nobody"])
            t.servers.append(srv2)
            open_to_all(srv2)
            real_command = srv2.command
            srv2.command = lambda: as_nobody + real_command()
            try:
                srv2.start()
                ok = True
            except h.StartError as e:
                t.fail("as nobody with CAP_NET_BIND_SERVICE: starts on a port below 1024", str(e))
                ok = False
            if ok:
                r = srv2.query("www." + LB, "A")
                t.expect(r, f"as nobody with CAP_NET_BIND_SERVICE: answers on port {port2}",
                         rcode="NOERROR", answer_count=2)
                t.check("--user naming the current user is a no-op, and says so",
                        "already running as the --user account" in srv2.stderr(),
                        detail=srv2.stderr()[-1500:])
                srv2.stop()
            p = run(as_nobody + base + ["--listen", f"127.0.0.1:{h.free_port()}",
                                        "--user", "daemon"])
            t.eq("as nobody, --user daemon: exit code 1", p.returncode, 1)
            t.check("and the message says root is needed",
                    "--user daemon: cannot switch from uid 65534 to daemon" in p.stderr and
                    "without root" in p.stderr, detail=p.stderr)
