#!/usr/bin/python3
"""Turns one bench/run.sh result directory into report.md (tables) and chart.png (gnuplot).

usage: bench/report.py RESULT_DIR

Ratios are medians of per-round ratios: each round ran every target once, back to back, so
a ratio inside a round compares servers under the same foreign load.
"""
import csv
import statistics
import subprocess
import sys
from pathlib import Path

OURS = ["steerdns", "steerdns-rr", "steerdns-geo"]
PEERS = ["gdnsd", "knot", "nsd", "pdns-static", "pdns-lua-shared", "pdns-lua", "reflector-mmsg"]
LABEL = {
    "steerdns": "steerdns weighted",
    "steerdns-rr": "steerdns round-robin",
    "steerdns-geo": "steerdns geo",
    "gdnsd": "gdnsd weighted DYNA",
    "knot": "Knot DNS (static)",
    "nsd": "NSD (static)",
    "pdns-static": "PowerDNS (static)",
    "pdns-lua-shared": "PowerDNS LUA (shared)",
    "pdns-lua": "PowerDNS LUA",
    "reflector-mmsg": "reflector (no DNS)",
}
RUNS = [("udp", "blaster", "www"), ("udp", "blaster", "mix"), ("udp", "dnsperf", "www"),
        ("udp", "dnsperf", "mix"), ("tcp", "dnsperf", "www"), ("tcp", "dnsperf", "mix")]


def load_peers(d: Path):
    rows = {}
    path = d / "peers" / "results.tsv"
    if not path.exists():
        return rows
    for r in csv.DictReader(open(path), delimiter="\t"):
        key = (r["proto"], r["tool"], r["mix"], r["target"])
        rows.setdefault(key, {})[int(r["round"])] = r
    return rows


def med_range(values):
    if not values:
        return "n/a"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def qps_text(values):
    if not values:
        return "n/a"
    m = statistics.median(values)
    return f"{m / 1000:.1f}k ({min(values) / 1000:.0f}-{max(values) / 1000:.0f}k)"


def ratios(rows, run, a, b, field="qps"):
    ra = rows.get(run + (a,), {})
    rb = rows.get(run + (b,), {})
    out = []
    for rnd in sorted(set(ra) & set(rb)):
        x, y = float(ra[rnd][field]), float(rb[rnd][field])
        if y > 0:
            out.append(x / y)
    return out


def peers_tables(rows, lines):
    targets = [t for t in OURS + PEERS if any(k[3] == t for k in rows)]
    lines.append("### Every server, 1 worker pinned (median QPS (min-max) / server CPU us per query)\n")
    head = "| server | " + " | ".join(f"{p} {t} {m}" for p, t, m in RUNS) + " |"
    lines.append(head)
    lines.append("|" + "---|" * (len(RUNS) + 1))
    for t in targets:
        cells = []
        for run in RUNS:
            r = rows.get(run + (t,), {})
            q = [float(x["qps"]) for x in r.values()]
            us = [float(x["srv_us_per_q"]) for x in r.values()]
            cells.append(f"{qps_text(q)} / {statistics.median(us):.2f} us" if q else "n/a")
        lines.append(f"| {LABEL.get(t, t)} | " + " | ".join(cells) + " |")
    lines.append("")
    for ours in [t for t in OURS if t in targets]:
        lines.append(f"### {LABEL[ours]} / peer: median of per-round QPS ratios (min-max)\n")
        lines.append("| peer | " + " | ".join(f"{p} {t} {m}" for p, t, m in RUNS) + " |")
        lines.append("|" + "---|" * (len(RUNS) + 1))
        for peer in [t for t in PEERS if t in targets]:
            cells = [med_range(ratios(rows, run, ours, peer)) for run in RUNS]
            lines.append(f"| {LABEL.get(peer, peer)} | " + " | ".join(cells) + " |")
        cpu = ratios(rows, ("udp", "blaster", "www"), ours, "reflector-mmsg", "srv_us_per_q")
        lines.append(f"\nServer CPU per query / the reflector's (blaster www): {med_range(cpu)}\n")


