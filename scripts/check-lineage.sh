#!/usr/bin/env bash
# Stage lineage: each stage is the previous one plus the files its README says
# it changes.
#
#   scripts/check-lineage.sh [ROOT]           check every neighbouring pair
#   scripts/check-lineage.sh --template DIR   print the README section DIR needs
#
# For each pair of neighbouring stages (stages/NN-* in sorted order, say 01 and
# 02), the later stage's README.md must have a section
#
#   ## Files changed from stage 01
#   - src/proc.c: P and local run queues
#   - src/runqueue.c: new; the per-P ring buffer
#   - src/sched.c: removed; split into proc.c and runqueue.c
#
# listing, relative to the stage directory, every file that is new, modified
# or removed (README.md itself excepted), each with its reason; and every file
# listed there must in fact differ. Build outputs (build/, build-*/, and
# anything git ignores) are left out. Prints PASS:/FAIL: per pair and closes
# with "N passed, N failed"; exits 1 on any failure.
set -u
case ${1:-} in -h|--help) sed -n '2,20p' "$0"; exit 0 ;; esac
exec python3 - "$(cd "$(dirname "$0")/.." && pwd)" "$@" <<'PY'
import os, re, subprocess, sys, filecmp

repo = sys.argv[1]
args = sys.argv[2:]
template = None
if args and args[0] == "--template":
    if len(args) != 2:
        sys.exit("usage: scripts/check-lineage.sh --template stages/NN-name")
    template = os.path.normpath(os.path.abspath(args[1]))
    root = os.path.dirname(os.path.dirname(template))
else:
    root = os.path.abspath(args[0]) if args else repo

stages_dir = os.path.join(root, "stages")
stages = sorted(d for d in (os.listdir(stages_dir) if os.path.isdir(stages_dir) else [])
                if re.match(r"^[0-9][0-9]-", d) and os.path.isdir(os.path.join(stages_dir, d)))


def in_git(path):
    r = subprocess.run(["git", "-C", path, "rev-parse", "--is-inside-work-tree"],
                       capture_output=True, text=True)
    return r.returncode == 0 and r.stdout.strip() == "true"


def files_of(stage):
    """Paths (relative to the stage dir) of the stage's source files."""
    top = os.path.join(stages_dir, stage)
    out = set()
    if in_git(top):
        r = subprocess.run(["git", "-C", top, "ls-files", "-z", "--cached", "--others",
                            "--exclude-standard", "--", "."],
                           capture_output=True, text=True, check=True)
        for p in r.stdout.split("\0"):
            if p and os.path.lexists(os.path.join(top, p)):
                out.add(p)
    else:
        for d, dirs, names in os.walk(top):
            dirs[:] = [x for x in dirs if x != "build" and not x.startswith("build-")
                       and x != ".git"]
            for n in names:
                out.add(os.path.relpath(os.path.join(d, n), top))
    # never compare build outputs, whatever git says
    return {p for p in out
            if not any(part == "build" or part.startswith("build-")
                       for part in p.split("/")[:-1])}


def differing(prev, cur):
    """{path: 'new'|'removed'|'modified'} between two stages."""
    a, b = files_of(prev), files_of(cur)
    diff = {}
    for p in sorted(a | b):
        if p not in a:
            diff[p] = "new"
        elif p not in b:
            diff[p] = "removed"
        elif not filecmp.cmp(os.path.join(stages_dir, prev, p),
                             os.path.join(stages_dir, cur, p), shallow=False):
            diff[p] = "modified"
    diff.pop("README.md", None)     # every stage's README is its own
    return diff


def number(stage):
    return stage[:2]


HEADING = re.compile(r"^##\s+Files changed from stage\s+([0-9]+)\b.*$", re.I)
ITEM = re.compile(r"^\s*[-*+]\s+(.*)$")


