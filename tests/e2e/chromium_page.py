"""The status page (GET /) seen through headless Chromium, for the status page tests: run it
(--dump-dom after the page's script ran, or --screenshot), read the DOM it left (member rows,
pool headers, what is hidden, the body's data-* the page writes), and decode a PNG."""

import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


def chromium(t, args, url, width=1280, height=900, budget_ms=5000, timeout=100):
    """Runs headless Chromium on `url` with its own profile in a temp dir of test `t`."""
    profile = t.tempdir("steerdns-e2e-chromium-")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
           f"--window-size={width},{height}", f"--virtual-time-budget={budget_ms}"] + args + [url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env={"HOME": str(profile), "PATH": "/usr/bin:/bin"})


class Page(HTMLParser):
    """The DOM Chromium dumped: `body` (its data-* attributes), `rows` (every <tr> with a
    data-state: its data-*, cell texts, `hidden` (itself or an ancestor),
    `spark` (the sparkline's points)), `pools` (div.pool: `name`, `state`, `head` text,
    `hidden`),
    `zone_heads` (texts) and `rejected` (the text of the never-loaded files box)."""

    def __init__(self, dom=None):
        super().__init__()
        self.body, self.rows, self.pools, self.zone_heads, self.rejected = {}, [], [], [], ""
        self.rejected_shown = False
        self._stack = []  # (tag, hidden, collectors opened by this element)
        self._row = self._cell = None
        self._collect = {}  # name -> depth at which it started
        if dom is not None:
            self.feed(dom)
            self.close()

    @property
    def refreshes(self):
        return int(self.body["refreshes"]) if "refreshes" in self.body else None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        hidden = (self._stack[-1][1] if self._stack else False) or "hidden" in classes
        opened = []
        if tag == "body":
            self.body = {k[5:]: v for k, v in a.items() if k.startswith("data-")}
        elif tag == "div" and "pool" in classes:
            self.pools.append({"name": a.get("data-pool"), "state": a.get("data-pool-state"),
                               "head": "", "hidden": hidden})
        elif tag == "div" and "pool-head" in classes:
            opened.append("pool-head")
        elif tag == "div" and "zone-head" in classes:
            self.zone_heads.append("")
            opened.append("zone-head")
        elif tag == "section" and a.get("id") == "rejected":
            self.rejected_shown = "display: block" in (a.get("style") or "")
            opened.append("rejected")
        elif tag == "tr" and "data-state" in a:
            self._row = {k[5:]: v for k, v in a.items() if k.startswith("data-")}
            self._row.update(cells=[], hidden=hidden, spark=None)
            opened.append("row")
        elif tag == "td" and self._row is not None:
            self._cell = ""
        elif tag == "polyline" and self._row is not None:
            self._row["spark"] = a.get("points")
        if tag not in VOID:
            self._stack.append((tag, hidden, opened))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self._stack and self._stack[-1][0] == tag:
            self.handle_endtag(tag)

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        open_ = {name for _, _, names in self._stack for name in names}
        if "pool-head" in open_ and self.pools:
            self.pools[-1]["head"] += data
        if "zone-head" in open_:
            self.zone_heads[-1] += data
        if "rejected" in open_:
            self.rejected += data

    def handle_endtag(self, tag):
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row["cells"].append(self._cell.strip())
            self._cell = None
        if all(top != tag for top, _, _ in self._stack):
            return  # an end tag without its start (not in what Chromium serialises)
        while self._stack:
            top, _, names = self._stack.pop()
            if "row" in names:
                self.rows.append(self._row)
                self._row = None
            if top == tag:
                break


def png_pixels(data):
    """(width, height, bytes per pixel, rows) of an 8-bit RGB/RGBA, non-interlaced PNG."""
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


def colours(png):
    """{(r, g, b): pixel count} of a PNG's bytes."""
    width, _, bpp, rows = png_pixels(png)
    out = {}
    for row in rows:
        for x in range(0, width * bpp, bpp):
            px = (row[x], row[x + 1], row[x + 2])
            out[px] = out.get(px, 0) + 1
    return out
