#!/usr/bin/env bash
# labs/gomaxprocs/run.sh: the GOMAXPROCS lab (README.md is the handout).
# Sweeps GOMAXPROCS and the worker count over every usable stage and Go, for
# a CPU-bound and an I/O-like (blocking system call) pool, then changes
# GOMAXPROCS in the middle of a run. Writes gomaxprocs.tsv, workers.tsv,
# dynamic.tsv and the plots throughput, latency, workers, dynamic.
# Every point is run REPS times (the TSVs keep every run); the plots draw
# the run with the highest throughput, the one least disturbed by other
# jobs on a shared machine, which can only slow a run down.
source "$(dirname "$0")/../lib.sh"
HERE=$ROOT/labs/gomaxprocs

ITERS=50000                                   # one cpu task: ~60-80 us
USEC=500                                      # one io task: 0.5 ms in nanosleep
CPU_TASKS=$(pick 200 5000 40000)
IO_TASKS=$(pick 40 2000 6000)
REPS=$(pick 1 3 3)                            # runs per point; the plots draw the best (highest throughput)
DYN_MS=$(pick 300 1500 6000)
PROCS=$(pick "1 $NCPU" "$(uniq_sorted 1 2 "$NCPU" $((2 * NCPU)) $((10 * NCPU)))" \
                       "$(uniq_sorted 1 2 "$NCPU" $((2 * NCPU)) $((10 * NCPU)))")
WORKERS=$PROCS                                # the seeds' experiment: 1, 2, NCPU, 2x, 10x
POOL=$((10 * NCPU))                           # workers in the GOMAXPROCS sweep
HI=$(( NCPU > 2 ? NCPU : 2 ))
DYN_SCHED="1,$HI,1"

# impls: "series binary" pairs
impls=()
for s in $LAB_STAGES; do
  b=$(lab_build gomaxprocs pool "$s") || { lab_fail "build pool.c against $s"; continue; }
  impls+=("gort-$(stage_num "$s") $b")
done
g=$(lab_go_build gomaxprocs); [ -n "$g" ] && impls+=("go $g")
have_stage 02 || lab_note "stage 02 is not there yet: no syscall hand-off and no run-time resize to compare"
have_stage 03 || lab_note "stage 03 (stealing) is not there yet: its series is missing from the plots"
have_stage 04 || lab_note "stage 04 (preemption) is not there yet: its series is missing from the plots"

cols="series\tworkload\tgomaxprocs\tworkers\trep\ttasks_per_s\tp50_us\tp99_us\twall_s"
printf "$cols\n" >"$LAB_OUT/gomaxprocs.tsv"
printf "$cols\n" >"$LAB_OUT/workers.tsv"
printf "series\tt_ms\tgomaxprocs\ttasks_per_s\n" >"$LAB_OUT/dynamic.tsv"

np=$(wc -w <<<"$PROCS"); nw=$(wc -w <<<"$WORKERS")
total=$(( ${#impls[@]} * (2 * np * REPS + 2 * nw * REPS + REPS) ))

# one_run FILE SERIES BIN WORKLOAD P WORKERS REP
one_run() {
  local file=$1 series=$2 bin=$3 wl=$4 p=$5 w=$6 rep=$7 n work line
  if [ "$wl" = cpu ]; then n=$CPU_TASKS work=$ITERS; else n=$IO_TASKS work=$USEC; fi
  lab_step "$total" "$series, $wl, GOMAXPROCS=$p, workers=$w, run $rep"
  line=$(GOMAXPROCS=$p lab_run 120 "$bin" "$wl" "$w" "$n" "$work") || return 0
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$series" "$wl" "$p" "$w" "$rep" "$line" >>"$file"
}

for rep in $(seq "$REPS"); do
  for wl in cpu io; do
    for p in $PROCS; do
      for im in "${impls[@]}"; do
        one_run "$LAB_OUT/gomaxprocs.tsv" ${im% *} "${im#* }" $wl "$p" "$POOL" "$rep"
      done
    done
    for w in $WORKERS; do
      for im in "${impls[@]}"; do
        one_run "$LAB_OUT/workers.tsv" ${im% *} "${im#* }" $wl "$NCPU" "$w" "$rep"
      done
    done
  done
done
# The dynamic run, REPS times per series: the one drawn is the one with the
# most tasks done, the least disturbed by other jobs (a machine whose
# second CPU is busy elsewhere shows no step at all).
for im in "${impls[@]}"; do
  series=${im% *} bin=${im#* } best=-1
  for rep in $(seq "$REPS"); do
    lab_step "$total" "$series, dynamic: GOMAXPROCS $DYN_SCHED over $DYN_MS ms, workers=$POOL, run $rep"
    GOMAXPROCS=1 lab_run 60 "$bin" dynamic "$POOL" "$DYN_MS" "$ITERS" "$DYN_SCHED" \
      >"$LAB_OUT/dynamic.try" || continue
    sum=$(awk -F'\t' '{ s += $3 } END { printf "%d", s }' "$LAB_OUT/dynamic.try")
    if [ "$sum" -gt "$best" ]; then
      best=$sum; sed "s/^/$series\t/" "$LAB_OUT/dynamic.try" >"$LAB_OUT/dynamic.best"
    fi
  done
  [ -f "$LAB_OUT/dynamic.best" ] && cat "$LAB_OUT/dynamic.best" >>"$LAB_OUT/dynamic.tsv"
  rm -f "$LAB_OUT/dynamic.try" "$LAB_OUT/dynamic.best"
done

lab_plot "$HERE/throughput.gp" throughput --size 1100,520
lab_plot "$HERE/latency.gp" latency --size 1100,520
lab_plot "$HERE/workers.gp" workers --size 1100,800
lab_plot "$HERE/dynamic.gp" dynamic --size 1000,520 sched="$DYN_SCHED"
lab_done
