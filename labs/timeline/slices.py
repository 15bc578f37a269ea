#!/usr/bin/env python3
"""slices.py: a GORT_TRACE file as TSV rows, for the timeline lab.

  slices.py SERIES TRACE.json

prints one row per run slice: series lane goid start_ms dur_ms, where lane
is the P (args.p, stages 2+) or else the thread (tid, stage 1), and times
count from the trace's first slice. The plots are drawn from the same JSON
by scripts/trace2png; this table is for students' own analysis (busy time
per lane, how often a goroutine changed lanes). Exit status 2 for a bad
command line or a trace that is not JSON.
"""
import json
import sys

if len(sys.argv) != 3:
    print("usage: slices.py SERIES TRACE.json", file=sys.stderr)
    sys.exit(2)
try:
    with open(sys.argv[2], encoding="utf-8") as f:
        doc = json.load(f)
except (OSError, ValueError) as e:
    print("slices.py: %s: %s" % (sys.argv[2], e), file=sys.stderr)
    sys.exit(2)
events = doc.get("traceEvents", []) if isinstance(doc, dict) else doc
xs = [e for e in events if isinstance(e, dict) and e.get("ph") == "X"]
if not xs:
    print("slices.py: %s holds no run slices" % sys.argv[2], file=sys.stderr)
    sys.exit(2)
t0 = min(float(e["ts"]) for e in xs)
for e in sorted(xs, key=lambda e: float(e["ts"])):
    args = e.get("args", {})
    lane = "P%d" % args["p"] if "p" in args else "M%d" % e.get("tid", 0)
    print("%s\t%s\t%d\t%.3f\t%.3f" % (sys.argv[1], lane, int(args.get("goid", 0)),
                                      (float(e["ts"]) - t0) / 1000, float(e.get("dur", 0)) / 1000))
