#!/usr/bin/env bash
# plots.sh: makes sure every lab plot the chapters show exists, running the
# lab that draws it when it does not (`make book` calls this; `make check`
# does not, unless LABS=1).
#
#   tools/plots.sh CHAPTER.md...
#
# A figure is written ![caption](lab:LAB/PLOT) and shows
# $LABS_DIR/LAB/results/PLOT.svg (the labs' layout) or $LABS_DIR/LAB/PLOT.svg
# (book/reference-results/, the default of `make book`). For each missing plot the lab is run once
# (make -C .. lab LAB=LAB); a plot still missing afterwards fails, naming the
# plot, the lab and the chapter. LABS_DIR set to another directory (fake
# results for testing the book) means: never run a lab, only check.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/.." && pwd)
default_labs=$root/labs
labs=${LABS_DIR:-$default_labs}
run_labs=0
if [ -z "${LABS_DIR:-}" ] || [ "$(cd "$labs" 2>/dev/null && pwd)" = "$default_labs" ]; then
  run_labs=1
fi

rc=0
declare -A ran=()
# "chapter plot" pairs, in chapter order
while read -r chapter ref; do
  plot=${ref#lab:}
  lab=${plot%%/*} name=${plot#*/}
  svg=$labs/$lab/results/$name.svg
  [ $run_labs = 0 ] && [ ! -d "$labs/$lab/results" ] && svg=$labs/$lab/$name.svg  # reference-results/LAB/
  [ -f "$svg" ] && continue
  if [ $run_labs = 1 ] && [ -z "${ran[$lab]:-}" ]; then
    ran[$lab]=1
    if [ ! -f "$root/labs/run.sh" ]; then
      echo "book: $chapter: plot $plot is missing and cannot be drawn: the labs do not exist yet (labs/run.sh is missing)" >&2
      rc=1; continue
    fi
    echo "book: plot $plot missing: running make lab LAB=$lab"
    make -C "$root" --no-print-directory lab LAB="$lab" || echo "book: make lab LAB=$lab failed" >&2
  fi
  if [ ! -f "$svg" ]; then
    echo "book: $chapter: plot $plot is missing: ${svg#$root/} not found (lab $lab: make lab LAB=$lab should draw it)" >&2
    rc=1
  fi
done < <(for f in "$@"; do grep -o 'lab:[A-Za-z0-9_-]*/[A-Za-z0-9_-]*' "$f" | sed "s|^|$f |"; done)
exit $rc
