#!/usr/bin/env bash
# scripts/check-api.sh: API.md, the project's API reference, and each stage's
# include/gort.h must agree. Every function and macro that API.md declares in
# its code blocks is looked for in the header of every stage that should have
# it: its section's "(stage N+)" mark, or a "stage N+" in the comment on its
# line, says from which stage (no mark: every stage). Prints one line per
# stage and closes with "N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 2
python3 - "$@" <<'PY'
import os, re, sys

api = open("API.md").read()
want = {}                                   # name -> first stage
section = 1
inblock = False
incomment = False
for line in api.splitlines():
    m = re.match(r"^## .*\(stage (\d+)\+\)", line)
    if m:
        section = int(m.group(1))
    elif line.startswith("## "):
        section = 1
    if line.startswith("```"):
        inblock = not inblock
        continue
    if not inblock:
        continue
    if incomment:                           # a comment's continuation line
        if "*/" not in line:
            continue
        incomment = False
        line = line.split("*/", 1)[1]
    code, _, comment = line.partition("/*")
    if comment and "*/" not in comment:
        incomment = True
    m = re.search(r"stage (\d+)\+", comment)
    stage = int(m.group(1)) if m else section
    for name in re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(", code):
        if name in ("int", "void", "bool", "return", "fn", "lhs", "sizeof", "main_fn"):
            continue
        if re.match(r"^\s*(#define\s+)?%s\b" % re.escape(name), code) and not code.lstrip().startswith("#define"):
            continue                        # a return type of a function pointer, not a name
        want.setdefault(name, stage)

passed = failed = 0
for d in sorted(os.listdir("stages")):
    m = re.match(r"^(\d\d)-", d)
    if not m:
        continue
    n = int(m.group(1))
    hdr = os.path.join("stages", d, "include", "gort.h")
    text = open(hdr).read() if os.path.exists(hdr) else ""
    missing = [f for f, s in sorted(want.items()) if s <= n and not re.search(r"\b%s\b" % re.escape(f), text)]
    if missing:
        failed += 1
        print("FAIL: %s: API.md names what its include/gort.h lacks: %s" % (d, ", ".join(missing)))
    else:
        passed += 1
        print("PASS: %s: include/gort.h declares the %d calls API.md lists for it"
              % (d, sum(1 for s in want.values() if s <= n)))
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
PY
