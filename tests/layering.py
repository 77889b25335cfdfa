#!/usr/bin/env python3
"""Fails when a source file includes a header from a layer above its own.

The layers, bottom to top (README "Architecture"; CMakeLists.txt links them the same way):
    util <- dns <- health <- lb <- dnssec <- zone <- answer <- control <- server <- cli <- main.cc
A file in src/X/ or include/steerdns/X/ may include steerdns/Y/ only when Y is X or below.
The CMake libraries make an upward call fail to link; this makes an upward include (which
could compile against inline code alone) fail too, and names the line.
"""
import pathlib
import re
import sys

LAYERS = ["util", "dns", "health", "lb", "dnssec", "zone", "answer", "control", "server", "cli"]
RANK = {name: i for i, name in enumerate(LAYERS)}
INCLUDE = re.compile(r'^\s*#\s*include\s+"steerdns/([a-z_]+)/')


def layer_of(path: pathlib.Path, root: pathlib.Path):
    rel = path.relative_to(root).parts
    if rel[0] == "src" and len(rel) > 2:
        return rel[1]
    if rel[:2] == ("include", "steerdns") and len(rel) > 3:
        return rel[2]
    return None


def main() -> int:
    root = pathlib.Path(__file__).resolve().parent.parent
    problems = []
    files = [p for d in ("src", "include") for p in (root / d).rglob("*") if p.suffix in (".h", ".cc")]
    for path in sorted(files):
        own = layer_of(path, root)
        if own is None:
            if path.relative_to(root).parts != ("src", "main.cc"):
                problems.append(f"{path.relative_to(root)}: outside every layer directory")
            continue
        if own not in RANK:
            problems.append(f"{path.relative_to(root)}: unknown layer {own!r} (add it to LAYERS)")
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            m = INCLUDE.match(line)
            if m and RANK.get(m.group(1), 99) > RANK[own]:
                problems.append(f"{path.relative_to(root)}:{n}: {own}/ includes {m.group(1)}/, "
                                f"a layer above it")
    for p in problems:
        print(p)
    print(f"layering: {len(files)} files read, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
