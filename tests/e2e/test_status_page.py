#!/usr/bin/python3
"""The status page (GET /) in headless Chromium: after its script ran, the table holds one row
per member with the state /status gives (up, down with its probe reason, drained), the page
fetched /status again by itself, and a screenshot shows each state's colour."""

import json
import re
import shutil
import struct
import subprocess
import sys
import urllib.request
import zlib
from html.parser import HTMLParser

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import backends as b  # noqa: E402
import harness as h  # noqa: E402

LB = "lb.example.test."
UP, DOWN, DRAINED, UNCHECKED = "127.0.0.61", "127.0.0.62", "127.0.0.63", "192.0.2.64"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WIDTH, HEIGHT = 1280, 720


class Rows(HTMLParser):
    """Every <tr> with a data-state, as a dict of its data-* attributes and cell texts."""

    def __init__(self):
        super().__init__()
        self.rows, self.refreshes, self._row, self._cell = [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body" and "data-refreshes" in a:
            self.refreshes = int(a["data-refreshes"])
        if tag == "tr" and "data-state" in a:
            self._row = {k[5:]: v for k, v in a.items() if k.startswith("data-")}
            self._row["cells"] = []
        elif tag == "td" and self._row is not None:
            self._cell = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row["cells"].append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None


def chromium(t, args, url, timeout=90):
    profile = t.tempdir("steerdns-e2e-chromium-")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
           f"--window-size={WIDTH},{HEIGHT}", "--virtual-time-budget=5000"] + args + [url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env={"HOME": str(profile), "PATH": "/usr/bin:/bin"})


def png_pixels(data):
    """(width, height, rows of RGB tuples) of an 8-bit RGB/RGBA, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack("!I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack("!IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, f"unexpected PNG format {ihdr}"
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            up = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + up) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + up) // 2) & 0xFF
            elif f == 4:
                p = a + up - c
                pa, pb, pc = abs(p - a), abs(p - up), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (up if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(line)
        prev = line
    return width, height, bpp, rows


with h.Test("status_page") as t:
    token = t.tempdir("steerdns-e2e-token-") / "token"
    token.write_text("page-token\n")
    port = b.common_port([UP, DOWN, DRAINED])
    up = b.HttpBackend(UP, port, want_host=False)
    down = b.HttpBackend(DOWN, port, mode="500", want_host=False)
    drained = b.HttpBackend(DRAINED, port, want_host=False)
    for be in (up, down, drained):
        be.start()
    try:
        zone = h.lb_zone()
        zone["checks"] = {"web": dict(b.TIMING, type="http", port=port)}
        zone["pools"]["web"] = {"check": "web", "members": [
            {"address": UP, "weight": 5, "priority": 10}, {"address": DOWN},
            {"address": DRAINED}]}
        srv = t.start_server([zone], threads=1, extra_args=["--control-token-file", str(token)])
        req = urllib.request.Request(
            f"{srv.control_url}/drain", method="POST",
            data=json.dumps({"zone": LB, "pool": "web", "address": DRAINED}).encode(),
            headers={"Authorization": "Bearer page-token"})
        t.eq("drain one member first", urllib.request.urlopen(req, timeout=5).status, 200)

        def states():
            doc = json.load(urllib.request.urlopen(f"{srv.control_url}/status", timeout=5))
            return {(p["name"], m["address"]): m for z in doc["zones"] for p in z["pools"]
                    for m in p["members"]}
        t.check("the backend answering 500 is down in /status",
                b.wait_until(lambda: states()[("web", DOWN)]["state"] == "down", b.DOWN_BOUND + 2)
                is not None)
        t.check("the good backend has a probe result",
                b.wait_until(lambda: states()[("web", UP)]["last_result"] == "success", 5) is not None)
        expected = states()

        # ---- the DOM after the script ran -------------------------------------------------------
        res = chromium(t, ["--dump-dom"], f"{srv.control_url}/")
        t.eq("chromium --dump-dom exits 0", res.returncode, 0)
        page = Rows()
        page.feed(res.stdout)
        got = {(r["pool"], r["address"]): r for r in page.rows}
        t.eq("one table row per member", sorted(got), sorted(expected))
        t.eq("each row's state is the one /status gives",
             {k: r["state"] for k, r in got.items()}, {k: m["state"] for k, m in expected.items()})
        t.eq("the three states are there", sorted({r["state"] for r in page.rows}),
             ["down", "drained", "up"])
        down_row = got.get(("web", DOWN), {"cells": []})
        t.check("the down row shows the probe's reason",
                any("status 500" in c for c in down_row["cells"]), detail=down_row)
        t.check("the drained row says it was drained through the API",
                any("drained (api)" in c for c in got.get(("web", DRAINED), {"cells": []})["cells"]))
        t.check("the up row shows weight and priority",
                {"5", "10"} <= set(got.get(("web", UP), {"cells": []})["cells"]))
        t.check("the page fetched /status again by itself (every 2 s)",
                (page.refreshes or 0) >= 2, detail=f"refreshes: {page.refreshes}")
        t.check("the summary counts the states",
                re.search(r"\d+ up, 1 down, 1 drained", re.sub(r"<[^>]+>", "", res.stdout)) is not None)

        # ---- the screenshot ---------------------------------------------------------------------
        shot = t.tempdir("steerdns-e2e-shot-") / "status.png"
        res = chromium(t, [f"--screenshot={shot}"], f"{srv.control_url}/")
        t.eq("chromium --screenshot exits 0", res.returncode, 0)
        t.check("the screenshot exists and is not tiny", shot.exists() and shot.stat().st_size > 20000,
                detail=f"{shot.stat().st_size if shot.exists() else 'no file'} bytes\n{res.stderr[-1000:]}")
        if shot.exists():
            width, height, bpp, rows = png_pixels(shot.read_bytes())
            t.eq("the screenshot has the window's size", (width, height), (WIDTH, HEIGHT))
            colours = {}
            for row in rows:
                for x in range(0, width * bpp, bpp):
                    px = (row[x], row[x + 1], row[x + 2])
                    colours[px] = colours.get(px, 0) + 1
            t.check("the screenshot is not blank (many colours)", len(colours) > 50,
                    detail=f"{len(colours)} colours")
            for state, rgb in (("up", (0xda, 0xfb, 0xe1)), ("down", (0xff, 0xeb, 0xe9)),
                               ("drained", (0xff, 0xf8, 0xc5))):
                t.check(f"the {state} badge colour is on screen", colours.get(rgb, 0) > 100,
                        detail=f"{colours.get(rgb, 0)} pixels of {rgb}")
    finally:
        for be in (up, down, drained):
            be.stop()
