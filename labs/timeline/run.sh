#!/usr/bin/env bash
# labs/timeline/run.sh: the timeline lab (README.md is the handout): a
# fan-out/fan-in workload under GORT_TRACE on every usable stage at
# GOMAXPROCS=2, drawn as one timeline per stage (timeline-NN.png/.svg:
# the fastest of a few traced runs) with its trace beside it for Perfetto
# (trace-NN.json); Go's own trace of the same workload (go-trace.out, for
# `go tool trace`). Writes slices.tsv (every run slice of the drawn
# traces) and runs.tsv (wall time of every run, traced or not).
source "$(dirname "$0")/../lib.sh"
HERE=$ROOT/labs/timeline
ROUNDS=$(pick 2 3 6)
TASKS=$(pick 8 16 32)
UNIT=$(pick 100000 200000 200000)      # ~0.25 ms of work per unit
REPS=$(pick 2 9 25)                    # untraced runs per series, for wall time
TRACED=$(pick 1 5 9)                   # traced runs per stage: the fastest is drawn

impls=()
for s in $LAB_STAGES; do
  b=$(lab_build timeline fanout "$s") || { lab_fail "build fanout.c against $s"; continue; }
  impls+=("$(stage_num "$s") $b")
done
g=$(lab_go_build timeline)
have_stage 03 || lab_note "stage 03 (work stealing) is not there yet: timeline-03, the comparison this lab is for, comes when it lands; timeline-01 (and -02) are drawn now"

printf 'series\tlane\tgoid\tstart_ms\tdur_ms\n' >"$LAB_OUT/slices.tsv"
printf 'series\tgomaxprocs\trep\ttraced\twall_ms\ttasks\n' >"$LAB_OUT/runs.tsv"
total=$(( TRACED + ${#impls[@]} + 1 + REPS ))
# 1. The traced runs, TRACED rounds of one run per stage, interleaved so
# that a stretch when another job holds a CPU hits every stage alike. On a
# shared machine a thread loses its CPU now and then and a shard's slice
# stretches from 1 ms to 5: the run with the least of that, each stage's
# fastest, is the one drawn (every run is in runs.tsv).
declare -A best=()
for rep in $(seq "$TRACED"); do
  lab_step "$total" "traced run $rep/$TRACED of each stage: $ROUNDS rounds of fan-out to $TASKS goroutines, GOMAXPROCS=2, GORT_TRACE"
  for im in "${impls[@]}"; do
    n=${im%% *} bin=${im#* }
    tr=$LAB_OUT/trace-$n.json
    line=$(GOMAXPROCS=2 GORT_TRACE=$tr.try lab_run 60 "$bin" "$ROUNDS" "$TASKS" "$UNIT") || continue
    printf 'gort-%s\t2\t%s\tyes\t%s\n' "$n" "$rep" "$line" >>"$LAB_OUT/runs.tsv"
    w=${line%%$'\t'*}
    if [ -z "${best[$n]:-}" ] || awk -v a="$w" -v b="${best[$n]}" 'BEGIN { exit !(a < b) }'; then
      best[$n]=$w; mv "$tr.try" "$tr"
    fi
    rm -f "$tr.try"
  done
done
# 2. Each stage's drawn trace: its slices and its timeline.
for im in "${impls[@]}"; do
  n=${im%% *} tr=$LAB_OUT/trace-$n.json
  lab_step "$total" "stage $n: timeline of the fastest traced run (${best[$n]:-none} ms)"
  [ -n "${best[$n]:-}" ] || continue
  python3 "$HERE/slices.py" "gort-$n" "$tr" >>"$LAB_OUT/slices.tsv" || { lab_fail "read $tr"; continue; }
  if ! command -v gnuplot >/dev/null && [ "$LAB_MODE" = smoke ]; then
    lab_note "gnuplot is not installed: timeline-$n not drawn"; continue
  fi
  # Lanes are the trace's tracks: one per thread M in stage 01; from stage
  # 02 the runtime writes each slice on the track of the P it ran on,
  # named P0, P1... (an M without a P gets a track of its own).
  lanes="thread M"; grep -q '"name":"P0"' "$tr" && lanes=P
  title="stage $n: fan-out/fan-in of $TASKS goroutines x $ROUNDS, GOMAXPROCS=2 (best of $TRACED)"
  if python3 "$ROOT/scripts/trace2png" "$tr" "$LAB_OUT/timeline-$n.png" --title "$title" >>"$LAB_OUT/log.txt" 2>&1 &&
     python3 "$ROOT/scripts/trace2png" "$tr" "$LAB_OUT/timeline-$n.svg" --title "$title" >>"$LAB_OUT/log.txt" 2>&1; then
    echo "  plot: ${LAB_OUT#"$ROOT"/}/timeline-$n.png (.svg), lanes by $lanes; Perfetto: trace-$n.json"
  else
    lab_fail "trace2png on $tr (see $LAB_OUT/log.txt)"
  fi
done
if [ -n "$g" ]; then
  lab_step "$total" "Go: the same workload, GOMAXPROCS=2, runtime/trace -> go-trace.out"
  line=$(GOMAXPROCS=2 lab_run 60 "$g" "$ROUNDS" "$TASKS" "$UNIT" "$LAB_OUT/go-trace.out") &&
    printf 'go\t2\t1\tyes\t%s\n' "$line" >>"$LAB_OUT/runs.tsv" &&
    echo "  Go's trace: go tool trace ${LAB_OUT#"$ROOT"/}/go-trace.out"
else
  lab_step "$total" "Go: skipped (not installed)"
fi
# One traced run is one sample on a machine whose other CPU may be busy
# with something else: the wall time of REPS untraced runs per series, and
# their median, say whether a timeline's length is typical.
# Interleaved as the traced runs are.
for rep in $(seq "$REPS"); do
  lab_step "$total" "untraced run $rep/$REPS of each series, for the wall time, GOMAXPROCS=2"
  for im in "${impls[@]}" ${g:+"go $g"}; do
    n=${im%% *} bin=${im#* } series=go
    [ "$n" = go ] || series=gort-$n
    line=$(GOMAXPROCS=2 lab_run 60 "$bin" "$ROUNDS" "$TASKS" "$UNIT") || continue
    printf '%s\t2\t%s\tno\t%s\n' "$series" "$rep" "$line" >>"$LAB_OUT/runs.tsv"
  done
done
echo "  wall time (ms) at GOMAXPROCS=2, $ROUNDS rounds of $TASKS: the drawn (fastest traced) run, and the median [min-max] of the untraced ones"
awk -F'\t' 'NR > 1 { if ($4 == "yes") { if (!($1 in tr) || $5 < tr[$1]) tr[$1] = $5 } else { n[$1]++; v[$1, n[$1]] = $5 }
                     if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
  END { for (i = 1; i <= k; i++) { s = order[i]; m = n[s]
          for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++)
            if (v[s, b] < v[s, a]) { t = v[s, a]; v[s, a] = v[s, b]; v[s, b] = t }
          printf "    %-8s drawn %7.1f   untraced %7.1f [%.1f-%.1f] (%d runs)\n", s, tr[s],
                 m ? v[s, int((m + 1) / 2)] : 0, m ? v[s, 1] : 0, m ? v[s, m] : 0, m } }' "$LAB_OUT/runs.tsv"
lab_done
