#!/usr/bin/python3
"""The man page (docs/steerdns.8) renders without a single groff warning, and documents every
subcommand and every long option that `steerdns --help` and each subcommand's --help list, so
the two stay in step when an option is added."""

import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # keep tests/e2e free of __pycache__
import harness as h  # noqa: E402

MAN = h.REPO / "docs" / "steerdns.8"
LONG_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def help_text(binary, *args):
    p = h.run([binary, *args, "--help"])
    return p.returncode, p.stdout + p.stderr


def subcommands(text):
    """Names under the "Subcommands:" heading of CLI11's help."""
    names, inside = [], False
    for line in text.splitlines():
        if line.startswith("Subcommands:"):
            inside = True
            continue
        if inside:
            m = re.match(r"  (\S+)\s", line)
            if not line.strip() or not line.startswith(" "):
                break
            if m:
                names.append(m.group(1))
    return names


def man_words(source):
    """The page's text as a reader sees the options: roff escapes undone."""
    text = source.replace("\\-", "-").replace("\\e", "\\")
    text = re.sub(r"\\f[BIRP]|\\f\[[A-Z]*\]|\\&|\\\|", "", text)
    return text


with h.Test("man page") as t:
    t.check("docs/steerdns.8 exists", MAN.is_file())
    groff = shutil.which("groff")
    if groff is None:
        t.fail("groff is installed (package groff-base)", "groff not found in PATH")
    else:
        p = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", str(MAN)], capture_output=True,
                           text=True, timeout=30)
        t.eq("groff -man -Tutf8 -ww -z: exit 0", p.returncode, 0)
        t.eq("groff -man -Tutf8 -ww -z: no warning", p.stderr.strip(), "")
        p = subprocess.run([groff, "-man", "-Tutf8", "-P-cbou", str(MAN)], capture_output=True,
                           text=True,
                           timeout=30)
        t.check("renders to a page with NAME, SYNOPSIS, OPTIONS, SIGNALS, FILES, EXIT STATUS, "
                "EXAMPLES", all(s in p.stdout for s in ("NAME", "SYNOPSIS", "OPTIONS", "SIGNALS",
                                                        "FILES", "EXIT STATUS", "EXAMPLES")),
                detail=p.stdout[:500])
    man = shutil.which("man")
    if man is not None:
        p = subprocess.run([man, "--warnings", "-l", str(MAN)], capture_output=True, text=True,
                           timeout=30, env={"MANPAGER": "cat", "PATH": "/usr/bin:/bin",
                                            "LANG": "C.UTF-8"})
        t.eq("man --warnings -l: no warning", p.stderr.strip(), "")

    words = man_words(MAN.read_text())
    code, top = help_text(t.binary)
    t.eq("steerdns --help exits 0", code, 0)
    subs = subcommands(top)
    t.check("--help lists the serve and check subcommands", {"serve", "check"} <= set(subs),
            detail=top)
    options = {o: "steerdns --help" for o in LONG_OPTION.findall(top)}
    for sub in subs:
        code, text = help_text(t.binary, sub)
        t.eq(f"steerdns {sub} --help exits 0", code, 0)
        for o in LONG_OPTION.findall(text):
            options.setdefault(o, f"steerdns {sub} --help")
        # Subcommands of a subcommand (`keys create`, `keys ds`): their options too.
        for subsub in subcommands(text):
            code, subtext = help_text(t.binary, sub, subsub)
            t.eq(f"steerdns {sub} {subsub} --help exits 0", code, 0)
            for o in LONG_OPTION.findall(subtext):
                options.setdefault(o, f"steerdns {sub} {subsub} --help")
        t.check(f"the man page has an entry for the {sub} subcommand",
                re.search(rf"^\.TP\n\.BI? {sub}\b", MAN.read_text(), re.M) is not None)
    t.check("--help has long options to compare", len(options) >= 10, detail=sorted(options))
    missing = sorted(f"{o} (from {where})" for o, where in options.items()
                     if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", words))
    t.eq("every long option of every --help is in the man page", missing, [])
