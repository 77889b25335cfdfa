#!/usr/bin/python3
"""--peer-status: the status page of one server shows the other servers of its NS set. Two
servers name each other; the second cannot reach a backend (an exec check reading a file in its
own working directory, as in test_status_servers.py). The page carries the peers' URLs; a server
with peers answers a cross-origin GET /status with Access-Control-Allow-Origin, one without does
not; a peer whose reads need the token answers the browser's preflight without one and reads
with it; headless Chromium (when installed) draws the page: a row per server, the peer's NSID, the
member whose state differs, and a row saying why a peer could not be read."""

import json
import re
import shutil
import sys
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402
from chromium_page import CHROMIUM, chromium  # noqa: E402

ZONE = {
    "zone": "lb.example.test.", "ttl": 60,
    "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 2026120601},
    "ns": ["ns1", "ns2"], "records": ["ns1 A 192.0.2.53", "ns2 A 198.51.100.53"],
    "checks": {"site": {"type": "exec", "command": ["/bin/sh", "-c", "test ! -e blocked-{address}"],
                        "interval": 0.5, "timeout": 0.4, "rise": 1, "fall": 1}},
    "pools": {"www": {"check": "site", "ttl": 30,
                      "members": [{"address": "192.0.2.10"}, {"address": "192.0.2.11"}]}},
}


def get(url, origin=None):
    req = urllib.request.Request(url, headers={"Origin": origin} if origin else {})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.status, dict(r.headers), r.read().decode()


def section_attrs(dom):
    m = re.search(r'<section id="peers"([^>]*)>', dom)
    return dict(re.findall(r'data-([a-z]+)="([^"]*)"', m.group(1))) if m else None


