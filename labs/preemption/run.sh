#!/usr/bin/env bash
# labs/preemption/run.sh: the preemption lab (README.md is the handout).
# Wake-up lateness of a 1 ms sleeper beside a spinning goroutine:
#   - every stage at GOMAXPROCS=1 with a spinner that yields (gosched)
#     every 20 ms: cooperative scheduling, all a stage before 04 has;
#   - every stage at GOMAXPROCS=2: the spinner holds one thread, the
#     sleeper has the other (the way out before preemption existed); before
#     stage 04 the spinner yields every 20 ms there too, since on stage 02
#     (no stealing) the sleeper may be queued behind it on its P for ever;
#   - stage 04+ at GOMAXPROCS=1 with a spinner that never yields: async
#     preemption, and the same spinner in bursts under asyncpreemptoff=1;
#   - Go at GOMAXPROCS=1: never-yielding spinner (async preemption) and
#     bursts under GODEBUG=asyncpreemptoff=1 (cooperative, Go before 1.14).
# A spinner that never yields is never run at GOMAXPROCS=1 on a stage
# without preemption: nothing would ever stop it.
# Writes lateness.tsv (every sample), cdf.tsv, and the plot lateness-cdf.
source "$(dirname "$0")/../lib.sh"
HERE=$ROOT/labs/preemption
SAMPLES=$(pick 10 150 1000)
BURST=20                                   # ms a cooperative spinner runs between yields

runs=()     # "series|config|GOMAXPROCS|GODEBUG|burst|binary"
for s in $LAB_STAGES; do
  b=$(lab_build preemption sleeper "$s") || { lab_fail "build sleeper.c against $s"; continue; }
  n=$(stage_num "$s") sr=gort-$(stage_num "$s")
  if [ $((10#$n)) -ge 4 ]; then
    runs+=("$sr|P=1, async preemption, spinner never yields|1||0|$b")
    runs+=("$sr|P=1, asyncpreemptoff=1, spinner yields every ${BURST} ms|1|asyncpreemptoff=1|$BURST|$b")
    runs+=("$sr|P=2, spinner never yields|2||0|$b")
  else
    runs+=("$sr|P=1, cooperative, spinner yields every ${BURST} ms|1||$BURST|$b")
    # Not "never yields" even at P=2: on stage 02 (local run queues, no
    # stealing) the woken sleeper can sit in the spinner's P's queue for ever.
    runs+=("$sr|P=2, spinner yields every ${BURST} ms|2||$BURST|$b")
  fi
done
have_stage 04 || lab_note "stage 04 (async preemption) is not there yet: gort's curves are cooperative (P=1, a spinner that yields every $BURST ms) and P=2 only; a spinner that never yields is not run at GOMAXPROCS=1 on stages < 04"
g=$(lab_go_build preemption)
if [ -n "$g" ]; then
  runs+=("go|P=1, async preemption, spinner never yields|1||0|$g")
  runs+=("go|P=1, asyncpreemptoff=1, spinner yields every ${BURST} ms|1|asyncpreemptoff=1|$BURST|$g")
fi

printf 'series\tconfig\tsample\tlate_us\n' >"$LAB_OUT/lateness.tsv"
i=0
for r in "${runs[@]}"; do
  IFS='|' read -r series config p dbg burst bin <<<"$r"
  lab_step "${#runs[@]}" "$series: $config, $SAMPLES sleeps of 1 ms"
  # at most ~45 ms a sample even in the worst configuration
  GOMAXPROCS=$p GODEBUG=$dbg lab_run $(( SAMPLES / 20 + 15 )) "$bin" "$SAMPLES" "$burst" \
    >"$LAB_OUT/run.txt" || continue
  awk -v s="$series" -v c="$config" '{ printf "%s\t%s\t%d\t%s\n", s, c, NR, $1 }' \
    "$LAB_OUT/run.txt" >>"$LAB_OUT/lateness.tsv"
done

# The CDF: per (series, config) -- a curve, numbered in curves.tsv --
# the samples sorted, each with its rank / count.
printf 'series\tcurve\tconfig\n' >"$LAB_OUT/curves.tsv"
tail -n +2 "$LAB_OUT/lateness.tsv" | awk -F'\t' '!s[$1 "\t" $2]++ { printf "%s\t%d\t%s\n", $1, ++n, $2 }' \
  >>"$LAB_OUT/curves.tsv"
printf 'series\tcurve\tlate_ms\tfraction\n' >"$LAB_OUT/cdf.tsv"
tail -n +2 "$LAB_OUT/lateness.tsv" |
  awk -F'\t' 'NR == FNR { if (FNR > 1) id[$1 "\t" $3] = $2; next }
              { print $1 "\t" id[$1 "\t" $2] "\t" $4 }' "$LAB_OUT/curves.tsv" - |
  sort -t $'\t' -k2,2n -k3,3g |
  awk -F'\t' '{ s[NR] = $1; c[NR] = $2; v[NR] = $3; n[$2]++ }
              END { for (i = 1; i <= NR; i++) { r[c[i]]++
                      ms = v[i] / 1000; if (ms < 0.001) ms = 0.001
                      printf "%s\t%d\t%.4f\t%.4f\n", s[i], c[i], ms, r[c[i]] / n[c[i]] } }' >>"$LAB_OUT/cdf.tsv"

echo "  p50 / p99 / max lateness (ms):"
awk -F'\t' 'NR == FNR { if (FNR > 1) name[$2] = $1 " | " $3; next }
  FNR > 1 { a[$2] = a[$2] " " $3 }
  END { for (k in a) { m = split(substr(a[k], 2), x, " ")
          printf "    %-70s %8.2f %8.2f %8.2f\n", name[k], x[int((m + 1) / 2)], x[int((m * 99 + 99) / 100)], x[m] } }' \
  "$LAB_OUT/curves.tsv" "$LAB_OUT/cdf.tsv" | sort
lab_plot "$HERE/lateness-cdf.gp" lateness-cdf --size 900,1250 burst="$BURST"
rm -f "$LAB_OUT/run.txt"
lab_done
