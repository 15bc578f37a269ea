#!/usr/bin/env bash
# Runs the same benchmark on several stages side by side, and Go beside them,
# at one GOMAXPROCS, so that one run shows what each stage's idea buys.
#
#   scripts/bench-stages.sh [-r RUNS] [-n SIZE] P[/P2] WORKLOAD[:GOTWIN] STAGE...
#   scripts/bench-stages.sh 2 spawn 01 02
#   scripts/bench-stages.sh -r 5 2 chan_pingpong:pingpong 01 02 03
#   scripts/bench-stages.sh -r 5 1/2 fib 02 03
#
# WORKLOAD is a program of some stage's bench/ (bench/WORKLOAD.c); GOTWIN is
# its subcommand in scripts/go-bench (default: WORKLOAD). Each stage's
# libgort.a is built if needed, and the workload's source is taken from the
# newest stage that has it, so a benchmark written for stage 03 also runs on
# stage 02 (the API is the same). Runs alternate between stages and Go, RUNS
# times (default 3); the median of each metric is printed, one table row per
# metric:
#
#   # GOMAXPROCS=2 spawn (median of 3)
#   metric              unit  01        02        go      02/01  02/go
#   spawn_goroutine     ns    210.4     120.9     268.0   0.57   0.45
#
# P/P2 (paired rounds, for a speedup): every run of a round is made at
# GOMAXPROCS=P and then at P2, a table is printed for each, and then one of
# the rounds' ratios, value at P over value at P2, the median over the rounds
# (for a time: the speedup), with each stage's minus Go's:
#
#   # speedup: GOMAXPROCS=1 / GOMAXPROCS=2, median of the 5 rounds' ratios
#   metric              unit  02        03        go      02-go  03-go
#   fib_ms              x     1.84      1.89      1.93    -0.09  -0.04
#
# Before and after the runs, scripts/cpuspeed.c counts work on every CPU at
# once; when the slowest CPU did under 0.9 of the fastest's (the host is
# lending one virtual CPU less time: minutes at a time on the course
# machines), a warning under the table says the run measured the host.
#
# Exit status: 0, 1 if a run failed, 2 on bad usage.
set -u
cd "$(dirname "$0")/.." || exit 2
usage() { sed -n '4,8p' "$0" >&2; exit 2; }

runs=3 size=""
while getopts r:n:h opt; do
  case $opt in r) runs=$OPTARG ;; n) size=$OPTARG ;; *) usage ;; esac
