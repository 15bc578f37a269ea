#!/bin/sh
# bench/run.sh BUILD: gort's micro-benchmarks, each beside its Go twin.
#
# For GOMAXPROCS in 1 and 2, runs every workload on gort (BUILD/bench/NAME)
# and then, when `go` is on PATH, the identical Go program
# (scripts/go-bench, built here into BUILD/go-bench) right after it, so the
# two are measured on the same machine within seconds of each other.
# The workloads are those of the repository's REFERENCE.md: spawn 1M goroutines each
# calling wg.Done; park 1M goroutines on one channel; two goroutines calling
# Gosched; unbuffered ping-pong; a cap-128 channel carrying 10M ints.
#
# Output (stdout), under a "# GOMAXPROCS=P" line, one "metric value unit"
# line per result:
#     spawn_goroutine.gort 812.3 ns
#     spawn_goroutine.go 884.4 ns
#     spawn_goroutine.gort/go 0.92 ratio
# Every metric is lower-is-better: a ratio under 1 means gort beat Go.
# Each value is the median of 3 runs (park: 1), gort and Go alternating.
# Progress goes to stderr. QUICK=1 divides every size by 10 (CI smoke runs);
# REPEAT=N sets the number of runs of every workload.
# GO_BENCH_DIR overrides where the Go twins' sources are.
# Exit status: 0, or 1 if a benchmark failed (crashed, timed out, no output).

BUILD=${1:?usage: sh bench/run.sh BUILD}
STAGE=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$BUILD" && pwd) || exit 2
GO_BENCH_DIR=${GO_BENCH_DIR:-$STAGE/../../scripts/go-bench}
unset GORT_TRACE GODEBUG

div=1
[ "${QUICK:-0}" = 1 ] && div=10

# workload: C program, Go twin's name, size, runs (the median is printed;
# park runs once: it holds a million goroutines and takes seconds)
WORKLOADS="spawn:spawn:1000000:3
park:park:1000000:1
gosched:gosched:1000000:3
chan_pingpong:pingpong:1000000:3
chan_buffered:buffered:10000000:3"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gort-bench.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT INT TERM

# ---- Go twin -------------------------------------------------------------
GOBENCH=""
if command -v go >/dev/null 2>&1 && [ -f "$GO_BENCH_DIR/go.mod" ]; then
    echo "building the Go twins (scripts/go-bench)..." >&2
    mkdir -p "$BUILD/go-bench"
    # Offline and self-contained: caches under BUILD, nothing in $HOME.
    if (cd "$GO_BENCH_DIR" &&
        GOCACHE="$BUILD/go-bench/cache" GOPATH="$BUILD/go-bench/gopath" \
        GOFLAGS=-mod=mod GOPROXY=off GOENV=off GOTOOLCHAIN=local \
        go build -o "$BUILD/go-bench/gobench" .) >&2; then
        GOBENCH=$BUILD/go-bench/gobench
        GOVERSION=$(go env GOVERSION 2>/dev/null || go version)
    else
        echo "warning: could not build the Go twins; gort numbers only" >&2
    fi
else
    echo "note: go not on PATH (or $GO_BENCH_DIR missing): gort numbers only" >&2
fi

# ---- header ----------------------------------------------------------------
model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -1)
echo "# gort benchmarks, stage $(basename "$STAGE"): $(nproc) CPUs (${model:-unknown CPU})"
quick=""
[ "$div" != 1 ] && quick=", QUICK=1: sizes / $div"
echo "# compared with: ${GOVERSION:-no Go}$quick"
echo "# absolute numbers drift on shared machines: compare the gort/go ratios of one run"

# run_one LABEL P CMD...: runs one benchmark program once and appends its
# "metric value unit" lines to $TMP/LABEL.
run_one() {
    label=$1 p=$2
    shift 2
    GOMAXPROCS=$p timeout 180 "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    rc=$?
    if [ "$rc" = 0 ] && grep -q '^[A-Za-z_]* [-0-9.]* [a-z]*$' "$TMP/out"; then
        cat "$TMP/out" >>"$TMP/$label"
        return 0
    fi
    if [ "$rc" = 124 ]; then why="timed out after 180 s"; else why="exit status $rc"; fi
    echo "FAILED: GOMAXPROCS=$p $* ($why)" >&2
    sed 's/^/    /' "$TMP/err" | head -20 >&2
    : >"$TMP/failed"    # the loop below runs in a subshell: flag failure in a file
    return 1
}

for p in 1 2; do
    echo "# GOMAXPROCS=$p"
    echo "$WORKLOADS" | while IFS=: read -r cname goname size reps; do
        n=$((size / div))
        reps=${REPEAT:-$reps}
        : >"$TMP/gort"
        : >"$TMP/go"
        if [ ! -x "$BUILD/bench/$cname" ]; then
            echo "FAILED: $BUILD/bench/$cname not built" >&2
            : >"$TMP/failed"
        fi
        # gort, Go, gort, Go, ...: both see the same drift.
        r=1
        while [ "$r" -le "$reps" ]; do
            if [ -x "$BUILD/bench/$cname" ]; then
                echo "GOMAXPROCS=$p $cname $n ($r/$reps): gort..." >&2
                run_one gort "$p" "$BUILD/bench/$cname" "$n"
            fi
            if [ -n "$GOBENCH" ]; then
                echo "GOMAXPROCS=$p $cname $n ($r/$reps): go..." >&2
                run_one go "$p" "$GOBENCH" "$goname" "$n"
            fi
            r=$((r + 1))
        done
        # Per metric: gort's median, Go's median, and their ratio.
        awk -v gortf="$TMP/gort" -v gof="$TMP/go" '
            function median(list,    a, k, i, j, t) {
                k = split(list, a, " ")
                for (i = 2; i <= k; i++)          # insertion sort: k is tiny
                    for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
                        t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
                    }
                return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
            }
            function load(file, vals,    line, f) {
                while ((getline line < file) > 0) {
                    if (split(line, f, " ") != 3) continue
                    if (!(f[1] in unit)) { order[++n] = f[1]; unit[f[1]] = f[3] }
                    vals[f[1]] = vals[f[1]] " " f[2]
                }
            }
            BEGIN {
                load(gortf, gv); load(gof, ov)
                for (i = 1; i <= n; i++) {
                    m = order[i]; g = ""; o = ""
                    if (m in gv) { g = median(gv[m]); printf "%s.gort %s %s\n", m, g, unit[m] }
                    if (m in ov) { o = median(ov[m]); printf "%s.go %s %s\n", m, o, unit[m] }
                    if (g != "" && o != "" && o + 0 > 0)
                        printf "%s.gort/go %.2f ratio\n", m, g / o
                }
            }'
    done
done

[ -f "$TMP/failed" ] && exit 1
exit 0
