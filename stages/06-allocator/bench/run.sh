#!/bin/sh
# bench/run.sh BUILD: gort's micro-benchmarks, each beside its Go twin.
#
# For GOMAXPROCS in 1 and 2, runs every workload on gort (BUILD/bench/NAME)
# and then, when `go` is on PATH, the identical Go program
# (scripts/go-bench, built here into BUILD/go-bench) right after it, so the
# two are measured on the same machine within seconds of each other.
# The workloads are those of the repository's REFERENCE.md: spawn 1M goroutines each
# calling wg.Done; park 1M goroutines on one channel; two goroutines calling
# Gosched; unbuffered ping-pong; a cap-128 channel carrying 10M ints;
# parallel fib(35) with a goroutine per call above n=20; 4,000 skewed CPU
# tasks spawned by one goroutine (stage 03: what stealing buys); a
# getppid system call bracketed by entersyscall/exitsyscall, and bare
# (stage 04: what the bracket costs; Go: syscall.Syscall, RawSyscall).
#
# Output (stdout), under a "# GOMAXPROCS=P" line, one "metric value unit"
# line per result:
#     spawn_goroutine.gort 812.3 ns
#     spawn_goroutine.go 884.4 ns
#     spawn_goroutine.gort/go 0.92 ratio
# Every metric is lower-is-better (a ratio under 1 means gort beat Go)
# except skewed_efficiency, a fraction where higher is better, and
# fib_speedup. Each value is the median of 3 runs (park: 1), gort and Go
# alternating.
#
# fib is measured in paired rounds instead (a "# fib" section): each round
# runs bench/fib at GOMAXPROCS=1 and then 2, gort's pair and Go's pair
# (which goes first alternates), each run timing about a second of fib(35)
# trees at cutoff 20 in both languages. A round's speedup is its P=1 time
# over its P=2 time; the lines are the medians over the rounds:
#     fib_ms_p1.gort 12.10 ms        fib_ms_p2.gort 6.40 ms
#     fib_speedup.gort 1.89 x        median of the rounds' speedups
#     fib_speedup.gort-go -0.04 x    gort's minus Go's
# Stage 03's target: gort's speedup within 0.05 of Go's in the same rounds
# (REFERENCE.md: compare speedups at equal grain, in one run); and
#     skewed_efficiency_p2.gort 0.97 fraction
# at least 0.95 at P=2.
#
# Stage 04 adds a "# preemption" section at GOMAXPROCS=1: the sleeper
# (1 ms sleeps beside a spinner with no calls: wake-up lateness p50, p99,
# max, gort and Go), and fib_preempt (fib(35) in one goroutine) three ways:
# no preemption (asyncpreemptoff=1), async (signals, the default build) and
# coop (the PREEMPT=coop build in BUILD-coop: every call runs the prologue
# check), with coop/none and async/none ratios.
# Stage 05 adds timers (a timer made and stopped, and reset and stopped,
# by every P at once: Go's time.NewTimer/Stop/Reset) to the workloads, and
# an "# echo" section: at GOMAXPROCS 1 and 2, gort's echo server
# (bench/echo_server.c), Go's (gobench echoserver) and the bare one-thread
# epoll server (bench/epoll_echo.c, the floor), each driven for ECHO_SECS
# seconds (5) by the same client (bench/echo_client.c: 100 connections,
# 64-byte request and reply, 2 client threads). Per server: requests per
# second (higher is better) and the server's CPU time per request (from
# /proc, lower is better), the medians of the rounds, gort/go ratios and
# gort's and Go's CPU per request over the floor's ("...gort/floor").
# Then, once at GOMAXPROCS=1, each server's resident memory per idle
# connection with 10,000 connections open (echo_idle_rss).
# Stage 06 adds an "# allocator" section: bench/malloc (churn with 100,000
# live objects of 16, 64, 256 bytes on 1 and 2 threads, and cross-P frees
# from a producer to a consumer), gort beside glibc's malloc, and mimalloc
# and jemalloc where their libraries load; one run, ns per operation.
# Progress goes to stderr. QUICK=1 divides every size by 10 (CI smoke runs;
# fib: 100 ms of trees a run); REPEAT=N sets the number of runs of every
# workload, FIB_ROUNDS=N the rounds of fib (default 5).
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
chan_buffered:buffered:10000000:3
skewed:skewed:4000:3
syscall:syscall:2000000:3
timers:timers:1000000:3"

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
    if [ "$rc" = 0 ] && grep -q '^[A-Za-z0-9_]* [-0-9.]* [a-z]*$' "$TMP/out"; then
        cat "$TMP/out" >>"$TMP/$label"
        return 0
    fi
    if [ "$rc" = 124 ]; then why="timed out after 180 s"; else why="exit status $rc"; fi
    echo "FAILED: GOMAXPROCS=$p $* ($why)" >&2
    sed 's/^/    /' "$TMP/err" | head -20 >&2
    : >"$TMP/failed"    # the loop below runs in a subshell: flag failure in a file
    return 1
}

