#!/usr/bin/python3
"""--probe-io: tcp probes through libuv, through io_uring, and auto (io_uring where the kernel
allows a ring, else libuv with a line saying why). For each, on 127.0.0.81-83: the start line
names the backend; a listening member is up, a closed port is down with "connection refused",
a listener whose accept queue is full is down with "timeout after"; the listener stopped takes
its member down (refused) and restarted brings it back up; a clean stop exits 0. Then, with
io_uring_setup refused by a seccomp filter (as Docker's default profile refuses it; a small C
program built here with cc, skipped without one): auto falls back to libuv with one line
saying why and still probes, and --probe-io uring fails the start."""

import re
import shutil
import socket
import subprocess
import sys
import threading

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402
from backends import (DOWN_BOUND, TIMEOUT, TIMING, UP_BOUND, common_port,  # noqa: E402
                      listening_socket, wait_until)

UP, CLOSED, STALLED = "127.0.0.81", "127.0.0.82", "127.0.0.83"
ZONE = "io.example.test."


class Listener:
    """Accepts and closes, on its own thread, until stopped."""

    def __init__(self, addr: str, port: int):
        self.sock = listening_socket(addr, port)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
                conn.close()
            except OSError:
                pass

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(2)
        self.sock.close()


def stalled(addr: str, port: int) -> list:
    """listen(0) holds one connection, never accepted: the kernel drops further SYNs."""
    s = listening_socket(addr, port, backlog=0, timeout=None)
    filler = socket.create_connection((addr, port), timeout=1)
    return [s, filler]


# Runs a program with io_uring_setup refused (EPERM), as Docker's default seccomp profile does.
DENY_URING_C = r"""
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char** argv) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    if (argc < 2 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
        return 99;
    execv(argv[1], argv + 1);
    return 99;
}
"""