done
shift $((OPTIND - 1))
[ $# -ge 3 ] || usage
procs=$1 work=${2%%:*} twin=${2#*:}; shift 2
plist=${procs/\// }
for p in $plist; do
  case $p in ''|*[!0-9]*) echo "bench-stages: GOMAXPROCS must be N or N/M, not '$procs'" >&2; exit 2 ;; esac
done

stages=() dirs=()
for s in "$@"; do
  d=$(ls -d stages/"$s"-*/ 2>/dev/null | head -1)
  [ -n "$d" ] || { echo "bench-stages: no stages/$s-* directory" >&2; exit 2; }
  stages+=("$s") dirs+=("${d%/}")
done
src=""
for d in $(ls -d stages/[0-9][0-9]-*/ | sort -r); do
  [ -f "$d/bench/$work.c" ] && { src="$d/bench/$work.c"; break; }
done
[ -n "$src" ] || { echo "bench-stages: no stage has bench/$work.c" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gort-bstages.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
bins=()
for i in "${!dirs[@]}"; do
  d=${dirs[$i]}
  echo "building $work against $d ..." >&2
  make -s -C "$d" build/libgort.a >&2 || { echo "bench-stages: cannot build $d" >&2; exit 1; }
  bin=$tmp/${stages[$i]}
  cc -O2 -g -pthread -I"$d/include" "$src" "$d/build/libgort.a" -lm -o "$bin" ||
    { echo "bench-stages: $src does not build against $d" >&2; exit 1; }
  bins+=("$bin")
done
gobench=""
if command -v go >/dev/null 2>&1; then
  gb=build/go-bench
  mkdir -p "$gb"
  if (cd scripts/go-bench && GOCACHE="$PWD/../../$gb/cache" GOPATH="$PWD/../../$gb/gopath" \
        GOFLAGS=-mod=mod GOPROXY=off GOENV=off GOTOOLCHAIN=local go build -o "../../$gb/gobench" .) >&2
  then gobench=$gb/gobench; fi
fi

cc -O2 -pthread scripts/cpuspeed.c -o "$tmp/cpuspeed" || { echo "bench-stages: cannot build scripts/cpuspeed.c" >&2; exit 1; }
speed_before=$("$tmp/cpuspeed")

fail=0
one() { # label P cmd...: the output's lines, each after the round's number
  local label=$1 p=$2; shift 2
  if GOMAXPROCS=$p timeout 300 "$@" $size >"$tmp/out" 2>"$tmp/err" </dev/null; then
    sed "s/^/$r /" "$tmp/out" >>"$tmp/$label@$p.res"
  else
    echo "FAILED: GOMAXPROCS=$p $* $size" >&2; sed 's/^/    /' "$tmp/err" | head >&2; fail=1
  fi
}
for r in $(seq 1 "$runs"); do
  for i in "${!bins[@]}"; do
    for p in $plist; do
      echo "[$r/$runs] stage ${stages[$i]}, GOMAXPROCS=$p, $work ${size}" >&2
      one "${stages[$i]}" "$p" "${bins[$i]}"
    done
  done
  if [ -n "$gobench" ]; then
    for p in $plist; do
      echo "[$r/$runs] go, GOMAXPROCS=$p, $twin ${size}" >&2
      one go "$p" "$gobench" "$twin"
    done
  fi
done

speed_after=$("$tmp/cpuspeed")

labels=("${stages[@]}"); [ -n "$gobench" ] && labels+=(go)
for p in $plist; do
echo "# GOMAXPROCS=$p $work (median of $runs; $(nproc) CPUs)"
for l in "${labels[@]}"; do [ -f "$tmp/$l@$p.res" ] && sed "s/^/$l /" "$tmp/$l@$p.res"; done |
awk -v labels="${labels[*]}" '
  function median(list,    a, k, i, j, t) {
    k = split(list, a, " ")
    for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j-1]+0 > a[j]+0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
    return k % 2 ? a[(k+1)/2] : (a[k/2] + a[k/2+1]) / 2
  }
  NF == 5 { $2 = ""; $0 = $0 }          # label round metric value unit: the round goes
  NF == 4 { if (!($2 in unit)) { order[++n] = $2; unit[$2] = $4 } v[$1, $2] = v[$1, $2] " " $3 }
  END {
    nl = split(labels, L, " "); ns = L[nl] == "go" ? nl - 1 : nl    # ns stages
    printf "%-22s %-6s", "metric", "unit"; for (i = 1; i <= nl; i++) printf " %10s", L[i]
    for (i = 2; i <= ns; i++) printf " %8s", L[i] "/" L[1]
    if (L[nl] == "go") for (i = 1; i < nl; i++) printf " %8s", L[i] "/go"
    printf "\n"
    for (k = 1; k <= n; k++) {
      m = order[k]; printf "%-22s %-6s", m, unit[m]
      for (i = 1; i <= nl; i++) { med[i] = ((L[i], m) in v) ? median(v[L[i], m]) : ""; printf " %10s", med[i] }
      for (i = 2; i <= ns; i++) printf " %8s", (med[i] != "" && med[1] + 0 > 0) ? sprintf("%.2f", med[i] / med[1]) : "-"
      if (L[nl] == "go") for (i = 1; i < nl; i++) printf " %8s", (med[i] != "" && med[nl] + 0 > 0) ? sprintf("%.2f", med[i] / med[nl]) : "-"
      printf "\n"
    }
  }'
done
if [ "$plist" != "$procs" ]; then
  pa=${plist% *} pb=${plist#* }
  echo "# speedup: GOMAXPROCS=$pa / GOMAXPROCS=$pb, median of the $runs rounds' ratios"
  for l in "${labels[@]}"; do
    for p in $pa $pb; do [ -f "$tmp/$l@$p.res" ] && sed "s/^/$l $p /" "$tmp/$l@$p.res"; done
  done |
  awk -v labels="${labels[*]}" -v pa="$pa" -v pb="$pb" '
    function median(list,    a, k, i, j, t) {
      k = split(list, a, " ")
      for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j-1]+0 > a[j]+0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
      return k % 2 ? a[(k+1)/2] : (a[k/2] + a[k/2+1]) / 2
    }
    NF == 6 { if (!($4 in seen)) { order[++n] = $4; seen[$4] = 1 }
              v[$1, $2, $3, $4] = $5; if ($3 > nr) nr = $3 }   # label P round metric value unit
    END {
      nl = split(labels, L, " "); ns = L[nl] == "go" ? nl - 1 : nl
      printf "%-22s %-6s", "metric", "unit"; for (i = 1; i <= nl; i++) printf " %10s", L[i]
      if (L[nl] == "go") for (i = 1; i <= ns; i++) printf " %8s", L[i] "-go"
      printf "\n"
      for (k = 1; k <= n; k++) {
        m = order[k]; printf "%-22s %-6s", m, "x"
        for (i = 1; i <= nl; i++) {
          list = ""
          for (r = 1; r <= nr; r++)
            if (((L[i], pa, r, m) in v) && ((L[i], pb, r, m) in v) && v[L[i], pb, r, m] + 0 > 0)
              list = list " " v[L[i], pa, r, m] / v[L[i], pb, r, m]
          med[i] = list != "" ? sprintf("%.2f", median(list)) : ""
          printf " %10s", med[i]
        }
        if (L[nl] == "go") for (i = 1; i <= ns; i++)
          printf " %8s", (med[i] != "" && med[nl] != "") ? sprintf("%+.2f", med[i] - med[nl]) : "-"
        printf "\n"
      }
    }'
fi
echo "# ${speed_before/cpuspeed/CPU speeds before:}; ${speed_after/cpuspeed/after:}"
for sp in "$speed_before" "$speed_after"; do
  if awk '{ exit !($NF < 0.9) }' <<<"$sp"; then
    echo "# warning: one CPU ran at under 0.9 of another's speed (scripts/cpuspeed.c): the host"
    echo "# held it back, so times at GOMAXPROCS > 1 measure the host as much as the runtime"
    break
  fi
done
exit $fail
