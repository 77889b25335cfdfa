#!/usr/bin/python3
"""The published JSON Schema (zones/schema/zone.schema.json) accepts every example zone in the
repository and rejects what steerdns check rejects for shape reasons, so an editor that
validates while typing agrees with the server."""

import copy
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True
import jsonschema  # noqa: E402

import harness as h  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "zones" / "schema" / "zone.schema.json"


def main() -> None:
    with h.Test("json schema") as t:
        schema = json.loads(SCHEMA.read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        t.check("the schema itself is a valid draft 2020-12 schema", True)
        validator = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)

        examples = sorted(REPO.glob("zones/*.json")) + sorted(REPO.glob("bench/zones/*/*.json"))
        t.check("there are example zones", len(examples) >= 2, detail=str(examples))
        for path in examples:
            errors = [f"{'.'.join(map(str, e.path))}: {e.message}"
                      for e in validator.iter_errors(json.loads(path.read_text()))]
            t.eq(f"{path.relative_to(REPO)} validates against the schema", errors, [])
        for name, zone in [("harness LB_ZONE", h.LB_ZONE), ("harness PARENT_ZONE", h.PARENT_ZONE)]:
            t.eq(f"{name} validates", [e.message for e in validator.iter_errors(zone)], [])

        # Shape mistakes: the schema and steerdns check must both reject them.
        base = json.loads((REPO / "zones" / "lb.example.test.json").read_text())
        bad = {}
        b = copy.deepcopy(base); b["pools"]["www"]["polcy"] = "round-robin"; bad["unknown pool key"] = b
        b = copy.deepcopy(base); b["pools"]["www"]["members"][0]["address"] = "192.0.2.300"; bad["bad address"] = b
        b = copy.deepcopy(base); b["ttl"] = -1; bad["negative ttl"] = b
        b = copy.deepcopy(base); del b["soa"]; bad["missing soa"] = b
        b = copy.deepcopy(base); b["ns"] = []; bad["empty ns"] = b
        b = copy.deepcopy(base); b["pools"]["www"]["policy"] = "random"; bad["unknown policy"] = b
        b = copy.deepcopy(base); b["pools"]["www"]["answers"] = 0; bad["answers 0"] = b
        b = copy.deepcopy(base); b["soa"]["serial"] = "1"; bad["serial as a string"] = b
        b = copy.deepcopy(base); b["pools"]["www"]["members"] = []; bad["no members"] = b
        b = copy.deepcopy(base); b["pools"]["a.*.b"] = b["pools"].pop("www"); bad["* inside a pool name"] = b
        b = copy.deepcopy(base); b["failover_budget"] = "20"; bad["failover_budget as a string"] = b
        b = copy.deepcopy(base); b["pools"]["www"]["failover_budget"] = 0; bad["failover_budget 0"] = b
        b = copy.deepcopy(base); b["pools"]["www"]["ttl_degraded"] = -5; bad["negative ttl_degraded"] = b
        b = copy.deepcopy(base); b["pools"]["www"]["ttl_degraded"] = 2.5; bad["fractional ttl_degraded"] = b
        b = copy.deepcopy(base); b["pools"]["www"]["ttl_degraded"] = "5"; bad["ttl_degraded as a string"] = b
        b = copy.deepcopy(base); b["pools"]["www"]["ttl_degrade"] = 5; bad["misspelt ttl_degraded"] = b
        b = copy.deepcopy(base); b["notify"] = ["/bin/n", "{stat}"]; bad["notify placeholder typo"] = b
        b = copy.deepcopy(base); b["notify"] = []; bad["notify empty"] = b
        b = copy.deepcopy(base); b["notify"] = "/bin/n {zone}"; bad["notify as a string"] = b
        b = copy.deepcopy(base); b["notify"] = ["", "{zone}"]; bad["notify empty program"] = b
        b = copy.deepcopy(base); b["notfy"] = ["/bin/n"]; bad["notify misspelt"] = b
        b = copy.deepcopy(base); b["dnssec"] = {}; bad["dnssec without keys"] = b
        b = copy.deepcopy(base); b["dnssec"] = {"keys": ""}; bad["dnssec keys empty"] = b
        b = copy.deepcopy(base); b["dnssec"] = {"keys": "k", "signature_validity": 60}; bad["dnssec validity too short"] = b
        b = copy.deepcopy(base); b["dnssec"] = {"keys": "k", "signature_valdity": 86400}; bad["dnssec key misspelt"] = b
        b = copy.deepcopy(base); b["dnssec"] = "keys/lb"; bad["dnssec as a string"] = b
        checked = copy.deepcopy(base)
        checked["checks"] = {"web": {"type": "tcp", "port": 80, "damping": {"half_life": 30}}}
        checked["pools"]["www"]["check"] = "web"
        b = copy.deepcopy(checked); b["checks"]["web"]["damping"]["half_lfe"] = 10; bad["unknown damping key"] = b
        b = copy.deepcopy(checked); b["checks"]["web"]["damping"]["suppress"] = "3"; bad["damping suppress as a string"] = b
        b = copy.deepcopy(checked); b["pools"]["www"]["members"][0]["damping"] = {"half_life": 0}; bad["member damping half_life 0"] = b
        b = copy.deepcopy(checked); b["pools"]["www"]["failback"] = "manuel"; bad["failback typo"] = b
        b = copy.deepcopy(checked); b["pools"]["www"]["failback"] = {"delay": 0}; bad["failback delay 0"] = b
        b = copy.deepcopy(checked); b["pools"]["www"]["failback"] = {"dealy": 5}; bad["failback delay misspelt"] = b
        b = copy.deepcopy(checked); b["pools"]["www"]["failback"] = 5; bad["failback as a number"] = b
        with tempfile.TemporaryDirectory() as d:
            for what, doc in bad.items():
                t.check(f"schema rejects: {what}", any(True for _ in validator.iter_errors(doc)))
                p = Path(d) / "bad.json"
                p.write_text(json.dumps(doc, indent=2))
                r = subprocess.run([t.binary, "check", str(p)], capture_output=True, text=True,
                                   timeout=10)
                t.check(f"steerdns check rejects: {what}", r.returncode == 1,
                        detail=r.stdout + r.stderr)
            # And the other way round: "$schema" in a zone file is accepted by the server.
            good = copy.deepcopy(base)
            good["$schema"] = "schema/zone.schema.json"
            p = Path(d) / "good.json"
            p.write_text(json.dumps(good, indent=2))
            r = subprocess.run([t.binary, "check", str(p)], capture_output=True, text=True,
                               timeout=10)
            t.check("a \"$schema\" key is accepted by steerdns check", r.returncode == 0,
                    detail=r.stdout + r.stderr)
            t.eq("and by the schema", [e.message for e in validator.iter_errors(good)], [])
            # Damping on a check and on a member: accepted by both.
            damped = copy.deepcopy(checked)
            damped["pools"]["www"]["members"][0]["damping"] = {"suppress": 5, "reuse": 2}
            p.write_text(json.dumps(damped, indent=2))
            r = subprocess.run([t.binary, "check", str(p)], capture_output=True, text=True,
                               timeout=10)
            t.check("damping on a check and a member is accepted by steerdns check",
                    r.returncode == 0, detail=r.stdout + r.stderr)
            t.eq("and damping by the schema", [e.message for e in validator.iter_errors(damped)], [])
            # A pool at a wildcard owner (RFC 4592): accepted by both.
            wild = copy.deepcopy(base)
            wild["pools"]["*.cdn"] = copy.deepcopy(wild["pools"]["www"])
            p.write_text(json.dumps(wild, indent=2))
            r = subprocess.run([t.binary, "check", str(p)], capture_output=True, text=True,
                               timeout=10)
            t.check("a pool at *.cdn is accepted by steerdns check", r.returncode == 0,
                    detail=r.stdout + r.stderr)
            t.eq("and by the schema", [e.message for e in validator.iter_errors(wild)], [])
            # "failover_budget" at zone and pool level (issue 14): accepted by both.
            budget = copy.deepcopy(base)
            budget["failover_budget"] = 120
            budget["checks"] = {"web": {"type": "tcp", "port": 80}}
            budget["pools"]["www"].update({"check": "web", "failover_budget": 47.5})
            p.write_text(json.dumps(budget, indent=2))
            r = subprocess.run([t.binary, "check", str(p)], capture_output=True, text=True,
                               timeout=10)
            t.check("failover_budget (zone and pool) is accepted by steerdns check",
                    r.returncode == 0, detail=r.stdout + r.stderr)
            t.eq("and by the schema", [e.message for e in validator.iter_errors(budget)], [])
            # "ttl_degraded" (issue 15): accepted by both.
            degraded = copy.deepcopy(base)
            degraded["pools"]["www"].update({"ttl": 30, "ttl_degraded": 5})
            p.write_text(json.dumps(degraded, indent=2))
            r = subprocess.run([t.binary, "check", str(p)], capture_output=True, text=True,
                               timeout=10)
            t.check("ttl_degraded is accepted by steerdns check", r.returncode == 0,
                    detail=r.stdout + r.stderr)
            t.eq("and by the schema", [e.message for e in validator.iter_errors(degraded)], [])
            # Above the ttl: the schema cannot compare two keys; check warns and accepts.
            degraded["pools"]["www"]["ttl_degraded"] = 60
            p.write_text(json.dumps(degraded, indent=2))
            r = subprocess.run([t.binary, "check", str(p)], capture_output=True, text=True,
                               timeout=10)
            t.check("a ttl_degraded above the ttl is a warning, not an error",
                    r.returncode == 0 and "longer than the pool's ttl 30" in r.stdout + r.stderr,
                    detail=r.stdout + r.stderr)
            # "failback" (issue 15): accepted by both in its three forms; a typo is located
            # with a did-you-mean.
            for value in ["immediate", "manual", {"delay": 2.5}]:
                fb = copy.deepcopy(checked)
                fb["pools"]["www"]["failback"] = value
                p.write_text(json.dumps(fb, indent=2))
                r = subprocess.run([t.binary, "check", str(p)], capture_output=True, text=True,
                                   timeout=10)
                t.check(f"failback {value} is accepted by steerdns check", r.returncode == 0,
                        detail=r.stdout + r.stderr)
                t.eq("and by the schema", [e.message for e in validator.iter_errors(fb)], [])
            fb["pools"]["www"]["failback"] = "manuel"
            p.write_text(json.dumps(fb, indent=2))
            r = subprocess.run([t.binary, "check", str(p)], capture_output=True, text=True,
                               timeout=10)
            t.check("a failback typo: the line, the key and a did-you-mean",
                    r.returncode == 1 and
                    'pools.www.failback: unknown failback "manuel" (did you mean "manual"?)'
                    in r.stdout + r.stderr, detail=r.stdout + r.stderr)
            # "notify" (issue 15): accepted by both, every placeholder.
            notify = copy.deepcopy(base)
            notify["notify"] = ["/usr/local/bin/on-change", "{zone}", "{pool}", "{address}",
                                "{state}", "{reason}", "--member={pool}/{address}", "${HOME}"]
            p.write_text(json.dumps(notify, indent=2))
            r = subprocess.run([t.binary, "check", str(p)], capture_output=True, text=True,
                               timeout=10)
            t.check("notify is accepted by steerdns check", r.returncode == 0,
                    detail=r.stdout + r.stderr)
            t.eq("and by the schema", [e.message for e in validator.iter_errors(notify)], [])
            # A placeholder typo: located, with a did-you-mean.
            notify["notify"][2] = "{pol}"
            p.write_text(json.dumps(notify, indent=2))
            r = subprocess.run([t.binary, "check", str(p)], capture_output=True, text=True,
                               timeout=10)
            t.check("a placeholder typo: the line, the key and a did-you-mean",
                    r.returncode == 1 and
                    "notify[2]: unknown placeholder {pol} (did you mean {pool}?)" in r.stdout + r.stderr,
                    detail=r.stdout + r.stderr)


if __name__ == "__main__":
    main()
