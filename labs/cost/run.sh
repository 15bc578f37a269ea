#!/usr/bin/env bash
# labs/cost/run.sh: the cost lab (README.md is the handout): spawn time and
# resident memory per goroutine against their number, on every usable
# stage, Go and OS threads; and the price of one switch in gort, Go,
# ucontext and between OS threads. Writes spawn.tsv, switch.tsv and the
# plots spawn, memory, switch.
source "$(dirname "$0")/../lib.sh"
HERE=$ROOT/labs/cost
NS=$(pick "1000 10000" "1000 10000 100000" "1000 10000 100000 1000000")
THREAD_MAX=$(pick 1000 10000 10000)          # OS threads: beyond this, ulimits bite
SWITCHES=$(pick 100000 1000000 10000000)
OS_SWITCHES=$(pick 10000 100000 1000000)     # a kernel switch is ~100x slower
REPS=$(pick 1 1 3)

impls=()
for s in $LAB_STAGES; do
  b=$(lab_build cost goroutines "$s") || { lab_fail "build goroutines.c against $s"; continue; }
  impls+=("gort-$(stage_num "$s") $b")
done
g=$(lab_go_build cost); [ -n "$g" ] && impls+=("go $g")
t=$(lab_cc cost threads) || { lab_fail "build threads.c"; t=""; }

printf 'series\tgoroutines\trep\tns_per_spawn\trss_bytes_per_goroutine\n' >"$LAB_OUT/spawn.tsv"
printf 'series\tmechanism\trep\tns_per_switch\n' >"$LAB_OUT/switch.tsv"
nn=$(wc -w <<<"$NS")
total=$(( REPS * ((${#impls[@]} + 1) * nn + ${#impls[@]} * 2 + 3) ))

for rep in $(seq "$REPS"); do
  for n in $NS; do
    for im in "${impls[@]}"; do
      lab_step "$total" "${im% *}: spawn $n goroutines that park, GOMAXPROCS=$NCPU (run $rep)"
      line=$(GOMAXPROCS=$NCPU lab_run 300 "${im#* }" spawn "$n") &&
        printf '%s\t%s\t%s\t%s\n' "${im% *}" "$n" "$rep" "$line" >>"$LAB_OUT/spawn.tsv"
    done
    if [ -n "$t" ] && [ "$n" -le "$THREAD_MAX" ]; then
      lab_step "$total" "pthread: create $n threads (64 KiB stacks) that block (run $rep)"
      line=$(lab_run 300 "$t" spawn "$n") &&
        printf 'pthread\t%s\t%s\t%s\n' "$n" "$rep" "$line" >>"$LAB_OUT/spawn.tsv"
    else
      lab_step "$total" "pthread: $n threads skipped (the baseline stops at $THREAD_MAX)"
    fi
  done
  for im in "${impls[@]}"; do
    for m in gosched pingpong; do
      lab_step "$total" "${im% *}: $m, $SWITCHES rounds, GOMAXPROCS=1 (run $rep)"
      line=$(GOMAXPROCS=1 lab_run 300 "${im#* }" "$m" "$SWITCHES") &&
        printf '%s\t%s\t%s\t%s\n' "${im% *}" "$m" "$rep" "$line" >>"$LAB_OUT/switch.tsv"
    done
  done
  if [ -n "$t" ]; then
    for m in ucontext yield futex; do
      n=$OS_SWITCHES; [ $m = ucontext ] && n=$SWITCHES
      lab_step "$total" "$m: $n switches (run $rep)"
      case $m in ucontext) series=ucontext ;; *) series=pthread ;; esac
      line=$(lab_run 300 "$t" "$m" "$n") &&
        printf '%s\t%s\t%s\t%s\n' "$series" "$m" "$rep" "$line" >>"$LAB_OUT/switch.tsv"
    done
  fi
done

lab_plot "$HERE/spawn.gp" spawn
lab_plot "$HERE/memory.gp" memory
lab_plot "$HERE/switch.gp" switch --size 1000,620
lab_done
