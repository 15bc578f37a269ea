#!/usr/bin/env python3
"""parse.py: turns the leak-detection lab's text outputs into TSV rows.

  parse.py dump SERIES PATTERN VARIANT FILE
      a goroutine dump (gort's runtime_print_goroutines, or Go's debug=2
      goroutine profile, which is the same text): one row per (wait reason,
      function) with how many goroutines and the longest wait in minutes:
      series pattern variant wait_reason function goroutines max_minutes
  parse.py leakcheck SERIES PATTERN VARIANT FILE
      gort's runtime_leak_check report, or the Go twin's count and debug=1
      profile: one row, series pattern variant leaked created_at
      (created_at: the go() call, file:line, that created the most of them)
  parse.py valgrind SERIES VARIANT FILE
      valgrind's log: series variant lost_bytes lost_blocks allocated_at
Exit status 2 for a bad command line or an unreadable file.
"""
import collections
import re
import sys


def die(msg):
    print("parse.py: " + msg, file=sys.stderr)
    sys.exit(2)


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()
    except OSError as e:
        die("%s: %s" % (path, e.strerror))


HEADER = re.compile(r"^goroutine (\d+) \[([^,\]]+)(?:, (\d+) minutes?)?(?:, locked to thread)?\]:$")


def dump(series, pattern, variant, lines):
    groups = collections.OrderedDict()
    for i, line in enumerate(lines):
        m = HEADER.match(line)
        if not m or m.group(2) == "running" or i + 1 >= len(lines):
            continue
        fn = re.sub(r"\(.*\)$", "", lines[i + 1].strip())     # "worker(...)", "main.f()"
        key = (m.group(2), fn)
        n, mins = groups.get(key, (0, 0))
        groups[key] = (n + 1, max(mins, int(m.group(3) or 0)))
    for (reason, fn), (n, mins) in groups.items():
        print("\t".join([series, pattern, variant, reason, fn, str(n), str(mins)]))


def site_of(line):
    # gort: "\tleaks.c:157"; Go: "#\t0x4b86c4\tmain.handle.func2+0xe4\tmain.go:46"
    m = re.search(r"([\w./-]+\.(?:c|go):\d+)", line)
    return m.group(1).rsplit("/", 1)[-1] if m else None


def leakcheck(series, pattern, variant, lines):
    leaked, sites = None, collections.Counter()
    for i, line in enumerate(lines):
        m = re.match(r"runtime_leak_check: (\d+) goroutine", line) or \
            re.match(r"goroutines other than main after \d+ ms: (\d+)", line)
        if m:
            leaked = int(m.group(1))
        if line.startswith("created by ") and i + 1 < len(lines):  # gort's report
            s = site_of(lines[i + 1])
            if s:
                sites[s] += 1
        m = re.match(r"^(\d+) @ ", line)                             # Go's debug=1 profile
        if m:
            for nxt in lines[i + 1:]:
                if not nxt.startswith("#"):
                    break
                if "main." in nxt and "main.main" not in nxt:
                    s = site_of(nxt)
                    if s:
                        sites[s] += int(m.group(1))
                    break
    if leaked is None:
        die("no leak count in the %s %s %s report" % (series, pattern, variant))
    site = sites.most_common(1)[0][0] if sites and leaked > 0 else "-"
    print("\t".join([series, pattern, variant, str(leaked), site]))


def valgrind(series, variant, lines):
    lost = blocks = 0
    site = "-"
    for i, line in enumerate(lines):
        m = re.search(r"definitely lost: ([\d,]+) bytes in ([\d,]+) blocks", line)
        if m:
            lost, blocks = int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))
        if "are definitely lost in loss record" in line and site == "-":
            for nxt in lines[i + 1:i + 8]:
                m = re.search(r"by 0x[0-9A-F]+: (\w+) \(([\w.]+:\d+)\)", nxt)
                if m:
                    site = "%s(%s)" % (m.group(1), m.group(2))
                    break
    if not any("LEAK SUMMARY" in l or "All heap blocks were freed" in l for l in lines):
        die("%s: no valgrind summary (did valgrind run?)" % series)
    print("\t".join([series, variant, str(lost), str(blocks), site]))


def main(argv):
    if len(argv) == 5 and argv[0] in ("dump", "leakcheck"):
        (dump if argv[0] == "dump" else leakcheck)(argv[1], argv[2], argv[3], read(argv[4]))
    elif len(argv) == 4 and argv[0] == "valgrind":
        valgrind(argv[1], argv[2], read(argv[3]))
    else:
        die("usage: parse.py dump|leakcheck SERIES PATTERN VARIANT FILE | "
            "valgrind SERIES VARIANT FILE")


if __name__ == "__main__":
    main(sys.argv[1:])
