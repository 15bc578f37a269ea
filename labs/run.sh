#!/usr/bin/env bash
# labs/run.sh: runs the labs (`make labs`, `make lab LAB=name`).
#
#   bash labs/run.sh [LAB...]         every lab, or the ones named
#   FULL=1 bash labs/run.sh           the full sweeps (1,000,000 goroutines...)
#   LAB_MODE=smoke bash labs/run.sh   tiny sizes, results under build/labs/smoke
#                                     (labs/check.sh, `make check`)
#
# 1. Finds the stages: every stages/NN-name/ whose library builds. Each is
#    built into build/labs/lib/NN-name/ (the stage's own Makefile with BUILD
#    pointed there), so a lab never races a `make test` that is building
#    the stage's own build/ directory at the same moment. A stage that does
#    not build is reported and left out; it never fails the labs.
# 2. Finds Go (Debian's golang-go): without it every Go series is skipped.
# 3. Runs each lab's labs/NAME/run.sh with the environment labs/lib.sh
#    describes; its TSV files and plots go to labs/NAME/results/ (smoke:
#    build/labs/smoke/NAME/).
# 4. Before and after each lab, scripts/cpuspeed.c counts work on every CPU
#    at once into results/cpuspeed.txt, and a warning says when one CPU ran
#    at under 0.9 of another's speed: the host was lending it less time, and
#    the lab's GOMAXPROCS > 1 points measured the host as much as gort.
# Exit status: 0 when every lab ran, 1 when one failed, 2 for a bad name.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
export ROOT
ALL_LABS="gomaxprocs leak-detection cost timeline preemption"

if [ -n "${FULL:-}" ] && [ "${FULL}" != 0 ]; then LAB_MODE=full; fi
LAB_MODE=${LAB_MODE:-quick}
case $LAB_MODE in smoke|quick|full) ;;
  *) echo "labs/run.sh: LAB_MODE=$LAB_MODE: expected smoke, quick or full" >&2; exit 2 ;;
esac
export LAB_MODE LAB_BUILD=$ROOT/build/labs

labs=("$@")
[ ${#labs[@]} -gt 0 ] || read -r -a labs <<<"$ALL_LABS"
for l in "${labs[@]}"; do
  if [ ! -f "labs/$l/run.sh" ]; then
    echo "labs/run.sh: LAB=$l: no such lab; the labs are: $ALL_LABS" >&2
    exit 2
  fi
done

# Two lab runs in one checkout (make labs beside make check) would share
# build/labs/: the second waits for the first.
mkdir -p "$LAB_BUILD"
exec 9>"$LAB_BUILD/.lock"
if ! flock -n 9; then
  echo "== another lab run holds $LAB_BUILD/.lock: waiting for it to finish"
  flock 9
fi

t0=$(date +%s)
echo "== labs ($LAB_MODE mode, $(nproc) CPUs): ${labs[*]}"

# ---- 1. stages -------------------------------------------------------------
stages="" missing=""
for dir in stages/[0-9][0-9]-*/; do
  [ -d "$dir" ] || continue
  s=$(basename "$dir")
  echo "== building stage $s for the labs (build/labs/lib/$s)"
  mkdir -p "$LAB_BUILD/lib/$s"
  if make -s -C "$dir" BUILD="$LAB_BUILD/lib/$s" -j2 lib >"$LAB_BUILD/lib/$s.log" 2>&1 &&
     [ -f "$LAB_BUILD/lib/$s/libgort.a" ] && [ -f "$dir/include/gort.h" ]; then
    stages="$stages${stages:+ }$s"
  else
    echo "   stage $s does not build (yet): left out of the labs; see build/labs/lib/$s.log"
    missing="$missing${missing:+, }$s (does not build)"
  fi
done
for want in 01 02 03 04; do
  ls -d stages/$want-*/ >/dev/null 2>&1 || missing="$missing${missing:+, }stage $want (not written yet)"
done
export LAB_STAGES=$stages LAB_MISSING=$missing
echo "$stages" >"$LAB_BUILD/usable-stages"     # for labs/check.sh
echo "== usable stages: ${stages:-none}"
[ -n "$missing" ] && echo "== not available: $missing"
if [ -z "$stages" ]; then
  echo "labs/run.sh: no stage builds; nothing to measure" >&2
  exit 1
fi

# ---- 2. Go -------------------------------------------------------------------
GO=$(command -v go || true)
export GO
if [ -n "$GO" ]; then echo "== Go: $("$GO" version)"
else echo "== Go is not installed (Debian: golang-go): the Go series are skipped"; fi

# ---- 3. the labs -------------------------------------------------------------
speed=""
cc -O2 -pthread scripts/cpuspeed.c -o "$LAB_BUILD/cpuspeed" 2>/dev/null && speed=$LAB_BUILD/cpuspeed
failed=()
i=0
for l in "${labs[@]}"; do
  i=$((i + 1))
  if [ "$LAB_MODE" = smoke ]; then out=$LAB_BUILD/smoke/$l; else out=$ROOT/labs/$l/results; fi
  rm -rf "$out" && mkdir -p "$out"
  echo "== lab $i/${#labs[@]}: $l -> ${out#"$ROOT"/}/"
  s0=$(date +%s)
  sp0=""; [ -n "$speed" ] && sp0=$("$speed")
  if LAB_OUT=$out bash "labs/$l/run.sh"; then
    echo "== lab $l: done in $(( $(date +%s) - s0 )) s"
  else
    echo "== lab $l: FAILED after $(( $(date +%s) - s0 )) s (log: ${out#"$ROOT"/}/log.txt)"
    failed+=("$l")
  fi
  if [ -n "$speed" ]; then          # 4. was the host fair to every CPU?
    sp1=$("$speed")
    printf 'before %s\nafter %s\n' "$sp0" "$sp1" >"$out/cpuspeed.txt"
    if awk '$NF < 0.9 { bad = 1 } END { exit !bad }' "$out/cpuspeed.txt"; then
      echo "== lab $l: warning: one CPU ran at under 0.9 of another's speed ($(tr '\n' ' ' <"$out/cpuspeed.txt")):"
      echo "   the host held it back; rerun the lab before reading its GOMAXPROCS > 1 points"
    fi
  fi
done

echo "== labs: ${#labs[@]} run, ${#failed[@]} failed${failed[*]:+: ${failed[*]}}; $(( $(date +%s) - t0 )) s"
[ ${#failed[@]} -eq 0 ]
