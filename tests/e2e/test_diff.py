#!/usr/bin/python3
"""`steerdns check --diff OLD NEW`: what an edit of the repo's policies zone changes (records,
pools, members, geo nets and preference lists), read from files, directories, a FIFO,
/dev/stdin and bash's <(git show HEAD:...); --json; exit 0 changed or not, 1 with located
errors when a side is invalid."""

import copy
import json
import os
import shutil
import subprocess
import sys
import threading

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402

ZONE_FILE = h.REPO / "zones" / "policies.example.test.json"
APEX = "policies.example.test."


def edited(z):
    """The edit the test makes: a record, a pool's answers and weights, a new member, a geo
    net split between two regions, one region's preference list, a pool gone, one new."""
    z = copy.deepcopy(z)
    z["soa"]["serial"] += 1
    z["records"].append("api A 192.0.2.9")
    z["records"].remove("sticky CNAME shop")
    z["geo"]["rules"][0] = {"net": "198.51.100.0/25", "region": "eu"}
    z["geo"]["rules"].insert(1, {"net": "198.51.100.128/25", "region": "us"})
    z["pools"]["canary"]["answers"] = 2
    z["pools"]["canary"]["members"][1]["weight"] = 3
    z["pools"]["db"]["members"].append({"address": "192.0.2.23", "priority": 98})
    z["pools"]["app"]["regions"]["eu"] = ["eu", "ap", "us"]
    del z["pools"]["multi"]
    z["pools"]["new"] = {"policy": "weighted", "ttl": 30, "members": h.members("192.0.2.60")}
    return z


EXPECTED = [
    f"zone {APEX}: changed",
    f"  name added: api.{APEX}",
    f"  name added: new.{APEX}",
    f"  name removed: multi.{APEX}",
    f"  name removed: sticky.{APEX}",
    f"  rrset added: api.{APEX} A",
    f"    + api.{APEX} 300 IN A 192.0.2.9",
    f"  rrset changed: {APEX} SOA",
    f"    - {APEX} 300 IN SOA ns1.{APEX} hostmaster.{APEX} 2026112601 3600 600 1209600 60",
    f"    + {APEX} 300 IN SOA ns1.{APEX} hostmaster.{APEX} 2026112602 3600 600 1209600 60",
    f"  rrset removed: sticky.{APEX} CNAME",
    f"    - sticky.{APEX} 300 IN CNAME shop.{APEX}",
    "  pool app: changed",
    "    region eu: eu, us -> eu, ap, us",
    "  pool canary: changed",
    "    answers: 1 -> 2",
    "    member 192.0.2.11: weight 1 -> 3",
    "  pool db: changed",
    "    member 192.0.2.23: added (weight 1, priority 98)",
    "  pool multi: removed",
    "  pool new: added (policy weighted, ttl 30, answers all, fallback all, members 1)",
    "  net 198.51.100.128/25: eu -> us",
    "1 zone changed, 0 added, 0 removed, 0 unchanged",
]


def write(path, z):
    path.write_text(json.dumps(z, indent=2) + "\n")