def targets_check(rows, lines):
    """The issue's targets, stated and checked on the blaster www runs."""
    lines.append("### Targets (blaster www, 1 worker pinned)\n")
    lines.append("| target | measured | met |")
    lines.append("|---|---|---|")
    run = ("udp", "blaster", "www")
    for ours in [t for t in OURS if run + (t,) in rows]:
        g = ratios(rows, run, ours, "gdnsd")
        best = []
        for rnd in sorted(rows.get(run + (ours,), {})):
            peers = [float(rows[run + (p,)][rnd]["qps"]) for p in ("nsd", "knot")
                     if rnd in rows.get(run + (p,), {})]
            if peers:
                best.append(float(rows[run + (ours,)][rnd]["qps"]) / max(peers))
        cpu = ratios(rows, run, ours, "reflector-mmsg", "srv_us_per_q")
        for name, vals, goal, higher in (
                (f"{LABEL[ours]} / gdnsd >= 1.0", g, 1.0, True),
                (f"{LABEL[ours]} / max(NSD, Knot) >= 1.2", best, 1.2, True),
                (f"{LABEL[ours]} CPU per query / reflector <= 1.05", cpu, 1.05, False)):
            if vals:
                m = statistics.median(vals)
                ok = m >= goal if higher else m <= goal
                lines.append(f"| {name} | {med_range(vals)} | {'yes' if ok else 'no'} |")
    tcp = ratios(rows, ("tcp", "dnsperf", "www"), "steerdns", "gdnsd")
    if tcp:
        lines.append(f"| TCP steerdns / gdnsd >= 1.0 | {med_range(tcp)} | "
                     f"{'yes' if statistics.median(tcp) >= 1.0 else 'no'} |")
    lines.append("")


def tsv_section(d: Path, name: str, title: str, lines, summarize):
    path = d / name
    if path.exists():
        lines.append(f"### {title}\n")
        summarize(list(csv.DictReader(open(path), delimiter="\t")), lines)
        lines.append("")


def ecs_summary(rows, lines):
    by = {}
    for r in rows:
        by.setdefault(r["mode"], []).append(r)
    lines.append("| queries | QPS median | server CPU us/query median | CPU / plain (per round) |")
    lines.append("|---|---|---|---|")
    plain = {r["round"]: float(r["srv_us_per_q"]) for r in by.get("plain", [])}
    for mode in ("plain", "edns", "ecs"):
        rs = by.get(mode, [])
        if not rs:
            continue
        q = [float(r["qps"]) for r in rs]
        us = [float(r["srv_us_per_q"]) for r in rs]
        rel = [float(r["srv_us_per_q"]) / plain[r["round"]] for r in rs if plain.get(r["round"])]
        lines.append(f"| {mode} | {qps_text(q)} | {statistics.median(us):.2f} | {med_range(rel)} |")


def scaling_summary(rows, lines):
    by = {}
    for r in rows:
        by.setdefault((r["target"], r["threads"]), {})[r["round"]] = float(r["qps"])
    lines.append("| server | 1 thread QPS | 2 threads QPS | 2 / 1 (per round) |")
    lines.append("|---|---|---|---|")
    for t in ("steerdns", "gdnsd"):
        one, two = by.get((t, "1"), {}), by.get((t, "2"), {})
        rel = [two[k] / one[k] for k in sorted(set(one) & set(two)) if one[k] > 0]
        lines.append(f"| {t} | {qps_text(list(one.values()))} | {qps_text(list(two.values()))} | "
                     f"{med_range(rel)} |")


def latency_summary(rows, lines):
    by = {}
    for r in rows:
        by.setdefault(r["target"], []).append(r)
    lines.append("| server | queries | p50 ms | p99 ms | p99.9 ms (medians of rounds) |")
    lines.append("|---|---|---|---|---|")
    for t, rs in by.items():
        def med(k):
            return statistics.median(float(r[k]) for r in rs)
        lines.append(f"| {t} | {sum(int(r['queries']) for r in rs)} | {med('p50_ms'):.3f} | "
                     f"{med('p99_ms'):.3f} | {med('p999_ms'):.3f} |")


