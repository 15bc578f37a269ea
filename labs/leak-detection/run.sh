#!/usr/bin/env bash
# labs/leak-detection/run.sh: the leak-detection lab (README.md is the handout).
# Runs the four leaks and their fixes (leaks.c) on every usable stage and Go,
# sampling the goroutine count; turns runtime_leak_check's reports and the
# goroutine dumps into TSV; runs memleak.c under valgrind.
# Writes goroutines.tsv, leakcheck.tsv, dump.tsv, valgrind.tsv, the raw
# reports (raw/), and the plot goroutines.
source "$(dirname "$0")/../lib.sh"
HERE=$ROOT/labs/leak-detection
PATTERNS="recv ticker worker sender"
MS=$(pick 100 1000 3000)            # how long requests arrive (one per 5 ms)
REQS=$(pick 20 200 2000)            # memleak.c's requests
RAW=$LAB_OUT/raw
mkdir -p "$RAW"

impls=()
for s in $LAB_STAGES; do
  b=$(lab_build leak-detection leaks "$s") || { lab_fail "build leaks.c against $s"; continue; }
  impls+=("gort-$(stage_num "$s") $b")
done
g=$(lab_go_build leak-detection); [ -n "$g" ] && impls+=("go $g")
have_vg=1
command -v valgrind >/dev/null || { have_vg=0; lab_note "valgrind is not installed: the memory-leak part is skipped"; }

printf 'series\tpattern\tvariant\tt_ms\tgoroutines\n' >"$LAB_OUT/goroutines.tsv"
printf 'series\tpattern\tvariant\twait_reason\tfunction\tgoroutines\tmax_minutes\n' >"$LAB_OUT/dump.tsv"
printf 'series\tpattern\tvariant\tleaked\tcreated_at\n' >"$LAB_OUT/leakcheck.tsv"
printf 'series\tvariant\tlost_bytes\tlost_blocks\tallocated_at\n' >"$LAB_OUT/valgrind.tsv"
long=$([ "$LAB_MODE" = full ] && echo 1 || echo 0)
total=$(( ${#impls[@]} * (1 + long) + have_vg * 2 * $(wc -w <<<"$LAB_STAGES") ))

# collect SERIES PATTERN VARIANT: the run's reports into the TSV files
collect() {
  local series=$1 p=$2 v=$3 tag=$1-$2-$3
  sed "s/^/$series\t$p\t$v\t/" "$RAW/count-$tag.txt" >>"$LAB_OUT/goroutines.tsv"
  python3 "$HERE/parse.py" leakcheck "$series" "$p" "$v" "$RAW/leakcheck-$p-$v.txt" \
    >>"$LAB_OUT/leakcheck.tsv" || lab_fail "parse the $tag leak check"
  python3 "$HERE/parse.py" dump "$series" "$p" "$v" "$RAW/dump-$p-$v.txt" \
    >>"$LAB_OUT/dump.tsv" || lab_fail "parse the $tag dump"
  mv "$RAW/leakcheck-$p-$v.txt" "$RAW/leakcheck-$tag.txt"
  mv "$RAW/dump-$p-$v.txt" "$RAW/dump-$tag.txt"
}

for im in "${impls[@]}"; do
  series=${im% *} bin=${im#* }
  lab_step "$total" "$series: 4 leaks x {leaky, fixed}, one request per 5 ms for $MS ms (run side by side)"
  pids=()
  for p in $PATTERNS; do
    for v in leaky fixed; do
      mkdir -p "$RAW/$series-$p-$v"
      ( GOMAXPROCS=2 lab_run $(( MS / 1000 + 60 )) "$bin" "$p" "$v" "$MS" "$RAW/$series-$p-$v" \
          >"$RAW/count-$series-$p-$v.txt" ) &
      pids+=($!)
    done
  done
  for pid in "${pids[@]}"; do wait "$pid" || LAB_FAILED=1; done
  for p in $PATTERNS; do
    for v in leaky fixed; do
      mv "$RAW/$series-$p-$v"/*.txt "$RAW/" 2>/dev/null && rmdir "$RAW/$series-$p-$v"
      [ -f "$RAW/leakcheck-$p-$v.txt" ] && collect "$series" "$p" "$v"
    done
  done
done

if [ "$long" = 1 ]; then
  # Dumps print how long a goroutine has waited once that reaches a minute:
  # 3 s of requests starting all four leaks, then 62 s of waiting before
  # the dump. (Requests for the whole 65 s would leave 13,000 tickers
  # waking every 10 ms, more than 2 CPUs can serve: the server loop falls
  # behind on every runtime, Go's included.)
  for im in "${impls[@]}"; do
    series=${im% *} bin=${im#* }
    lab_step "$total" "$series: all four leaks for 3 s, then 62 s idle, so the dump shows waits of a minute"
    GOMAXPROCS=2 lab_run 200 "$bin" all leaky 3000 "$RAW" 62000 >"$RAW/count-$series-all-leaky.txt" &&
      collect "$series" all leaky
  done
fi

if [ "$have_vg" = 1 ]; then
  for s in $LAB_STAGES; do
    b=$(lab_build leak-detection memleak "$s") || { lab_fail "build memleak.c against $s"; continue; }
    series=gort-$(stage_num "$s")
    for v in leaky fixed; do
      lab_step "$total" "$series: memleak.c $v, $REQS requests, under valgrind --leak-check=full"
      log=$RAW/valgrind-$series-$v.txt
      GOMAXPROCS=2 lab_run 300 valgrind --leak-check=full --log-file="$log" "$b" "$v" "$REQS" >/dev/null &&
        python3 "$HERE/parse.py" valgrind "$series" "$v" "$log" >>"$LAB_OUT/valgrind.tsv"
    done
  done
fi

lab_plot "$HERE/goroutines.gp" goroutines --size 1100,760 ms="$MS"
echo "  leak checks (who leaked, created where):"
column -t -s $'\t' "$LAB_OUT/leakcheck.tsv" | sed 's/^/    /'
[ "$have_vg" = 1 ] && { echo "  valgrind:"; column -t -s $'\t' "$LAB_OUT/valgrind.tsv" | sed 's/^/    /'; }
lab_done