# medians GORTFILE GOFILE [P]: per metric, gort's median, Go's, and their
# ratio; with P, the medians are also kept in $TMP/medians for the derived lines.
medians() {
    awk -v gortf="$1" -v gof="$2" -v p="${3:-}" -v medf="$TMP/medians" '
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
                if (m in gv) { g = median(gv[m]); printf "%s.gort %s %s\n", m, g, unit[m]
                               if (p != "") print p, m ".gort", g >> medf }
                if (m in ov) { o = median(ov[m]); printf "%s.go %s %s\n", m, o, unit[m]
                               if (p != "") print p, m ".go", o >> medf }
                if (g != "" && o != "" && o + 0 > 0)
                    printf "%s.gort/go %.2f ratio\n", m, g / o
            }
        }'
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
        medians "$TMP/gort" "$TMP/go" "$p"
    done
done

# ---- fib: paired rounds --------------------------------------------------------
fibrounds=${FIB_ROUNDS:-5}
fibms=1000
[ "$div" != 1 ] && fibms=100
echo "# fib(35), cutoff 20: $fibrounds rounds of GOMAXPROCS=1 then 2, each run ${fibms} ms of trees"
[ -x "$BUILD/bench/fib" ] || { echo "FAILED: $BUILD/bench/fib not built" >&2; : >"$TMP/failed"; }
: >"$TMP/fibr"
r=1
while [ "$r" -le "$fibrounds" ]; do
    order="gort go"
    [ $((r % 2)) = 0 ] && order="go gort"
    for who in $order; do
        for p in 1 2; do
            : >"$TMP/fib1"
            if [ "$who" = gort ] && [ -x "$BUILD/bench/fib" ]; then
                echo "fib round $r/$fibrounds: gort, GOMAXPROCS=$p..." >&2
                run_one fib1 "$p" "$BUILD/bench/fib" 35 20 "$fibms"
            elif [ "$who" = go ] && [ -n "$GOBENCH" ]; then
                echo "fib round $r/$fibrounds: go, GOMAXPROCS=$p..." >&2
                run_one fib1 "$p" "$GOBENCH" fib 35 20 "$fibms"
            fi
            awk -v r="$r" -v w="$who" -v p="$p" '$1 == "fib_ms" { print r, w, p, $2 }' \
                "$TMP/fib1" >>"$TMP/fibr"
        done
    done
    r=$((r + 1))
done
awk '
    function median(list,    a, k, i, j, t) {
        k = split(list, a, " ")
        for (i = 2; i <= k; i++)
            for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
                t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
            }
        return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }
    { t[$1, $2, $3] = $4; if ($1 > nr) nr = $1 }
    END {
        split("gort go", who, " ")
        for (i = 1; i <= 2; i++) {
            w = who[i]; l1 = l2 = ls = ""
            for (r = 1; r <= nr; r++) {
                if ((r, w, 1) in t) l1 = l1 " " t[r, w, 1]
                if ((r, w, 2) in t) l2 = l2 " " t[r, w, 2]
                if (((r, w, 1) in t) && ((r, w, 2) in t) && t[r, w, 2] > 0) {
                    s = t[r, w, 1] / t[r, w, 2]
                    ls = ls " " s
                    line[r] = line[r] sprintf(" %s %.2f/%.2f = %.2f", w, t[r, w, 1], t[r, w, 2], s)
                }
            }
            if (l1 != "") printf "fib_ms_p1.%s %.2f ms\n", w, median(l1)
            if (l2 != "") printf "fib_ms_p2.%s %.2f ms\n", w, median(l2)
            if (ls != "") { sp[w] = median(ls); printf "fib_speedup.%s %.2f x\n", w, sp[w] }
        }
        if (("gort" in sp) && ("go" in sp))
            printf "fib_speedup.gort-go %.2f x\n", sp["gort"] - sp["go"]
        for (r = 1; r <= nr; r++)
            if (line[r] != "") printf "# fib round %d:%s\n", r, line[r]
    }' "$TMP/fibr"

