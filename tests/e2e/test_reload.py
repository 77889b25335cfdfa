#!/usr/bin/python3
"""Live reload under continuous query load: zone files are rewritten 50 times, alternating two
valid versions, with 10 broken versions in between, using every common save pattern (write in
place in two chunks, write-temp-then-rename, vim's rename-then-write, several files replaced at
once). Every answer must be a complete answer of one valid version; nothing lost, no SERVFAIL,
no broken version ever served, every broken version's error logged."""

import copy
import json
import os
import re
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import dns.message  # noqa: E402
import dns.rcode  # noqa: E402

import harness as h  # noqa: E402

LB = "lb.example.test."
TWO = "two.example.test."


def lb_version(tag: str) -> dict:
    z = copy.deepcopy(h.LB_ZONE)
    a = tag == "A"
    z["soa"]["serial"] = 1 if a else 2
    net = "192.0.2" if a else "198.51.100"
    z["records"] = [r for r in z["records"] if not r.startswith("static ")] + \
        [f"static 600 A {net}.100"]
    z["pools"]["www"] = {"policy": "round-robin", "ttl": 30,
                         "members": h.members(f"{net}.10", f"{net}.11", f"{net}.12")}
    return z


def two_version(tag: str) -> dict:
    return {"zone": TWO, "ttl": 60,
            "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1 if tag == "A" else 2},
            "ns": ["ns1"], "records": ["ns1 A 127.0.0.1", f"v TXT \"version {tag}\""]}


VALID = {
    "A": {"www": {"192.0.2.10", "192.0.2.11", "192.0.2.12"}, "static": "192.0.2.100",
          "two": "version A"},
    "B": {"www": {"198.51.100.10", "198.51.100.11", "198.51.100.12"},
          "static": "198.51.100.100", "two": "version B"},
}


