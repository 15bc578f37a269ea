#!/usr/bin/env bash
# Adds up the jobs of one `make test` run and prints the closing line.
#
#   scripts/summary.sh LOGDIR
#
# LOGDIR/expected lists the jobs' keys in order (written by the Makefile);
# each finished job left LOGDIR/KEY.result (see scripts/run-job.sh). A job
# with no result (its runner never ran) counts as 1 failed. The last line is
# "N passed, N failed", alone; the exit status is 1 when anything failed.
set -u
logdir=$1
total_p=0 total_f=0
failures=()
printf '==== summary ====\n'
printf '%8s %8s %6s  %s\n' passed failed secs job
while IFS= read -r key; do
  [ -n "$key" ] || continue
  res=$logdir/$key.result
  if [ -f "$res" ]; then
    IFS=$'\t' read -r p f _rc secs name note <"$res"
  else
    p=0 f=1 secs=- name=$key note="did not run"
  fi
  printf '%8s %8s %6s  %s\n' "$p" "$f" "$secs" "$name"
  total_p=$((total_p + p)); total_f=$((total_f + f))
  if [ "$f" -gt 0 ]; then
    failures+=("FAIL: $name${note:+: $note} (log: $logdir/$key.log)")
  fi
done <"$logdir/expected"
for line in "${failures[@]+"${failures[@]}"}"; do printf '%s\n' "$line"; done
printf '%d passed, %d failed\n' "$total_p" "$total_f"
[ "$total_f" -eq 0 ]
