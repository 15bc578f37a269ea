#!/usr/bin/env bash
# reference.sh: makes the labs' current results the book's reference
# results, the ones `make book` draws from without running anything.
#
#   tools/reference.sh LAB...      (make -C book reference LAB="cost ...")
#
# Copies labs/LAB/results/ (its TSV tables, SVG plots and cpuspeed.txt; not
# the PNGs, raw traces or logs) to book/reference-results/LAB/ and writes
# STAMP there: when, on what CPU, the load average at the time, Go's
# version, and the commit the stages were at. The chapters quote numbers
# from these tables (`...`{.lab} in gort.lua), so the text, the plots and
# the stamp under each plot come from one run. Run the labs first
# (make lab LAB=NAME), on as quiet a machine as you can find.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/.." && pwd)
[ $# -gt 0 ] || { echo "usage: tools/reference.sh LAB..." >&2; exit 2; }
for lab in "$@"; do
  src=$root/labs/$lab/results dst=$here/reference-results/$lab
  [ -f "$src/cpuspeed.txt" ] || { echo "reference.sh: $src has no results (make lab LAB=$lab first)" >&2; exit 1; }
  rm -rf "$dst" && mkdir -p "$dst"
  cp "$src"/*.tsv "$src"/*.svg "$src/cpuspeed.txt" "$dst/"
  cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  {
    echo "measured: $(date -u -r "$src/cpuspeed.txt" '+%Y-%m-%d %H:%M UTC')"
    echo "cpu: ${cpu:-unknown CPU}, $(nproc) CPUs, $(uname -m)"
    echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min, when stamped)"
    echo "go: $(go version 2>/dev/null | awk '{print $3}' || true)"
    echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "mode: ${LAB_MODE:-quick}"
  } >"$dst/STAMP"
  sed -i 's/^go: $/go: not installed (no Go series)/' "$dst/STAMP"
  echo "book: reference results of lab $lab: ${dst#$root/}/ ($(ls "$dst" | wc -l) files)"
done