def readme_section(cur, prev_num):
    """(listed {path: reason}, problems, found) from cur's README section."""
    readme = os.path.join(stages_dir, cur, "README.md")
    problems = []
    if not os.path.isfile(readme):
        return {}, [f"stages/{cur}/README.md does not exist"], False
    lines = open(readme, encoding="utf-8", errors="replace").read().splitlines()
    start = None
    for i, line in enumerate(lines):
        m = HEADING.match(line)
        if m:
            if m.group(1) != prev_num:
                problems.append(f"stages/{cur}/README.md:{i+1}: the section names stage "
                                f"{m.group(1)}, but the previous stage is {prev_num}")
            start = i + 1
            break
    if start is None:
        return {}, [f"stages/{cur}/README.md has no section '## Files changed from stage "
                    f"{prev_num}'"], False
    listed = {}
    for j in range(start, len(lines)):
        line = lines[j]
        if re.match(r"^#{1,2}\s", line):
            break
        m = ITEM.match(line)
        if not m:
            continue
        text = m.group(1).strip()
        mm = re.match(r"^`([^`]+)`\s*:?\s*(.*)$", text) or re.match(r"^(\S+?):(?:\s+(.*)|$)", text)
        if not mm:
            problems.append(f"stages/{cur}/README.md:{j+1}: cannot read '{line.strip()}'; "
                            "write '- path/to/file: why it changed'")
            continue
        path, reason = mm.group(1).strip().rstrip(":"), (mm.group(2) or "").strip()
        path = os.path.normpath(path)
        if not reason or reason.upper().startswith("TODO"):
            problems.append(f"stages/{cur}/README.md:{j+1}: {path} has no reason; "
                            "write '- path/to/file: why it changed'")
        listed[path] = reason
    return listed, problems, True


def check_pair(prev, cur):
    diff = differing(prev, cur)
    listed, problems, _ = readme_section(cur, number(prev))
    if not diff and not listed and problems and "has no section" in problems[0]:
        problems = []       # identical stages need no section
    for p, how in diff.items():
        if p not in listed:
            problems.append(f"stages/{cur}/{p} is {how} since stage {number(prev)} but "
                            f"stages/{cur}/README.md does not list it under "
                            f"'## Files changed from stage {number(prev)}'")
    for p in listed:
        if p not in diff:
            if p == "README.md":
                continue
            exists = (os.path.lexists(os.path.join(stages_dir, cur, p)) or
                      os.path.lexists(os.path.join(stages_dir, prev, p)))
            if exists:
                problems.append(f"stages/{cur}/README.md lists {p}, but it is identical "
                                f"to stages/{prev}/{p}")
            else:
                problems.append(f"stages/{cur}/README.md lists {p}, which is in neither "
                                f"stages/{prev} nor stages/{cur}")
    return diff, problems


if template:
    cur = os.path.basename(template)
    if cur not in stages or stages.index(cur) == 0:
        sys.exit(f"--template: {args[1]} is not a stage after another one")
    prev = stages[stages.index(cur) - 1]
    listed, _, _ = readme_section(cur, number(prev))
    print(f"## Files changed from stage {number(prev)}")
    for p, how in differing(prev, cur).items():
        reason = listed.get(p) or f"TODO ({how}) why"
        print(f"- {p}: {reason}")
    sys.exit(0)

passed = failed = 0
if len(stages) < 2:
    which = f"only stages/{stages[0]}" if stages else "no stages"
    print(f"lineage: {which}; nothing to compare")
    print("PASS: lineage (one stage)" if stages else "PASS: lineage (no stages)")
    passed = 1
for prev, cur in zip(stages, stages[1:]):
    name = f"lineage {number(prev)}->{number(cur)}"
    diff, problems = check_pair(prev, cur)
    for p in problems:
        print(f"  {p}")
    if problems:
        failed += 1
        print(f"FAIL: {name} ({len(problems)} problem{'s' if len(problems) != 1 else ''};"
              f" scripts/check-lineage.sh --template stages/{cur} prints the section)")
    else:
        passed += 1
        print(f"PASS: {name} ({len(diff)} file{'s' if len(diff) != 1 else ''} changed)")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
