#!/usr/bin/python3
"""Writes the committed seed corpus of the fuzz harnesses (tests/fuzz/corpus/<harness>/).

Run it again after changing the zones in tests/fuzz/zones or the list below; the output is
deterministic. Queries are built with dnspython (real clients' wire format) and by hand
(the malformed ones dnspython refuses to build).

    /usr/bin/python3 tests/fuzz/make_corpus.py
"""

import shutil
import struct
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.rdatatype

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CORPUS = HERE / "corpus"


def write(harness, name, data):
    d = CORPUS / harness
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def query(name, rdtype="A", *, edns=None, payload=1232, options=(), do=False, rd=True, qid=0x5eed):
    q = dns.message.make_query(name, rdtype, use_edns=False)
    q.id = qid
    if edns is not None:
        q.use_edns(edns, dns.flags.DO if do else 0, payload, options=list(options))
    if not rd:
        q.flags &= ~dns.flags.RD
    return q.to_wire()


def wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def header(qid=0x5eed, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def opt_rr(rdata=b"", payload=1232, version=0, flags=0, owner=b"\x00"):
    return owner + struct.pack("!HHBBHH", 41, payload, 0, version, flags, len(rdata)) + rdata


def option(code, data):
    return struct.pack("!HH", code, len(data)) + data


def ecs_data(family, source, scope, address):
    return struct.pack("!HBB", family, source, scope) + address


ECS_V4 = dns.edns.ECSOption.from_text("198.51.100.0/24")
ECS_V4_AP = dns.edns.ECSOption.from_text("198.51.100.128/25")
ECS_V6 = dns.edns.ECSOption.from_text("2001:db8:100::/56")
COOKIE = dns.edns.GenericOption(10, bytes(range(8)))
NSID = dns.edns.GenericOption(3, b"")
UNKNOWN = dns.edns.GenericOption(65001, b"\x01\x02\x03")
PADDING = dns.edns.GenericOption(12, bytes(40))


def fuzz_query():
    h = "fuzz_query"
    types = ["A", "AAAA", "NS", "SOA", "MX", "TXT", "SRV", "CAA", "ANY", "DS", "RRSIG", "CNAME",
             "PTR", "NAPTR", "TLSA", "SSHFP", "HINFO", "LOC", "DNAME", "URI"]
    # Every name kind of the zone set, each with the types that matter for it.
    plain = {
        "fuzz.test.": types,
        "www.fuzz.test.": ["A", "AAAA", "ANY", "TXT"],
        "w.fuzz.test.": ["A", "AAAA"], "fo.fuzz.test.": ["A", "AAAA"],
        "h.fuzz.test.": ["A", "AAAA"], "g.fuzz.test.": ["A", "AAAA"],
        "all.fuzz.test.": ["A", "AAAA"], "big6.fuzz.test.": ["AAAA"],
        "fb.fuzz.test.": ["A"], "v4only.fuzz.test.": ["AAAA"],
        "deep.pool.name.fuzz.test.": ["A"],
        "c00.fuzz.test.": ["A"], "loop1.fuzz.test.": ["A"], "self.fuzz.test.": ["A"],
        "docs.fuzz.test.": ["A"], "tochild.fuzz.test.": ["A"], "todeleg.fuzz.test.": ["A"],
        "toent.fuzz.test.": ["A"], "tonx.fuzz.test.": ["A"], "out.fuzz.test.": ["A"],
        "tobig.fuzz.test.": ["TXT"], "bigtxt.fuzz.test.": ["TXT"],
        "sub.fuzz.test.": ["A", "NS", "DS"], "host.sub.fuzz.test.": ["A"],
        "bigdeleg.fuzz.test.": ["A"], "ns.sub.fuzz.test.": ["A"],
        "c.d.ent.fuzz.test.": ["A"], "a.b.c.d.ent.fuzz.test.": ["A"],
        "nx.fuzz.test.": ["A"], "MiXeD.CaSe.fuzz.test.": ["A"],
        "_sip._tcp.fuzz.test.": ["SRV"], "dname.fuzz.test.": ["DNAME"],
        "generic.fuzz.test.": ["TYPE65280"],
        "child.fuzz.test.": ["A", "AAAA", "SOA", "TXT"], "www.child.fuzz.test.": ["A"],
        "*.child.fuzz.test.": ["A"], "x.child.fuzz.test.": ["A"],
        "back.child.fuzz.test.": ["A"],
        "example.org.": ["A"], ".": ["NS"],
        # Wildcards: synthesized, the * itself, an existing name and an empty non-terminal
        # beside it, below them, a CNAME wildcard (one into a pool, one into itself), a * below
        # a delegation, a pool at *.cdn.
        "foo.wild.fuzz.test.": ["A", "AAAA", "MX", "TXT", "ANY"], "*.wild.fuzz.test.": ["A"],
        "host.wild.fuzz.test.": ["A", "MX"], "ent.wild.fuzz.test.": ["A"],
        "y.ent.wild.fuzz.test.": ["A"], "a.*.wild.fuzz.test.": ["A"],
        "x.cw.fuzz.test.": ["A"], "x.cwc.fuzz.test.": ["A"], "y.cwl.fuzz.test.": ["A"],
        "x.sub.fuzz.test.": ["A"], "a.b.cdn.fuzz.test.": ["A", "AAAA"],
        "static.cdn.fuzz.test.": ["A"], "y.wild.child.fuzz.test.": ["TXT"],
    }
    n = 0
    for name, ts in plain.items():
        for t in ts:
            slug = (name.strip(".").replace("*", "star").replace(".", "_") or "root").lower()
            write(h, f"q-{slug}-{t.lower()}", query(name, t, edns=0 if n % 2 else None))
            n += 1
    write(h, "edns-ecs-v4-geo", query("g.fuzz.test.", "A", edns=0, options=[ECS_V4]))
    write(h, "edns-ecs-v4-ap-geo", query("g.fuzz.test.", "A", edns=0, options=[ECS_V4_AP]))
    write(h, "edns-ecs-v6-geo", query("g.fuzz.test.", "AAAA", edns=0, options=[ECS_V6]))
    write(h, "edns-ecs-hash", query("h.fuzz.test.", "A", edns=0, options=[ECS_V4]))
    write(h, "edns-ecs-wildcard-hash", query("edge.cdn.fuzz.test.", "A", edns=0, options=[ECS_V4]))
    write(h, "edns-ecs-cname-hash", query("docs.fuzz.test.", "A", edns=0, options=[ECS_V6]))
    write(h, "edns-cookie-nsid-do", query("www.fuzz.test.", "A", edns=0, do=True,
                                          options=[COOKIE, NSID, UNKNOWN]))
    write(h, "edns-padding", query("fuzz.test.", "SOA", edns=0, options=[PADDING]))
    write(h, "edns-512-bigtxt", query("bigtxt.fuzz.test.", "TXT", edns=0, payload=512))
    write(h, "edns-4096-bigtxt", query("bigtxt.fuzz.test.", "TXT", edns=0, payload=4096))
    write(h, "edns-100-any", query("fuzz.test.", "ANY", edns=0, payload=100))
    write(h, "edns-65535-big6", query("big6.fuzz.test.", "AAAA", edns=0, payload=65535))
    write(h, "edns-bigdeleg-1232", query("x.bigdeleg.fuzz.test.", "A", edns=0))
    write(h, "edns-v1", query("www.fuzz.test.", "A", edns=1))
    write(h, "norecurse-chaos", header(flags=0) + wire_name("version.bind") + struct.pack("!HH", 16, 3))
    # Malformed, by hand.
    q = wire_name("www.fuzz.test") + struct.pack("!HH", 1, 1)
    write(h, "bad-qr-set", header(flags=0x8100) + q)
    write(h, "bad-opcode-notify", header(flags=0x2000) + q)
    write(h, "bad-opcode-update", header(flags=0x2800) + q)
    write(h, "bad-qdcount-0", header(qd=0))
    write(h, "bad-qdcount-2", header(qd=2) + q + q)
    write(h, "bad-ancount", header(an=1) + q)
    write(h, "bad-short-header", header()[:7])
    write(h, "bad-cut-question", header() + q[:-3])
    write(h, "bad-compressed-qname", header() + b"\x03www\xc0\x0c" + struct.pack("!HH", 1, 1))
    write(h, "bad-label-64", header() + b"\x40" + b"a" * 64 + b"\x00" + struct.pack("!HH", 1, 1))
    write(h, "bad-trailing", header() + q + b"\x00\x00")
    write(h, "bad-two-opt", header(ar=2) + q + opt_rr() + opt_rr())
    write(h, "bad-opt-owner", header(ar=1) + q + opt_rr(owner=wire_name("x")))
    write(h, "bad-opt-option-cut", header(ar=1) + q + opt_rr(b"\x00\x08\x00\x10\x00\x01"))
    write(h, "bad-ecs-host-bits", header(ar=1) + q + opt_rr(option(8, ecs_data(1, 20, 0, b"\xc6\x33\x6f"))))
    write(h, "bad-ecs-two", header(ar=1) + q + opt_rr(option(8, ecs_data(1, 0, 0, b"")) * 2))
    write(h, "bad-ecs-family-3", header(ar=1) + q + opt_rr(option(8, ecs_data(3, 0, 0, b""))))
    write(h, "ok-ecs-zero", header(ar=1) + q + opt_rr(option(8, ecs_data(1, 0, 0, b""))))
    write(h, "ok-opt-compressed-tsig-like", header(ar=2) + q + b"\xc0\x0c" +
          struct.pack("!HHIH", 250, 255, 0, 0) + opt_rr())
    write(h, "bad-qtype-axfr", header() + wire_name("fuzz.test") + struct.pack("!HH", 252, 1))
    write(h, "bad-qtype-opt", header() + wire_name("fuzz.test") + struct.pack("!HH", 41, 1))
    write(h, "qtype-maila", header() + wire_name("fuzz.test") + struct.pack("!HH", 254, 1))
    long_name = b"".join(b"\x3f" + b"x" * 63 for _ in range(3)) + b"\x3b" + b"y" * 59 + b"\x00"
    write(h, "name-255", header() + long_name + struct.pack("!HH", 1, 1))
    write(h, "bad-name-256", header() + long_name[:-1] + b"\x01z\x00" + struct.pack("!HH", 1, 1))


def fuzz_ecs():
    h = "fuzz_ecs"
    cases = {
        "v4-24": ecs_data(1, 24, 0, bytes([198, 51, 100])),
        "v4-25-ap": ecs_data(1, 25, 0, bytes([198, 51, 100, 128])),
        "v4-32": ecs_data(1, 32, 0, bytes([10, 1, 2, 3])),
        "v4-0": ecs_data(1, 0, 0, b""),
        "v4-scope-set": ecs_data(1, 24, 24, bytes([203, 0, 113])),
        "v6-56": ecs_data(2, 56, 0, bytes([0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0x80])),
        "v6-128": ecs_data(2, 128, 0, bytes(range(16))),
        "v6-0": ecs_data(2, 0, 0, b""),
        "bad-v4-33": ecs_data(1, 33, 0, bytes(5)),
        "bad-host-bits": ecs_data(1, 20, 0, bytes([198, 51, 0x6f])),
        "bad-too-many-octets": ecs_data(1, 16, 0, bytes([198, 51, 100])),
        "bad-family-3": ecs_data(3, 8, 0, b"\x01"),
        "bad-scope-129": ecs_data(2, 0, 129, b""),
        "bad-short": b"\x00\x01\x18",
    }
    for name, data in cases.items():
        write(h, name, data)


def fuzz_zone():
    h = "fuzz_zone"
    (CORPUS / h).mkdir(parents=True, exist_ok=True)
    for src in sorted((REPO / "zones").glob("*.json")) + sorted((HERE / "zones").glob("*.json")):
        shutil.copyfile(src, CORPUS / h / src.name)
    broken = {
        "syntax-trailing-comma.json": '{"zone": "a.test.", "ns": ["ns1",],}',
        "bad-address.json": '{"zone": "a.test", "soa": {"mname": "ns1", "rname": "h", "serial": 1},\n'
                            ' "ns": ["ns1"], "records": ["ns1 A 127.0.0.1"],\n'
                            ' "pools": {"www": {"members": [{"address": "192.0.2.300"}]}}}',
        "typo-key.json": '{"zone": "a.test", "soa": {"mname": "ns1", "rname": "h", "serial": 1},\n'
                         ' "ns": ["ns1"], "pools": {"www": {"polcy": "weighted", "members": []}}}',
        "cname-and-data.json": '{"zone": "a.test", "soa": {"mname": "ns1", "rname": "h", "serial": 1},\n'
                               ' "ns": ["ns1"], "records": ["x CNAME y", "x A 192.0.2.1", "@ SOA . . 1 2 3 4 5"]}',
        "below-delegation.json": '{"zone": "a.test", "soa": {"mname": "ns1", "rname": "h", "serial": 1},\n'
                                 ' "ns": ["ns1"], "records": ["d NS ns.d", "x.d TXT \\"no\\"", "ns.d A 192.0.2.1"],\n'
                                 ' "pools": {"y.d": {"members": [{"address": "192.0.2.2"}]}}}',
        "geo-errors.json": '{"zone": "a.test", "soa": {"mname": "ns1", "rname": "h", "serial": 1}, "ns": ["ns1"],\n'
                           ' "geo": {"rules": [{"net": "198.51.100.1/24", "region": "eu"}, {"country": "uk", "region": "x"}], "default": "zz"},\n'
                           ' "pools": {"g": {"policy": "geo", "regions": {"eu": ["mars"]}, "members": [{"address": "192.0.2.1"}]}}}',
        "fallback-loop.json": '{"zone": "a.test", "soa": {"mname": "ns1", "rname": "h", "serial": 1}, "ns": ["ns1"],\n'
                              ' "pools": {"a": {"fallback": "b", "members": [{"address": "192.0.2.1"}]},\n'
                              '           "b": {"fallback": "a", "members": [{"address": "192.0.2.2"}]}}}',
        "checks.json": '{"zone": "a.test", "soa": {"mname": "ns1", "rname": "h", "serial": 1}, "ns": ["ns1"],\n'
                       ' "checks": {"h": {"type": "http", "port": 70000, "paths": ["x"], "expect_status": [99]},\n'
                       '            "e": {"type": "exec", "command": []}, "t": {"type": "tcp", "interval": 1, "timeout": 2}},\n'
                       ' "pools": {"p": {"check": "nope", "members": [{"address": "192.0.2.1", "check": "h"}]}}}',
        "wrong-types.json": '{"zone": 5, "ttl": "x", "soa": [], "ns": "ns1", "records": {}, "pools": []}',
        "empty.json": "\n",
        "bom-blank.json": "\ufeff\n ",  # found by fuzz_zone: blank after a byte order mark
        "utf8-bom.json": '\ufeff{"zone": "a.test"}',
        "deep-nesting.json": "[" * 200 + "]" * 200,
        "wildcard-errors.json": '{"zone": "a.test", "soa": {"mname": "ns1", "rname": "h", "serial": 1}, "ns": ["ns1"],\n'
                                ' "records": ["a.*.b A 192.0.2.1", "*.d NS ns.d", "*.ok A 192.0.2.2"],\n'
                                ' "pools": {"x.*.y": {"members": [{"address": "192.0.2.3"}]}, "*.cdn": {"members": [{"address": "192.0.2.4"}]}}}',
    }
    for name, text in broken.items():
        write(h, name, text.encode())


if __name__ == "__main__":
    shutil.rmtree(CORPUS, ignore_errors=True)
    fuzz_query()
    fuzz_ecs()
    fuzz_zone()
    total = sum(1 for _ in CORPUS.rglob("*") if _.is_file())
    print(f"wrote {total} files under {CORPUS.relative_to(REPO)}")