def chart(d: Path, rows) -> None:
    targets = [t for t in OURS + PEERS if any(k[3] == t for k in rows)]
    runs = [("udp", "blaster", "www"), ("udp", "blaster", "mix"), ("tcp", "dnsperf", "www")]
    dat = d / "chart.dat"
    with open(dat, "w") as f:
        f.write("# server " + " ".join(f"{p}-{t}-{m} min max" for p, t, m in runs) + " cpu_us\n")
        for t in targets:
            cols = []
            for run in runs:
                q = [float(x["qps"]) / 1000 for x in rows.get(run + (t,), {}).values()]
                cols += [statistics.median(q), min(q), max(q)] if q else [0, 0, 0]
            us = [float(x["srv_us_per_q"]) for x in rows.get(("udp", "blaster", "www") + (t,), {}).values()]
            cols.append(statistics.median(us) if us else 0)
            f.write('"' + LABEL.get(t, t) + '" ' + " ".join(f"{c:.3f}" for c in cols) + "\n")
    script = f"""
set terminal pngcairo size 1400,900 font "DejaVu Sans,11"
set output "{d / 'chart.png'}"
set multiplot layout 2,1 title "steerdns and peers, 1 worker pinned, loopback, median of rounds (bars: min-max)"
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.8 border -1
set ylabel "thousand queries per second"
set yrange [0:*]
set grid ytics
set key top right
set xtics rotate by -20 scale 0
plot "{dat}" using 2:3:4:xtic(1) title "UDP blaster, www (balanced)", \\
     "" using 5:6:7 title "UDP blaster, mix 70/20/10", \\
     "" using 8:9:10 title "TCP dnsperf, www"
set style histogram clustered gap 1
set ylabel "server CPU us per query (log scale, lower is better)"
set logscale y
set yrange [1:*]
plot "{dat}" using 11:xtic(1) title "UDP blaster, www" lc rgb "#4477aa"
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def main() -> int:
    d = Path(sys.argv[1])
    rows = load_peers(d)
    lines = [f"# Benchmark report: {d.name}\n"]
    if (d / "machine.txt").exists():
        lines.append("```\n" + (d / "machine.txt").read_text().strip() + "\n```\n")
    if rows:
        targets_check(rows, lines)
        peers_tables(rows, lines)
        rss = d / "peers" / "rss.tsv"
        if rss.exists():
            lines.append("### Peak RSS (sum of VmHWM over the server's processes)\n")
            lines.append("| server | MiB |")
            lines.append("|---|---|")
            for r in csv.DictReader(open(rss), delimiter="\t"):
                lines.append(f"| {LABEL.get(r['target'], r['target'])} | {int(r['vmhwm_kib_sum']) / 1024:.1f} |")
            lines.append("")
        chart(d, rows)
    tsv_section(d, "ecs.tsv", "Geo with EDNS Client Subnet (dnsperf, steerdns-geo)", lines, ecs_summary)
    tsv_section(d, "scaling.tsv", "Workers, unpinned (blaster unpinned too)", lines, scaling_summary)
    tsv_section(d, "latency.tsv", "Latency at a fixed 20 000 qps (dnsperf -Q, 1 thread, unpinned)",
                lines, latency_summary)
    for name, title in (("probe-shared.txt", "Probing, prober on the answering core"),
                        ("probe-split.txt", "Probing, prober on another core (--probe-cpus)"),
                        ("status-poll.txt", "QPS while /status is polled every 2 s"),
                        ("scale.txt", "Large zones")):
        if (d / name).exists():
            lines.append(f"### {title}\n\n```\n{(d / name).read_text().strip()}\n```\n")
    (d / "report.md").write_text("\n".join(lines))
    print(d / "report.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