with h.Test("peer status") as t:
    pa, pb, dead = h.free_port(), h.free_port(), h.free_port()
    ua, ub = f"http://127.0.0.1:{pa}", f"http://127.0.0.1:{pb}"
    lone = t.start_server([ZONE], extra_args=["--nsid", "ns3"], name="ns3")
    a = t.start_server([ZONE], name="ns1", extra_args=[
        "--nsid", "ns1", "--control", f"127.0.0.1:{pa}", "--peer-status", ub + "/",
        "--peer-status", lone.control_url, "--peer-status", f"http://127.0.0.1:{dead}"])
    b = t.start_server([ZONE], name="ns2", extra_args=[
        "--nsid", "ns2", "--control", f"127.0.0.1:{pb}", "--peer-status", ua])
    a.control_port, b.control_port = pa, pb
    (b.tmp / "blocked-192.0.2.11").write_text("")

    status, headers, page = get(ua + "/")
    t.eq("GET / of a server with peers: 200", status, 200)
    t.check("the page carries the peers' URLs (a trailing / dropped)",
            f'const peers = ["{ub}","{lone.control_url}","http://127.0.0.1:{dead}"];' in page,
            detail=page[page.find("const peers"):][:300])
    t.check("the page has the peers' section", '<section id="peers"' in page)
    _, _, plain = get(lone.control_url + "/")
    t.check("a server without --peer-status: no peers' section", 'id="peers"' not in plain)

    status, headers, body = get(ub + "/status", origin=ua)
    t.eq("a cross-origin GET /status of a server with peers: 200", status, 200)
    t.eq("... with Access-Control-Allow-Origin: *", headers.get("Access-Control-Allow-Origin"),
         "*")
    t.eq("... and its view (nsid)", json.loads(body).get("nsid"), "ns2")
    _, headers, _ = get(lone.control_url + "/status", origin=ua)
    t.eq("a server without --peer-status: no Access-Control-Allow-Origin",
         headers.get("Access-Control-Allow-Origin"), None)
    _, headers, _ = get(ub + "/metrics", origin=ua)
    t.eq("/metrics: no Access-Control-Allow-Origin", headers.get("Access-Control-Allow-Origin"),
         None)

    # A peer whose reads all need the token (--control-read-from off): the browser asks first
    # (a CORS preflight, which carries no token), then sends the token the operator typed.
    pt = h.free_port()
    ut = f"http://127.0.0.1:{pt}"
    token_file = a.tmp / "ns4.token"
    token_file.write_text("s3cret-peer-token\n")
    tok = t.start_server([ZONE], name="ns4", extra_args=[
        "--nsid", "ns4", "--control", f"127.0.0.1:{pt}", "--peer-status", ua,
        "--control-read-from", "off", "--control-token-file", str(token_file)])
    tok.control_port = pt
    pre = urllib.request.Request(ut + "/status", method="OPTIONS", headers={
        "Origin": ua, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    with urllib.request.urlopen(pre, timeout=5) as r:
        status, headers = r.status, dict(r.headers)
    t.eq("a preflight OPTIONS /status without a token: 204", status, 204)
    t.eq("... allowing the Authorization header", headers.get("Access-Control-Allow-Headers"),
         "Authorization")
    t.eq("... for GET", headers.get("Access-Control-Allow-Methods"), "GET, HEAD")
    t.eq("... with Access-Control-Allow-Origin: *", headers.get("Access-Control-Allow-Origin"),
         "*")
    t.eq("... and no Private Network Access answer unless asked",
         headers.get("Access-Control-Allow-Private-Network"), None)
    pna = urllib.request.Request(ut + "/status", method="OPTIONS", headers={
        "Origin": ua, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Private-Network": "true"})
    with urllib.request.urlopen(pna, timeout=5) as r:
        status, headers = r.status, dict(r.headers)
    t.eq("Chrome's Private Network Access preflight: 204 and allowed", (status, headers.get(
        "Access-Control-Allow-Private-Network")), (204, "true"))
    try:
        get(ut + "/status", origin=ua)
        refused = None
    except urllib.error.HTTPError as e:
        refused = (e.code, e.headers.get("Access-Control-Allow-Origin"))
    t.eq("GET /status without the token: 401, readable cross-origin", refused, (401, "*"))
    req = urllib.request.Request(ut + "/status", headers={
        "Origin": ua, "Authorization": "Bearer s3cret-peer-token"})
    with urllib.request.urlopen(req, timeout=5) as r:
        status, headers, body = r.status, dict(r.headers), r.read().decode()
    t.eq("GET /status with the token: 200 with Access-Control-Allow-Origin",
         (status, headers.get("Access-Control-Allow-Origin")), (200, "*"))
    t.eq("... and ns4's view", json.loads(body).get("nsid"), "ns4")
    try:
        urllib.request.urlopen(urllib.request.Request(ut + "/metrics", method="OPTIONS"),
                               timeout=5)
        other = None
    except urllib.error.HTTPError as e:
        other = e.code
    t.check("OPTIONS on anything else still needs the token (401)", other == 401,
            detail=str(other))
    try:
        urllib.request.urlopen(urllib.request.Request(lone.control_url + "/status",
                                                      method="OPTIONS"), timeout=5)
        other = None
    except urllib.error.HTTPError as e:
        other = (e.code, e.headers.get("Access-Control-Allow-Origin"))
    # Not a read: refused as any other method is without a token (403: writes are disabled).
    t.eq("OPTIONS /status of a server without --peer-status: refused, no CORS header", other,
         (403, None))

    bad = h.run([t.binary, "--zones", str(a.zones_dir), "--peer-status", f"{ub}/status"])
    t.eq("--peer-status with a path: exit 2", bad.returncode, 2)
    t.check("... saying to give the base URL only", "base URL only" in bad.stderr,
            detail=bad.stderr)

    # ns2 must have probed 192.0.2.11 down before the page is drawn.
    down = h.poll(lambda: json.loads(get(ub + "/status")[2]),
                  lambda d: [m["state"] for m in d["zones"][0]["pools"][0]["members"]] ==
                  ["up", "down"], timeout=10)
    t.eq("ns2 has 192.0.2.11 down",
         [m["state"] for m in down["zones"][0]["pools"][0]["members"]], ["up", "down"])

    if not shutil.which(CHROMIUM):
        t.skip("the page in Chromium", "chromium is not installed")
    else:
        res = chromium(t, ["--dump-dom"], ua + "/", budget_ms=4000)
        t.eq("chromium --dump-dom exits 0", res.returncode, 0)
        dom = res.stdout
        attrs = section_attrs(dom) or {}
        print(f"# peers' section: {attrs}")
        t.eq("4 servers on the page (this one, 3 peers)", attrs.get("servers"), "4")
        t.eq("2 answered: this one and ns2 (ns3 has no CORS header, the third is down)",
             attrs.get("answered"), "2")
        t.eq("1 member differs", attrs.get("differ"), "1")
        t.check("the peers' section sits under the header, above the member table",
                0 <= dom.find("</header>") < dom.find('<section id="peers"') <
                dom.find('<div id="zones"'), detail=dom[:2000])
        rows = re.findall(r"<tr>(.*?)</tr>", dom[dom.find('<section id="peers"'):], re.S)
        text = [re.sub(r"<[^>]+>", "|", r) for r in rows]
        t.check("ns2's row: its NSID, zone serial, members up / down",
                any(f"|{ub}||ns2||lb.example.test. (2026120601)||1 / 1||ok|" in r for r in text),
                detail="\n".join(text))
        t.check("the member that differs: up here, down on ns2 (with its reason)",
                any("lb.example.test. www 192.0.2.11" in r for r in rows) and
                re.search(r'192\.0\.2\.11</td><td class="up"[^>]*>up</td>'
                          r'<td class="down" title="exec: exit 1">down</td>', dom) is not None,
                detail="\n".join(rows))
        t.check("the peers that could not be read say so",
                sum("reachable from this browser" in r for r in text) == 2,
                detail="\n".join(text))