# ---- derived: skewed's efficiency at P=2 -----------------------------------------
echo "# derived (stage 03 targets: fib_speedup.gort-go >= -0.05, skewed_efficiency_p2 >= 0.95)"
[ -f "$TMP/medians" ] && awk '
    { v[$1, $2] = $3 }
    END {
        n = split("gort go", who, " ")
        for (i = 1; i <= n; i++)
            if ((2, "skewed_efficiency." who[i]) in v)
                printf "skewed_efficiency_p2.%s %s fraction\n", who[i], v[2, "skewed_efficiency." who[i]]
    }' "$TMP/medians"

# ---- stage 04: preemption, at GOMAXPROCS=1 -------------------------------------
echo "# preemption: GOMAXPROCS=1"
reps=${REPEAT:-3}
n=$((300 / div))
: >"$TMP/gort"
: >"$TMP/go"
r=1
while [ "$r" -le "$reps" ]; do
    echo "GOMAXPROCS=1 sleeper $n ($r/$reps): gort..." >&2
    run_one gort 1 "$BUILD/bench/sleeper" "$n"
    if [ -n "$GOBENCH" ]; then
        echo "GOMAXPROCS=1 sleeper $n ($r/$reps): go..." >&2
        run_one go 1 "$GOBENCH" sleeper "$n"
    fi
    r=$((r + 1))
done
medians "$TMP/gort" "$TMP/go"

# fib_preempt three ways; the coop binary comes from the PREEMPT=coop build.
COOP=$BUILD-coop/bench/fib_preempt
[ -x "$COOP" ] || echo "note: $COOP missing (make bench builds it): no coop figure" >&2
for mode in none async coop; do : >"$TMP/fib_$mode"; done
r=1
while [ "$r" -le "$reps" ]; do
    for mode in none async coop; do
        echo "GOMAXPROCS=1 fib_preempt 35, $mode ($r/$reps)..." >&2
        case $mode in
        none)  export GODEBUG=asyncpreemptoff=1
               run_one "fib_$mode" 1 "$BUILD/bench/fib_preempt" 35
               unset GODEBUG ;;
        async) run_one "fib_$mode" 1 "$BUILD/bench/fib_preempt" 35 ;;
        coop)  if [ -x "$COOP" ]; then run_one "fib_$mode" 1 "$COOP" 35; fi ;;
        esac
    done
    r=$((r + 1))
done
for mode in none async coop; do
    sed "s/^fib_\([a-z]*\) /fib_\1.$mode /" "$TMP/fib_$mode" >"$TMP/fibm_$mode"
done
cat "$TMP/fibm_none" "$TMP/fibm_async" "$TMP/fibm_coop" >"$TMP/fibm"
: >"$TMP/empty"
medians "$TMP/fibm" "$TMP/empty" | sed 's/\.gort / /' | tee "$TMP/fibmed"
awk '$1 == "fib_ms.none" { n = $2 } $1 == "fib_ms.async" { a = $2 } $1 == "fib_ms.coop" { c = $2 }
     END { if (n > 0 && a > 0) printf "fib_ms.async/none %.2f ratio\n", a / n
           if (n > 0 && c > 0) printf "fib_ms.coop/none %.2f ratio\n", c / n }' "$TMP/fibmed"