def broken_versions() -> list:
    """Ten ways to break the file; each also carries data (203.0.113.x) that must never be
    served, so serving one would show."""
    out = []
    base = lb_version("A")
    base["records"] = [r for r in base["records"] if not r.startswith("static ")] + \
        ["static 600 A 203.0.113.100"]
    base["pools"]["www"]["members"] = h.members("203.0.113.10")
    text = json.dumps(base, indent=2)
    out.append(("truncated JSON", text[: len(text) // 2]))
    out.append(("empty file", ""))
    b = copy.deepcopy(base); b["pools"]["www"]["members"][0]["address"] = "203.0.113.300"
    out.append(("bad address", json.dumps(b, indent=2)))
    b = copy.deepcopy(base); b["pools"]["www"]["polcy"] = "round-robin"
    out.append(("unknown key", json.dumps(b, indent=2)))
    b = copy.deepcopy(base); del b["soa"]
    out.append(("missing soa", json.dumps(b, indent=2)))
    b = copy.deepcopy(base); b["records"].append("docs A 203.0.113.1")
    out.append(("CNAME beside other data", json.dumps(b, indent=2)))
    b = copy.deepcopy(base); b["pools"]["www"]["members"].append({"address": "203.0.113.10"})
    out.append(("duplicate member", json.dumps(b, indent=2)))
    b = copy.deepcopy(base); b["records"].append("outside.example.org. A 203.0.113.1")
    out.append(("name outside the zone", json.dumps(b, indent=2)))
    b = copy.deepcopy(base); b["ttl"] = -5
    out.append(("negative ttl", json.dumps(b, indent=2)))
    b = copy.deepcopy(base); b["records"].append("static AAAA 2001:db8::1 extra")
    out.append(("bad record", json.dumps(b, indent=2)))
    return out


class Load:
    """Closed-loop UDP clients asking www/static/two until stopped; every answer checked."""

    def __init__(self, srv: h.Server, threads: int = 4):
        self.srv = srv
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sent = self.answered = self.lost = self.servfail = 0
        self.problems: list = []
        self.seen = {"A": 0, "B": 0}
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(threads)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(10)

    def judge(self, kind: str, msg: dns.message.Message) -> str:
        """Empty when the answer is a complete answer of one valid version."""
        if msg.rcode() != dns.rcode.NOERROR:
            return f"{kind}: rcode {dns.rcode.to_text(msg.rcode())}"
        if kind == "www":
            got = set(h.addresses(msg))
            for tag, v in VALID.items():
                if got == v["www"]:
                    self.seen[tag] += 1
                    return ""
            return f"www: {sorted(got)} is not a complete answer of any valid version"
        if kind == "static":
            got = h.addresses(msg)
            if got in ([VALID["A"]["static"]], [VALID["B"]["static"]]):
                return ""
            return f"static: {got}"
        texts = [rd.to_text().strip('"') for rr in msg.answer for rd in rr]
        if texts in ([VALID["A"]["two"]], [VALID["B"]["two"]]):
            return ""
        return f"two: {texts}"

    def run(self, i: int) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(1.0)
        names = [("www", "www." + LB, "A"), ("static", "static." + LB, "A"),
                 ("two", "v." + TWO, "TXT")]
        n = 0
        deadline = time.monotonic() + 60  # bounded whatever happens to the writer
        while not self.stop.is_set() and time.monotonic() < deadline:
            kind, name, rdtype = names[n % 3]
            n += 1
            q = dns.message.make_query(name, rdtype)
            try:
                sock.sendto(q.to_wire(), self.srv.addr())
                data, _ = sock.recvfrom(4096)
                msg = dns.message.from_wire(data)
                problem = "" if msg.id == q.id else "id mismatch"
                problem = problem or self.judge(kind, msg)
                with self.lock:
                    self.sent += 1
                    self.answered += 1
                    if msg.rcode() == dns.rcode.SERVFAIL:
                        self.servfail += 1
                    if problem and len(self.problems) < 20:
                        self.problems.append(problem)
                    elif problem:
                        self.problems.append("...")
            except socket.timeout:
                with self.lock:
                    self.sent += 1
                    self.lost += 1
        sock.close()


def write_in_place(path, text: str) -> None:
    # Two chunks with a pause: the reloader must not load the half-written file.
    with open(path, "w") as f:
        f.write(text[: len(text) // 2])
        f.flush()
        time.sleep(0.05)
        f.write(text[len(text) // 2:])


def write_rename(path, text: str) -> None:
    # sed -i, most editors, configuration management: a temp file renamed over the original.
    tmp = path.parent / f".{path.name}.tmp{os.getpid()}"
    tmp.write_text(text)
    os.replace(tmp, path)


def write_vim(path, text: str) -> None:
    # vim's default (backupcopy=auto on a plain file): rename the original away, write anew.
    backup = path.parent / (path.name + "~")
    os.replace(path, backup)
    path.write_text(text)
    backup.unlink()


PATTERNS = [("in place", write_in_place), ("temp+rename", write_rename), ("vim", write_vim)]


def main() -> None:
    with h.Test("live reload") as t:
        srv = t.start_server({"lb.example.test.json": lb_version("A"),
                              "two.example.test.json": two_version("A")}, threads=2)
        lb_path = srv.zones_dir / "lb.example.test.json"
        two_path = srv.zones_dir / "two.example.test.json"
        load = Load(srv)
        load.start()
        broken = broken_versions()
        started = time.monotonic()
        writes = 0
        for i in range(50):
            tag = "B" if i % 2 == 0 else "A"
            name, write = PATTERNS[i % len(PATTERNS)]
            if i % 5 == 4:
                # Many files at once, as a git checkout does.
                write_rename(lb_path, json.dumps(lb_version(tag), indent=2))
                write_rename(two_path, json.dumps(two_version(tag), indent=2))
            else:
                write(lb_path, json.dumps(lb_version(tag), indent=2))
            writes += 1
            time.sleep(0.25)
            if i % 5 == 2:
                what, text = broken[i // 5]
                bname, bwrite = PATTERNS[(i // 5) % len(PATTERNS)]
                bwrite(lb_path, text)
                writes += 1
                # Long enough for the reloader to read it (debounce 200 ms) and reject it.
                time.sleep(0.6)
        # The last valid version: picked up within a second.
        final = "B"
        write_rename(lb_path, json.dumps(lb_version(final), indent=2))
        write_rename(two_path, json.dumps(two_version(final), indent=2))
        t0 = time.monotonic()
        seen_final = None
        while time.monotonic() - t0 < 3:
            m = srv.query("static." + LB, "A")
            if m is not None and h.addresses(m) == [VALID[final]["static"]]:
                seen_final = time.monotonic() - t0
                break
            time.sleep(0.02)
        load.finish()
        elapsed = time.monotonic() - started
        print(f"  {writes} writes in {elapsed:.1f} s; {load.sent} queries, {load.answered} answered, "
              f"{load.lost} lost; answers seen from version A {load.seen['A']}, B {load.seen['B']}")
        t.check(f"final version served within 1 s (took {seen_final})",
                seen_final is not None and seen_final <= 1.0)
        t.check("the load ran (over 1000 queries)", load.sent > 1000, detail=str(load.sent))
        t.eq("no query lost", load.lost, 0)
        t.eq("no SERVFAIL", load.servfail, 0)
        t.eq("every answer complete and from a valid version", load.problems, [])
        t.check("both valid versions were served", load.seen["A"] > 0 and load.seen["B"] > 0,
                detail=str(load.seen))

        log = srv.stderr()
        rejected = log.count("zone rejected, previous version keeps serving")
        t.eq("every broken version rejected and logged", rejected, len(broken))
        lines = re.findall(r'error="([^"]*(?:\\"[^"]*)*)"', log)
        located = [l for l in lines if re.match(r".*lb\.example\.test\.json(:\d+:\d+)?: ", l)]
        t.check("error lines name the file (FILE:LINE:COL: json.path: message)",
                len(located) >= len(broken), detail="\n".join(lines[:20]))
        t.check("a syntax error is located by line and column",
                any(re.search(r"json:\d+:\d+: .*(syntax error|unexpected)", l) for l in lines),
                detail="\n".join(lines[:20]))
        reloads = re.findall(r'msg="zone reloaded" zone=(\S+) .*serial=(\d+) pools=(\d+) '
                             r'members=(\d+) ms=([\d.]+)', log)
        t.check("each reload logged with zone, serial, pools, members and time",
                len(reloads) >= 10, detail=log[-2000:])
        if reloads:
            slowest = max(float(r[4]) for r in reloads)
            print(f"  {len(reloads)} reloads logged, slowest {slowest:.1f} ms")

        # A removed file removes its zone; adding it back restores it.
        two_path.unlink()
        m = h.poll(lambda: srv.query("v." + TWO, "TXT"),
                   lambda m: m is not None and m.rcode() == dns.rcode.REFUSED)
        t.check("removed file: its zone answers REFUSED",
                m is not None and m.rcode() == dns.rcode.REFUSED, resp=m)
        write_rename(two_path, json.dumps(two_version("A"), indent=2))
        m = h.poll(lambda: srv.query("v." + TWO, "TXT"), lambda m: m is not None and m.rcode() == 0)
        t.check("file added back: zone served again", m is not None and m.rcode() == 0, resp=m)

        # SIGHUP reloads too (no file event needed: the file changed with its mtime kept).
        st = os.stat(two_path)
        write_in_place(two_path, json.dumps(two_version("B"), indent=2))
        os.utime(two_path, ns=(st.st_atime_ns, st.st_mtime_ns))
        srv.proc.send_signal(__import__("signal").SIGHUP)
        m = h.poll(lambda: srv.query("v." + TWO, "TXT"),
                   lambda m: m is not None and
                   [rd.to_text() for rr in m.answer for rd in rr] == ['"version B"'])
        t.check("SIGHUP reload picks up a changed file",
                m is not None and [rd.to_text() for rr in m.answer for rd in rr] == ['"version B"'],
                resp=m)

        # New content under the serial already served: loaded, with a warning (secondaries
        # and monitoring compare serials and would never see it). Indenting the same content
        # again is no change of content: no warning.
        same_serial = two_version("B")
        same_serial["records"][1] = 'v TXT "version C"'
        reloads_before = srv.stderr().count('msg="zone reloaded" zone=two.example.test.')
        write_rename(two_path, json.dumps(same_serial, indent=2))
        m = h.poll(lambda: srv.query("v." + TWO, "TXT"),
                   lambda m: m is not None and
                   [rd.to_text() for rr in m.answer for rd in rr] == ['"version C"'])
        t.check("new content under the same serial is served",
                m is not None and [rd.to_text() for rr in m.answer for rd in rr] == ['"version C"'],
                resp=m)
        serial_warning = 'level=warn msg="zone content changed but its serial did not" ' \
                         'zone=two.example.test.'
        log = srv.stderr()
        t.eq("the reload warns that the content changed and the serial did not",
             log.count(serial_warning), 1)
        write_rename(two_path, json.dumps(same_serial, indent=4, sort_keys=True))
        h.poll(lambda: srv.stderr().count('msg="zone reloaded" zone=two.example.test.'),
               lambda n: n >= reloads_before + 2)
        log = srv.stderr()
        t.check("the same content indented again is reloaded",
                log.count('msg="zone reloaded" zone=two.example.test.') >= reloads_before + 2,
                detail=log[-2000:])
        t.eq("the same content indented again: no second warning", log.count(serial_warning), 1)


if __name__ == "__main__":
    main()
