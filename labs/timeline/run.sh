#!/usr/bin/env bash
# labs/timeline/run.sh: the timeline lab (README.md is the handout): a
# fan-out/fan-in workload under GORT_TRACE on every usable stage at
# GOMAXPROCS=2, drawn as one timeline per stage (timeline-NN.png/.svg)
# with the trace beside it for Perfetto (trace-NN.json); Go's own trace of
# the same workload (go-trace.out, for `go tool trace`). Writes
# slices.tsv (every run slice) and runs.tsv (wall time per run).
source "$(dirname "$0")/../lib.sh"
HERE=$ROOT/labs/timeline
ROUNDS=$(pick 2 3 6)
TASKS=$(pick 8 16 32)
UNIT=$(pick 100000 200000 200000)      # ~0.25 ms of work per unit

impls=()
for s in $LAB_STAGES; do
  b=$(lab_build timeline fanout "$s") || { lab_fail "build fanout.c against $s"; continue; }
  impls+=("$(stage_num "$s") $b")
done
g=$(lab_go_build timeline)
have_stage 03 || lab_note "stage 03 (work stealing) is not there yet: timeline-03, the comparison this lab is for, comes when it lands; timeline-01 (and -02) are drawn now"

printf 'series\tlane\tgoid\tstart_ms\tdur_ms\n' >"$LAB_OUT/slices.tsv"
printf 'series\tgomaxprocs\twall_ms\ttasks\n' >"$LAB_OUT/runs.tsv"
total=$(( ${#impls[@]} + 1 ))
for im in "${impls[@]}"; do
  n=${im%% *} bin=${im#* }
  lab_step "$total" "stage $n: $ROUNDS rounds of fan-out to $TASKS goroutines, GOMAXPROCS=2, GORT_TRACE"
  tr=$LAB_OUT/trace-$n.json
  line=$(GOMAXPROCS=2 GORT_TRACE=$tr lab_run 60 "$bin" "$ROUNDS" "$TASKS" "$UNIT") || continue
  printf 'gort-%s\t2\t%s\n' "$n" "$line" >>"$LAB_OUT/runs.tsv"
  python3 "$HERE/slices.py" "gort-$n" "$tr" >>"$LAB_OUT/slices.tsv" || { lab_fail "read $tr"; continue; }
  if ! command -v gnuplot >/dev/null && [ "$LAB_MODE" = smoke ]; then
    lab_note "gnuplot is not installed: timeline-$n not drawn"; continue
  fi
  by=m; grep -q '"p":' "$tr" && by=p
  title="stage $n, fan-out/fan-in of $TASKS goroutines x $ROUNDS rounds, GOMAXPROCS=2"
  if python3 "$ROOT/scripts/trace2png" "$tr" "$LAB_OUT/timeline-$n.png" --by $by --title "$title" >>"$LAB_OUT/log.txt" 2>&1 &&
     python3 "$ROOT/scripts/trace2png" "$tr" "$LAB_OUT/timeline-$n.svg" --by $by --title "$title" >>"$LAB_OUT/log.txt" 2>&1; then
    echo "  plot: ${LAB_OUT#"$ROOT"/}/timeline-$n.png (.svg), lanes by $([ $by = p ] && echo P || echo thread M); Perfetto: trace-$n.json"
  else
    lab_fail "trace2png on $tr (see $LAB_OUT/log.txt)"
  fi
done
if [ -n "$g" ]; then
  lab_step "$total" "Go: the same workload, GOMAXPROCS=2, runtime/trace -> go-trace.out"
  line=$(GOMAXPROCS=2 lab_run 60 "$g" "$ROUNDS" "$TASKS" "$UNIT" "$LAB_OUT/go-trace.out") &&
    printf 'go\t2\t%s\n' "$line" >>"$LAB_OUT/runs.tsv" &&
    echo "  Go's trace: go tool trace ${LAB_OUT#"$ROOT"/}/go-trace.out"
else
  lab_step "$total" "Go: skipped (not installed)"
fi
lab_done