# ---- stage 05: the echo server, gort beside Go beside the epoll floor ----------
# serve LABEL P SERVER...: start a server, run the client against it, stop it.
# The client's lines go to $TMP/LABEL; CLIENTARGS says which client mode.
serve() {
    label=$1 p=$2
    shift 2
    GOMAXPROCS=$p "$@" >"$TMP/port" 2>"$TMP/serr" </dev/null &
    spid=$!
    port=""
    w=0
    while [ -z "$port" ] && [ "$w" -lt 100 ] && kill -0 "$spid" 2>/dev/null; do
        sleep 0.05
        port=$(sed -n 's/^port \([0-9][0-9]*\)$/\1/p' "$TMP/port")
        w=$((w + 1))
    done
    if [ -z "$port" ]; then
        echo "FAILED: GOMAXPROCS=$p $* printed no port" >&2
        sed 's/^/    /' "$TMP/serr" | head -20 >&2
        kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
        : >"$TMP/failed"
        return 1
    fi
    # shellcheck disable=SC2086
    run_one "$label" "$p" "$BUILD/bench/echo_client" $CLIENTARGS_MODE "$port" "$spid" $CLIENTARGS
    kill "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    return 0
}

secs=${ECHO_SECS:-5}
[ "$div" != 1 ] && secs=1
reps=${REPEAT:-3}
for p in 1 2; do
    echo "# echo: GOMAXPROCS=$p, 100 connections, 64-byte request and reply, ${secs} s a run"
    : >"$TMP/gort"; : >"$TMP/go"; : >"$TMP/floor"
    CLIENTARGS_MODE=rr CLIENTARGS="100 $secs 2"
    r=1
    while [ "$r" -le "$reps" ]; do
        echo "GOMAXPROCS=$p echo ($r/$reps): gort..." >&2
        serve gort "$p" "$BUILD/bench/echo_server"
        if [ -n "$GOBENCH" ]; then
            echo "GOMAXPROCS=$p echo ($r/$reps): go..." >&2
            serve go "$p" "$GOBENCH" echoserver
        fi
        echo "GOMAXPROCS=$p echo ($r/$reps): epoll floor..." >&2
        serve floor "$p" "$BUILD/bench/epoll_echo"
        r=$((r + 1))
    done
    medians "$TMP/gort" "$TMP/go" | sed "s/^echo_\([a-z_]*\)\./echo_\1_p$p./" | tee "$TMP/echomed"
    medians "$TMP/floor" "$TMP/empty" | sed "s/^echo_\([a-z_]*\)\.gort /echo_\1_p$p.floor /" | tee -a "$TMP/echomed"
    awk -v p="$p" '{ v[$1] = $2 }
        END { f = v["echo_cpu_per_req_p" p ".floor"]
              if (f > 0) for (w in v) if (w ~ /^echo_cpu_per_req_p[0-9]+\.(gort|go)$/) {
                  split(w, a, "."); printf "echo_cpu_per_req_p%s.%s/floor %.2f ratio\n", p, a[2], v[w] / f } }' \
        "$TMP/echomed" | sort
done

n=$((10000 / div))
echo "# echo: GOMAXPROCS=1, $n idle connections: server resident memory per connection"
: >"$TMP/gort"; : >"$TMP/go"
CLIENTARGS_MODE=idle CLIENTARGS="$n"
echo "GOMAXPROCS=1 echo idle $n: gort..." >&2
serve gort 1 "$BUILD/bench/echo_server"
if [ -n "$GOBENCH" ]; then
    echo "GOMAXPROCS=1 echo idle $n: go..." >&2
    serve go 1 "$GOBENCH" echoserver
fi
medians "$TMP/gort" "$TMP/go"
# ---- stage 06: the allocator, beside glibc (mimalloc, jemalloc when installed) --
echo "# allocator: GOMAXPROCS=2, one run (bench/malloc.c)"
echo "malloc $((4000000 / div))..." >&2
GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384 GOMAXPROCS=2 timeout 600 \
    "$BUILD/bench/malloc" $((4000000 / div)) || echo malloc >>"$TMP/failed"

[ -f "$TMP/failed" ] && exit 1
exit 0