with h.Test("check --diff") as t:
    b = t.binary
    tmp = t.tempdir("steerdns-e2e-diff-")
    old_text = ZONE_FILE.read_text()
    new_zone = edited(json.loads(old_text))
    new_file = tmp / "policies.example.test.json"
    write(new_file, new_zone)

    # ---- two files ------------------------------------------------------------------------
    res = h.run([b, "check", "--diff", str(ZONE_FILE), str(new_file)])
    t.eq("check --diff OLD NEW exits 0", res.returncode, 0)
    t.eq("check --diff prints every change, sorted", res.stdout.splitlines(), EXPECTED)
    t.eq("check --diff: nothing on stderr", res.stderr, "")
    by_files = res.stdout

    res = h.run([b, "check", "--diff", str(ZONE_FILE), str(ZONE_FILE)])
    t.eq("check --diff of a file against itself exits 0", res.returncode, 0)
    t.eq("check --diff of a file against itself: unchanged", res.stdout.splitlines(),
         [f"zone {APEX}: unchanged", "0 zones changed, 0 added, 0 removed, 1 unchanged"])

    # ---- pipes: bash <(...), <(git show ...), a FIFO, /dev/stdin ---------------------------
    bash = shutil.which("bash")
    if bash is None:
        t.skip("<(...) process substitution", "bash not found")
    else:
        res = h.run([bash, "-c", 'exec "$0" check --diff <(cat "$1") "$2"', b, str(ZONE_FILE),
                     str(new_file)])
        t.eq("check --diff <(cat OLD) NEW exits 0", res.returncode, 0)
        t.eq("check --diff <(cat OLD) NEW prints what the two files give", res.stdout, by_files)

    git = shutil.which("git")
    if git is None or bash is None:
        t.skip("<(git show HEAD:zones/x.json)", "git or bash not found")
    else:
        repo = tmp / "repo"
        (repo / "zones").mkdir(parents=True)
        (repo / "zones" / "x.json").write_text(old_text)
        env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.test",
                   GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.test",
                   GIT_CONFIG_NOSYSTEM="1", HOME=str(tmp))
        for cmd in (["init", "-q"], ["add", "zones/x.json"], ["commit", "-qm", "zones"]):
            subprocess.run([git, *cmd], cwd=repo, env=env, check=True, capture_output=True)
        write(repo / "zones" / "x.json", new_zone)
        res = h.run([bash, "-c",
                     'exec "$0" check --diff <(git show HEAD:zones/x.json) zones/x.json', b],
                    cwd=str(repo), env=env)
        t.eq("check --diff <(git show HEAD:zones/x.json) zones/x.json exits 0", res.returncode, 0)
        t.eq("check --diff <(git show ...) prints the edit", res.stdout, by_files)

    # A zone with a GeoIP database beside it: read from a pipe, its relative "database" is the
    # one beside the other side's file. Country rules are compared as rules.
    have_writer = subprocess.run(["perl", "-MMaxMind::DB::Writer::Tree", "-e", "1"],
                                 capture_output=True).returncode == 0
    if git is None or bash is None or not have_writer:
        t.skip("<(git show ...) of a zone with a relative database",
               "git, bash or libmaxmind-db-writer-perl not installed")
    else:
        h.run(["perl", str(h.REPO / "tests" / "data" / "write_test_mmdb.pl"),
               str(repo / "zones" / "test.mmdb")], timeout=30).check_returncode()
        db_zone = json.loads(old_text)
        db_zone["geo"]["database"] = "test.mmdb"
        db_zone["geo"]["rules"].append({"country": "US", "region": "us"})
        write(repo / "zones" / "x.json", db_zone)
        subprocess.run([git, "commit", "-qam", "database"], cwd=repo, env=env, check=True,
                       capture_output=True)
        db_zone["geo"]["rules"][-1]["region"] = "eu"
        del db_zone["geo"]["rules"][0]  # 198.51.100.0/24 (eu): now the database decides
        write(repo / "zones" / "x.json", db_zone)
        res = h.run([bash, "-c",
                     'exec "$0" check --diff <(git show HEAD:zones/x.json) zones/x.json', b],
                    cwd=str(repo), env=env)
        t.eq("check --diff <(git show ...) of a zone with \"database\": \"test.mmdb\" exits 0",
             res.returncode, 0)
        t.eq("... prints the country rule and the net the database now decides",
             res.stdout.splitlines(),
             [f"zone {APEX}: changed", "  geo country US: us -> eu",
              "  net 198.51.100.0/24: eu -> (database)",
              "1 zone changed, 0 added, 0 removed, 0 unchanged"])

    fifo = tmp / "old.fifo"
    os.mkfifo(fifo)

    def feed():
        with open(fifo, "w") as f:
            f.write(old_text)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    res = h.run([b, "check", "--diff", str(fifo), str(new_file)])
    writer.join(5)
    t.eq("check --diff FIFO NEW exits 0 (the pipe read once)", res.returncode, 0)
    t.eq("check --diff FIFO NEW prints the edit", res.stdout, by_files)

    res = subprocess.run([b, "check", "--diff", str(ZONE_FILE), "/dev/stdin"],
                         input=new_file.read_text(), capture_output=True, text=True, timeout=10)
    t.eq("check --diff OLD /dev/stdin exits 0", res.returncode, 0)
    t.eq("check --diff OLD /dev/stdin prints the edit", res.stdout, by_files)

    # ---- --json ---------------------------------------------------------------------------
    res = h.run([b, "check", "--diff", str(ZONE_FILE), str(new_file), "--json"])
    t.eq("check --diff --json exits 0", res.returncode, 0)
    try:
        doc = json.loads(res.stdout)
    except ValueError as e:
        doc = {}
        t.fail("check --diff --json prints one JSON object", f"{e}\n{res.stdout}")
    t.eq("--json: changed", doc.get("changed"), True)
    zones = doc.get("zones", [])
    t.eq("--json: one zone, changed", [(z.get("zone"), z.get("change")) for z in zones],
         [(APEX, "changed")])
    z = zones[0] if zones else {}
    t.eq("--json: nets", z.get("nets"), [{"net": "198.51.100.128/25", "old": "eu", "new": "us"}])
    t.eq("--json: names added", z.get("names_added"), [f"api.{APEX}", f"new.{APEX}"])
    pools = {p["name"]: p for p in z.get("pools", [])}
    t.eq("--json: pools changed, added, removed",
         sorted((n, p["change"]) for n, p in pools.items()),
         [("app", "changed"), ("canary", "changed"), ("db", "changed"), ("multi", "removed"),
          ("new", "added")])
    t.eq("--json: app's list for eu", pools.get("app", {}).get("regions"),
         [{"region": "eu", "old": ["eu", "us"], "new": ["eu", "ap", "us"]}])
    t.eq("--json: canary's member 192.0.2.11",
         pools.get("canary", {}).get("members"),
         [{"address": "192.0.2.11", "change": "changed",
           "fields": [{"field": "weight", "old": "1", "new": "3"}]}])

    # ---- directories: zones paired by apex ------------------------------------------------
    old_dir = h.REPO / "zones"
    new_dir = tmp / "zones"
    new_dir.mkdir()
    write(new_dir / "renamed-policies.json", new_zone)
    other = copy.deepcopy(h.LB_ZONE)
    other["zone"] = "other.test."
    write(new_dir / "other.json", other)
    res = h.run([b, "check", "--diff", str(old_dir), str(new_dir)])
    t.eq("check --diff DIR DIR exits 0", res.returncode, 0)
    lines = res.stdout.splitlines()
    t.eq("check --diff DIR DIR: a zone per apex, sorted, whatever the file names",
         [line for line in lines if line.startswith("zone ")],
         ["zone lb.example.test.: removed (1 pool, 9 names)",
          "zone other.test.: added (1 pool, 9 names)", f"zone {APEX}: changed"])
    t.eq("check --diff DIR DIR: the summary", lines[-1:],
         ["1 zone changed, 1 added, 1 removed, 0 unchanged"])

    # ---- an invalid side ------------------------------------------------------------------
    broken = copy.deepcopy(new_zone)
    broken["pools"]["canary"]["members"][0]["address"] = "192.0.2.300"
    broken_file = tmp / "broken.json"
    write(broken_file, broken)
    res = h.run([b, "check", "--diff", str(ZONE_FILE), str(broken_file)])
    t.eq("check --diff OLD BROKEN exits 1", res.returncode, 1)
    t.eq("check --diff OLD BROKEN prints no diff", res.stdout, "")
    t.check("check --diff OLD BROKEN: FILE:LINE:COL: json.path: message on stderr",
            "broken.json:" in res.stderr and "pools.canary.members[0].address:" in res.stderr,
            detail=res.stderr)
    res = h.run([b, "check", "--diff", str(tmp / "missing.json"), str(new_file)])
    t.eq("check --diff MISSING NEW exits 1", res.returncode, 1)

    # ---- the command line -----------------------------------------------------------------
    res = h.run([b, "check", "--diff", str(ZONE_FILE)])
    t.eq("check --diff with one path is a usage error (2)", res.returncode, 2)
    res = h.run([b, "check", str(ZONE_FILE), "--json"])
    t.eq("check --json without --diff is a usage error (2)", res.returncode, 2)
    res = h.run([b, "check"])
    t.eq("check without PATH or --diff is a usage error (2)", res.returncode, 2)