def deny_uring_wrapper(t) -> str:
    """Path of the compiled wrapper, or "" when there is no C compiler."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return ""
    d = t.tempdir()
    (d / "deny.c").write_text(DENY_URING_C)
    r = subprocess.run([cc, "-O1", "-o", str(d / "deny"), str(d / "deny.c")],
                       capture_output=True, text=True, timeout=60)
    return str(d / "deny") if r.returncode == 0 else ""


def zone(port: int) -> dict:
    return {"zone": ZONE, "soa": {"mname": "ns1", "rname": "h", "serial": 1}, "ns": ["ns1"],
            "records": ["ns1 A 127.0.0.1"],
            "checks": {"port": dict(type="tcp", port=port, **TIMING)},
            "pools": {"www": {"check": "port", "fallback": "none",
                              "members": h.members(UP, CLOSED, STALLED)}}}


def member_line(srv, state: str, addr: str, reason: str, since: int = 0):
    pattern = (rf'msg="member {state}".* address={re.escape(addr)} .*'
               rf'reason="{re.escape(reason)}')
    return re.search(pattern, srv.stderr()[since:])


def answered(srv) -> list:
    r = srv.query("www." + ZONE, "A", timeout=1.0)
    return sorted(h.addresses(r)) if r is not None else []


with h.Test("--probe-io: tcp probes by libuv and by io_uring") as t:
    port = common_port([UP, CLOSED, STALLED])
    held = stalled(STALLED, port)
    uring_ok = None  # learnt from the auto run: whether this kernel gives a ring
    for io in ("auto", "libuv", "uring"):
        if io == "uring" and not uring_ok:
            r = h.run([t.binary, "--zones", str(t.tempdir()), "--listen",
                       f"127.0.0.1:{h.free_port()}", "--control", "off", "--probe-io", "uring"])
            t.eq("--probe-io uring without io_uring: the start fails (exit 1)", r.returncode, 1)
            t.check("... saying why", "io_uring" in r.stderr, detail=r.stderr[-800:])
            continue
        up = Listener(UP, port)
        srv = t.start_server([zone(port)], threads=1, name=f"io-{io}",
                             extra_args=["--probe-io", io])
        started = re.search(r'msg="steerdns started".* probe_io=(\w+)', srv.stderr())
        backend = started.group(1) if started else None
        if io == "auto":
            fallback = re.search(r'msg="io_uring unavailable: tcp probes use libuv" error="[^"]+"',
                                 srv.stderr())
            uring_ok = backend == "uring"
            t.check("auto: io_uring, or libuv with one line saying why",
                    backend == "uring" or (backend == "libuv" and fallback is not None),
                    detail=srv.stderr()[-1500:])
            print(f"  auto chose {backend}" + (f" ({fallback.group(0)})" if fallback else ""))
        else:
            t.eq(f"{io}: the start line names the backend", backend, io)
        # First results: up, refused, timed out.
        t.check(f"{io}: the closed port's member is down, connection refused",
                wait_until(lambda: member_line(srv, "down", CLOSED, "tcp connect: connection "
                                               "refused"), DOWN_BOUND) is not None,
                detail=srv.stderr()[-1500:])
        t.check(f"{io}: the stalled listener's member is down at the check's timeout",
                wait_until(lambda: member_line(srv, "down", STALLED, f"tcp connect: timeout after "
                                               f"{TIMEOUT:g}s"), DOWN_BOUND) is not None,
                detail=srv.stderr()[-1500:])
        t.check(f"{io}: only the listening member is answered",
                wait_until(lambda: answered(srv) == [UP], DOWN_BOUND) is not None,
                detail=answered(srv))
        # Down when its listener stops, up when it is back.
        mark = len(srv.stderr())
        up.stop()
        t.check(f"{io}: the listener stopped, its member goes down (refused)",
                wait_until(lambda: member_line(srv, "down", UP, "tcp connect: connection refused",
                                               mark), DOWN_BOUND) is not None,
                detail=srv.stderr()[mark:][-1500:])
        t.check(f"{io}: ... and leaves the answers",
                wait_until(lambda: answered(srv) == [], 2.0) is not None, detail=answered(srv))
        mark = len(srv.stderr())
        up = Listener(UP, port)
        t.check(f"{io}: the listener back, its member comes up",
                wait_until(lambda: member_line(srv, "up", UP, "tcp connect: ok", mark),
                           UP_BOUND) is not None, detail=srv.stderr()[mark:][-1500:])
        t.check(f"{io}: ... and is answered again",
                wait_until(lambda: answered(srv) == [UP], 2.0) is not None, detail=answered(srv))
        t.eq(f"{io}: a clean stop with probes in flight exits 0", srv.stop(), 0)
        up.stop()

    # ---- io_uring refused (seccomp): auto falls back, uring fails the start ---------------------
    deny = deny_uring_wrapper(t)
    if not deny:
        t.skip("io_uring refused by seccomp", "no C compiler to build the wrapper")
    else:
        up = Listener(UP, port)
        srv = h.Server(t.binary, [zone(port)], threads=1, name="io-denied",
                       extra_args=["--probe-io", "auto"], wait=False)
        real = srv.command  # the wrapper runs steerdns, with the command the harness makes
        srv.command = lambda: [deny] + real()
        srv.start()
        log = srv.stderr()
        t.check("io_uring refused, auto: one warning saying why",
                len(re.findall(r'level=warn msg="io_uring unavailable: tcp probes use libuv" '
                               r'error="io_uring_setup: Operation not permitted"', log)) == 1,
                detail=log[-1500:])
        t.check("... and the start line says libuv",
                re.search(r'msg="steerdns started".* probe_io=libuv ', log), detail=log[-1500:])
        t.check("... whose probes still run (the closed port's member goes down)",
                wait_until(lambda: member_line(srv, "down", CLOSED, "tcp connect: connection "
                                               "refused"), DOWN_BOUND) is not None,
                detail=srv.stderr()[-1500:])
        t.eq("... a clean stop exits 0", srv.stop(), 0)
        up.stop()
        r = h.run([deny, t.binary, "--zones", str(t.tempdir()), "--listen",
                   f"127.0.0.1:{h.free_port()}", "--control", "off", "--probe-io", "uring"])
        t.eq("io_uring refused, --probe-io uring: the start fails (exit 1)", r.returncode, 1)
        t.check("... saying why", re.search(r'msg="cannot start" error="io_uring_setup: '
                                            r'Operation not permitted"', r.stderr),
                detail=r.stderr[-800:])
    for s in held:
        s.close()
