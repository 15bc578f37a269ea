#!/bin/sh
# tests/run.sh BUILD: runs every Criterion binary BUILD/tests/test_* three
# times, with GOMAXPROCS=1, 2 and 4 in the environment, one test process at a
# time (-j1: the graders' machines have 2 cores). Prints one line per
# (binary, GOMAXPROCS):
#     PASS: test_chan (GOMAXPROCS=2)
#     FAIL: test_chan (GOMAXPROCS=2)      followed by Criterion's output
# and closes with "N passed, N failed". Exit status 0 only when none failed.
# A run whose output holds a sanitizer report (ASan, LSan, TSan, UBSan) fails
# even when Criterion counted every test as passed.
#
# Environment: GORT_STRESS_SCALE (default 1) multiplies the stress sizes;
# GORT_TEST_FILTER, when set, is handed to Criterion's --filter;
# GORT_TEST_PROCS (default "1 2 4") lists the GOMAXPROCS values to run;
# GODEBUG is passed on, so GODEBUG=schedseed=N runs every test with seed N.
#
# A failing test logs the line that replays it ("replay: GOMAXPROCS=1
# GODEBUG=schedseed=N build/tests/test_x --filter 'suite/name'", from
# tests/harness.h); the summary repeats every such line before the count.

build=${1:-build}
dir="$build/tests"
if [ ! -d "$dir" ]; then
    echo "run.sh: no directory $dir (build the tests first)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

# Per-test timeouts come from each test's .timeout attribute (tests/harness.h:
# 30 s, 300 s in sanitizer builds). The whole binary gets a generous outer
# limit as a last resort against a hang Criterion cannot see.
outer_limit=${GORT_TEST_BINARY_TIMEOUT:-1800}
if command -v timeout >/dev/null 2>&1; then
    limiter="timeout -k 10 $outer_limit"
else
    limiter=""
fi

passed=0
failed=0
log=$(mktemp "${TMPDIR:-/tmp}/gort-run.XXXXXX") || exit 1
replays=$(mktemp "${TMPDIR:-/tmp}/gort-replay.XXXXXX") || exit 1
trap 'rm -f "$log" "$replays"' EXIT INT TERM

found=0
for bin in "$dir"/test_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    found=1
    name=$(basename "$bin")
    for procs in ${GORT_TEST_PROCS:-1 2 4}; do
        if [ -n "$GORT_TEST_FILTER" ]; then
            GOMAXPROCS=$procs $limiter "$bin" -j1 --filter "$GORT_TEST_FILTER" >"$log" 2>&1
        else
            GOMAXPROCS=$procs $limiter "$bin" -j1 >"$log" 2>&1
        fi
        status=$?
        # Criterion passes a test whose process reports a leak or a race at
        # exit; a sanitizer report anywhere in the output fails the run.
        sanitizer=0
        if grep -Eq 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|WARNING: ThreadSanitizer|runtime error: ' "$log"; then
            sanitizer=1
        fi
        if [ $status -eq 0 ] && [ $sanitizer -eq 0 ]; then
            passed=$((passed + 1))
            echo "PASS: $name (GOMAXPROCS=$procs)"
        else
            failed=$((failed + 1))
            echo "FAIL: $name (GOMAXPROCS=$procs)"
            if [ $status -eq 124 ] || [ $status -eq 137 ]; then
                echo "  (the binary ran past ${outer_limit} s and was killed)"
            fi
            if [ $sanitizer -eq 1 ]; then
                echo "  (a sanitizer reported an error)"
            fi
            sed 's/^/  /' "$log"
            grep -o 'replay: .*' "$log" >>"$replays"
        fi
    done
done

if [ $found -eq 0 ]; then
    echo "run.sh: no test binaries in $dir" >&2
    failed=$((failed + 1))
fi

if [ -s "$replays" ]; then
    echo "To replay a failed test with its seed (see README.md, \"Replaying a run\"):"
    sed 's/^replay: /  /' "$replays"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
