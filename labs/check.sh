#!/usr/bin/env bash
# labs/check.sh: the `check.labs` job of `make test` / `make check`.
# Runs every lab in smoke mode (tiny sizes, results under
# build/labs/smoke/, never over labs/*/results/), then labs/check.py
# validates what each wrote: well-formed TSV with rows for every usable
# stage, and every plot its README lists (when gnuplot is installed: `make
# test` needs only scripts/deps.sh test, which has no gnuplot). Takes about a minute or two on
# 2 cores. Exit status 0 when everything passed.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
LAB_MODE=smoke bash labs/run.sh "$@"
rc=$?
# the stages labs/run.sh could build, as numbers ("01 02")
stages=""
for s in $(cat build/labs/usable-stages 2>/dev/null); do stages="$stages ${s%%-*}"; done
labs=("$@")
[ ${#labs[@]} -gt 0 ] || labs=(gomaxprocs leak-detection cost timeline preemption)
noplots=()
if ! command -v gnuplot >/dev/null; then
  echo "note: gnuplot is not installed (scripts/deps.sh labs): plots are not checked"
  noplots=(--no-plots)
fi
python3 labs/check.py "${noplots[@]}" build/labs/smoke "$stages" "${labs[@]}" || rc=1
exit $rc
