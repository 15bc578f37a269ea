#!/usr/bin/env bash
# Runs one job of `make test` with its output captured, then prints the log
# whole (under a lock, so parallel jobs under `make -j` never interleave) and
# records the job's counts for scripts/summary.sh.
#
#   scripts/run-job.sh counted|check LOGDIR KEY "display name" -- command...
#
# counted: the command is a test runner closing with "N passed, N failed"
#          (a stage's `make test`, `make valgrind`); its last such line gives
#          the counts. A runner that exits non-zero with no failure counted,
#          prints no closing line, or runs nothing counts as 1 failed.
# check:   a repository check (lineage, asserts, ...): 1 passed when it exits
#          0, else 1 failed.
#
# JOB_TIMEOUT (seconds, default 1800) bounds each job; a job past it is killed
# with its whole process group and counts as failed.
set -u
kind=$1 logdir=$2 key=$3 name=$4
shift 4
[ "${1:-}" = "--" ] && shift
case $kind in counted|check) ;; *) echo "run-job.sh: bad kind '$kind'" >&2; exit 2 ;; esac

mkdir -p "$logdir"
log=$logdir/$key.log
limit=${JOB_TIMEOUT:-1800}
start=$(date +%s)
printf '[%s] start: %s\n' "$(date +%H:%M:%S)" "$name"

# timeout puts the command in a process group of its own, which a Ctrl-C at
# the terminal does not reach: forward INT/TERM/HUP to that group ourselves.
timeout -k 10 "$limit" "$@" </dev/null >"$log" 2>&1 &
tpid=$!
trap 'kill -TERM -- -"$tpid" 2>/dev/null; kill -TERM "$tpid" 2>/dev/null' INT TERM HUP
rc=0
while :; do
  wait "$tpid"; rc=$?
  kill -0 "$tpid" 2>/dev/null || break      # wait returned for a trapped signal
done
trap - INT TERM HUP
secs=$(( $(date +%s) - start ))

passed=0 failed=0 note=""
if [ "$kind" = counted ]; then
  line=$(grep -E '[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?[[:space:]]*$' "$log" | tail -n 1)
  if [ -n "$line" ]; then
    read -r passed _ failed _ < <(printf '%s\n' "$line" |
      grep -oE '[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
      failed=1; note="exit status $rc with no failure counted"
    elif [ "$rc" -eq 0 ] && [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
      failed=1; note="ran no tests"
    fi
  else
    failed=1; note="exit status $rc, no closing 'N passed, N failed' line"
  fi
else
  if [ "$rc" -eq 0 ]; then passed=1; else failed=1; note="exit status $rc"; fi
fi
case $rc in
  124|137) note="timed out after ${limit}s (JOB_TIMEOUT)" ;;
esac

printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$passed" "$failed" "$rc" "$secs" "$name" "$note" \
  >"$logdir/$key.result"

{
  flock 9
  printf '==== %s (log: %s) ====\n' "$name" "$log"
  cat "$log"
  printf -- '---- %s: %s passed, %s failed%s, %ss\n\n' "$name" "$passed" "$failed" \
    "${note:+ ($note)}" "$secs"
} 9>"$logdir/.print.lock"
exit 0
