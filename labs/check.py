#!/usr/bin/env python3
"""check.py: validates what a lab run wrote (labs/check.sh runs it after the
smoke run; run it by hand on labs/NAME/results/ after `make labs`).

  labs/check.py [--no-plots] OUTROOT STAGES LAB...

For each LAB, in OUTROOT/LAB/:
  - every *.tsv has a header line and at least one data row; every row has
    the header's number of tab-separated columns; a column whose first data
    value is a number holds numbers in every row (no "nan", no "inf");
  - every usable stage NN in STAGES ("01 02") appears as series gort-NN in
    the first column of some TSV of the lab;
  - every plot the lab's README lists under "## Plots" ("- NAME: ...")
    exists as NAME.png and NAME.svg, non-empty (a NAME ending in -NN is
    required only when stage NN is usable); --no-plots skips this (for a
    machine without gnuplot).
Prints one "PASS:"/"FAIL:" line per check and "N passed, N failed";
exit status 1 when anything failed, 2 for a bad command line.
"""
import math
import os
import re
import sys


def is_num(s):
    try:
        return math.isfinite(float(s))
    except ValueError:
        return False


def check_tsv(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    if not lines:
        return "empty file", set()
    header = lines[0].split("\t")
    if len(header) < 2 or any(is_num(h) for h in header):
        return "no header line (got %r)" % lines[0][:60], set()
    rows = [l.split("\t") for l in lines[1:] if l != ""]
    if not rows:
        return "header but no data rows", set()
    numeric = [is_num(v) for v in rows[0]]
    for i, r in enumerate(rows, start=2):
        if len(r) != len(header):
            return "line %d has %d columns, the header %d" % (i, len(r), len(header)), set()
        for c, v in enumerate(r):
            if numeric[c] and not is_num(v):
                return "line %d: column %s is %r, not a number" % (i, header[c], v), set()
    return None, {r[0] for r in rows}


def main(argv):
    plots_wanted = True
    if argv and argv[0] == "--no-plots":
        plots_wanted, argv = False, argv[1:]
    if len(argv) < 3:
        print("usage: labs/check.py OUTROOT STAGES LAB...", file=sys.stderr)
        return 2
    root, stages, labs = argv[0], argv[1].split(), argv[2:]
    here = os.path.dirname(os.path.abspath(__file__))
    passed = failed = 0

    def report(ok, what):
        nonlocal passed, failed
        print(("PASS: " if ok else "FAIL: ") + what)
        if ok:
            passed += 1
        else:
            failed += 1

    for lab in labs:
        out = os.path.join(root, lab)
        tsvs = sorted(f for f in os.listdir(out) if f.endswith(".tsv")) if os.path.isdir(out) else []
        report(bool(tsvs), "%s: writes TSV files (%s)" % (lab, ", ".join(tsvs) or "none"))
        seen = set()
        for t in tsvs:
            err, series = check_tsv(os.path.join(out, t))
            seen |= series
            report(err is None, "%s/%s well-formed%s" % (lab, t, "" if err is None else ": " + err))
        for n in stages:
            report("gort-" + n in seen, "%s: has rows for stage %s (series gort-%s)" % (lab, n, n))
        readme = os.path.join(here, lab, "README.md")
        plots = []
        if os.path.isfile(readme):
            text = open(readme, encoding="utf-8").read()
            m = re.search(r"^## Plots\n(.*?)(?=^## |\Z)", text, re.M | re.S)
            if m:
                plots = re.findall(r"^- ([\w.-]+):", m.group(1), re.M)
        report(bool(plots), "%s: README.md lists its plots under '## Plots'" % lab)
        for p in plots:
            m = re.search(r"-(\d\d)$", p)
            if (m and m.group(1) not in stages) or not plots_wanted:
                continue
            ok = all(os.path.isfile(os.path.join(out, p + ext)) and
                     os.path.getsize(os.path.join(out, p + ext)) > 0 for ext in (".png", ".svg"))
            report(ok, "%s: plot %s.png and %s.svg drawn" % (lab, p, p))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
