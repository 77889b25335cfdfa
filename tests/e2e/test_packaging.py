#!/usr/bin/python3
"""The deployment files, checked without a Docker engine or a booted systemd: the unit passes
`systemd-analyze verify`; the Dockerfile builds with the packages of .ci/install-deps on Debian
12 slim in two stages; the compose demo's zones pass `steerdns check` and point at the backends
compose gives fixed addresses; `docker-compose config` accepts the file when it is installed."""

import json
import os
import re
from pathlib import Path
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402

UNIT = h.REPO / "contrib" / "steerdns.service"
DOCKERFILE = h.REPO / "docker" / "Dockerfile"
COMPOSE = h.REPO / "docker" / "compose.yaml"
DEMO_ZONE = h.REPO / "docker" / "zones" / "lb.example.test.json"


def install_deps_packages():
    text = (h.REPO / ".ci" / "install-deps").read_text()
    block = re.search(r"PACKAGES=\((.*?)\n\)", text, re.S).group(1)
    words = []
    for line in block.splitlines():
        words += line.split("#")[0].split()
    return set(words)


with h.Test("packaging") as t:
    # ---- systemd unit ----------------------------------------------------------------------
    unit = UNIT.read_text()
    for key in ("AmbientCapabilities=CAP_NET_BIND_SERVICE", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
                "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                "PrivateDevices=yes", "SystemCallFilter=@system-service",
                "StateDirectory=steerdns", "LogsDirectory=steerdns",
                "ExecReload=/bin/kill -HUP $MAINPID",
                "Restart=on-failure"):
        t.check(f"unit sets {key}", re.search(rf"^{re.escape(key)}", unit, re.M) is not None)
    t.check("unit restricts address families to inet, inet6, unix",
            re.search(r"^RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX$", unit, re.M))
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        t.skip("systemd-analyze verify", "systemd-analyze is not installed")
    else:
        tmp = t.tempdir("steerdns-e2e-unit-")
        copy = tmp / "steerdns.service"
        # verify wants the programs to exist: point it at the binary under test.
        copy.write_text(unit.replace("/usr/sbin/steerdns", t.binary))
        p = subprocess.run([analyze, "verify", "--man=no", str(copy)], capture_output=True,
                           text=True, timeout=60)
        t.eq("systemd-analyze verify: exit 0", p.returncode, 0)
        t.eq("systemd-analyze verify: nothing to say", p.stdout.strip() + p.stderr.strip(), "")
    m = re.search(r"^ExecStart=(.*?)(?<!\\)$", unit, re.M | re.S)
    exec_start = m.group(1).replace("\\\n", " ").split() if m else []
    t.check("the unit's ExecStart is a serve command line this binary accepts",
            exec_start[1:2] == ["serve"], detail=exec_start)

    t.check("the unit's state file is in its StateDirectory",
            "--state-file /var/lib/steerdns/" in " ".join(exec_start), detail=exec_start)

    # ---- cmake --install: where Debian expects each file -----------------------------------
    build_dir = Path(t.binary).resolve().parent
    if (build_dir / "CMakeCache.txt").exists():
        dest = t.tempdir("steerdns-e2e-install-")
        p = subprocess.run(["cmake", "--install", str(build_dir), "--prefix", "/usr"],
                           env={**os.environ, "DESTDIR": str(dest)}, capture_output=True,
                           text=True, timeout=120)
        t.eq("cmake --install: exit 0", p.returncode, 0)
        for rel in ("usr/sbin/steerdns", "usr/share/man/man8/steerdns.8",
                    "usr/lib/systemd/system/steerdns.service",
                    "usr/share/steerdns/zone.schema.json"):
            t.check(f"cmake --install puts {rel}", (dest / rel).exists(), detail=p.stdout)
        m = re.search(r"^ExecStart=(\S+)", unit, re.M)
        t.check("the unit's ExecStart names the installed binary",
                m is not None and (dest / m.group(1).lstrip("/")).exists(), detail=unit)
        t.check("the unit's Documentation=man:steerdns(8) names the installed man page",
                "Documentation=man:steerdns(8)" in unit)
    else:
        t.skip("cmake --install", f"{build_dir} is not a CMake build tree")

    # ---- Dockerfile ------------------------------------------------------------------------
    docker = DOCKERFILE.read_text()
    froms = re.findall(r"^FROM\s+(\S+)", docker, re.M)
    t.eq("two stages, both on debian:12-slim", froms, ["debian:12-slim", "debian:12-slim"])
    stages = re.split(r"^FROM\s", docker, flags=re.M)[1:]
    build_pkgs = set(re.search(r"--no-install-recommends\s*\\\n(.*?)\n &&", stages[0], re.S)
                     .group(1).replace("\\", " ").split())
    t.check("build stage installs only packages of .ci/install-deps",
            build_pkgs <= install_deps_packages(),
            detail=sorted(build_pkgs - install_deps_packages()))
    t.check("build stage has the build packages (cmake, g++, the -dev libraries)",
            {"cmake", "g++", "libuv1-dev", "libldns-dev", "nlohmann-json3-dev", "libcli11-dev",
             "libcurl4-openssl-dev", "libmaxminddb-dev"} <= build_pkgs, detail=sorted(build_pkgs))
    runtime_pkgs = set(re.search(r"--no-install-recommends\s*\\\n(.*?)\n &&", stages[1], re.S)
                       .group(1).replace("\\", " ").split())
    t.check("runtime stage has no -dev package and no compiler",
            not any(p.endswith("-dev") or p in ("g++", "cmake", "make") for p in runtime_pkgs),
            detail=sorted(runtime_pkgs))
    t.check("runtime stage runs as a non-root user", re.search(r"^USER\s+steerdns$", stages[1], re.M))
    t.check("EXPOSE 53/udp 53/tcp 8053", re.search(r"^EXPOSE 53/udp 53/tcp 8053(/tcp)?$", docker, re.M))
    joined = re.sub(r"\\\n\s*", " ", docker)  # continuation lines, as Docker reads them
    cmd = json.loads(re.search(r"^CMD\s+(\[.*\])$", joined, re.M).group(1))
    t.check("CMD serves on 0.0.0.0:53", cmd[:1] == ["serve"] and "0.0.0.0:53" in cmd, detail=cmd)
    t.check("CMD lets the bridge networks read the control endpoint (a published port)",
            "--control-read-from" in cmd and "172.16.0.0/12" in cmd[cmd.index("--control-read-from") + 1],
            detail=cmd)
    t.check("CMD keeps drains in the state volume", "--state-file" in cmd and
            re.search(r"^VOLUME /var/lib/steerdns$", docker, re.M), detail=cmd)

    # ---- compose demo ----------------------------------------------------------------------
    p = h.run([t.binary, "check", str(DEMO_ZONE.parent)])
    t.eq("steerdns check docker/zones: exit 0", p.returncode, 0)
    compose = COMPOSE.read_text()
    backends = re.findall(r"ipv4_address:\s*(172\.28\.53\.1\d)", compose)
    zone = json.loads(DEMO_ZONE.read_text())
    members = [m["address"] for m in zone["pools"]["www"]["members"]]
    t.eq("the demo pool's members are the compose backends' fixed addresses",
         sorted(members), sorted(backends))
    t.eq("each backend has a healthcheck (three services, one anchor)",
         compose.count("healthcheck:"), 1)
    t.check("the demo pool has an http check", zone["checks"][zone["pools"]["www"]["check"]]
            ["type"] == "http")
    compose_bin = shutil.which("docker-compose")
    if compose_bin is None:
        t.skip("docker-compose config", "docker-compose is not installed")
    else:
        p = subprocess.run([compose_bin, "-f", str(COMPOSE), "config", "-q"],
                           capture_output=True, text=True, timeout=60)
        t.eq("docker-compose config accepts docker/compose.yaml", (p.returncode, p.stderr.strip()),
             (0, ""))
