#!/usr/bin/env bash
# exercises/lib/grade.sh: runs one exercise's graded tests and prints a score.
#
#   grade.sh TESTS_BINARY TITLE
#
# The binary is built from the exercise's tests/*.c with lib/grade.h; its
# `--list` gives "name points parent procs" per test, in order. Each test
# runs in its own process under GNU timeout, so a deadlock or an endless loop
# fails that test and never hangs the grader. Prints
#
#   PASS name (points)
#   FAIL name (points): reason          then the test's output, indented,
#                                       and the line that replays it
#   score: X/Y
#
# A test passes only when it exits 0 AND printed its "(name) end" line (a
# test that dies early cannot pass). A test whose parent failed is not run
# and fails ("parent ... failed"), as in xv6's gradelib. Exit status 0 only
# when every test passed.
#
# Environment:
#   GRADE_TIMEOUT   seconds per test (default 20; 120 in sanitizer builds)
#   GRADE_SEED      the seed of a run: the test's own random draws
#                   (grade_rand) and the runtime's schedule seed
#                   (GODEBUG=schedseed=N); unset, each test gets a fresh one.
#                   Every FAIL line ends with a replay line that reruns the
#                   test with the same seed and environment
#   GRADE_ONLY      run (and count) only the tests whose names match this
#                   regexp; a parent left out counts as passed
#   GRADE_NO_PARENTS=1  run every test even when its parent failed (the
#                   integrity check: each test must fail on the starter on
#                   its own, not only through its parent)
#   GOMAXPROCS      overrides each test's own setting
#   GODEBUG         the user's settings; each test runs with
#                   GODEBUG=schedseed=SEED,<the user's GODEBUG>, unless the
#                   user's GODEBUG names a schedseed itself: that one wins
set -u
bin=${1:?usage: grade.sh TESTS_BINARY TITLE}
title=${2:-$bin}

if ! list=$("$bin" --list 2>&1); then
    echo "FAIL $title: cannot list the tests of $bin:"
    printf '%s\n' "$list" | sed 's/^/    /'
    echo "score: 0/0"
    exit 1
fi

timeout_s=${GRADE_TIMEOUT:-20}
case $timeout_s in ''|*[!0-9]*|0)
    echo "grade.sh: GRADE_TIMEOUT=$timeout_s: expected a positive number of seconds" >&2
    exit 2 ;;
esac
if [ -n "${GRADE_SEED:-}" ] && ! [[ $GRADE_SEED =~ ^[0-9]+$ ]]; then
    echo "grade.sh: GRADE_SEED=$GRADE_SEED: expected a decimal number" >&2
    exit 2
fi

# GODEBUG for one test: the runtime's schedule seed first, then the user's
# settings; a schedseed the user gave is kept as it is (theirs wins).
with_schedseed() {
    local user=${GODEBUG:-}
    if [[ ,$user, =~ ,schedseed= ]]; then printf '%s' "$user"
    elif [ -n "$user" ]; then printf 'schedseed=%s,%s' "$1" "$user"
    else printf 'schedseed=%s' "$1"; fi
}

log=$(mktemp "${TMPDIR:-/tmp}/gort-grade.XXXXXX") || exit 2
trap 'rm -f "$log"' EXIT

echo "== $title"
declare -A failed_tests=()
score=0 total=0 nfail=0
while read -r name points parent procs; do
    [ -n "$name" ] || continue
    if [ -n "${GRADE_ONLY:-}" ] && ! [[ $name =~ $GRADE_ONLY ]]; then
        continue                    # not asked for: not run, not counted
    fi
    total=$((total + points))
    if [ "$parent" != "-" ] && [ -n "${failed_tests[$parent]:-}" ] && [ -z "${GRADE_NO_PARENTS:-}" ]; then
        echo "FAIL $name ($points): parent test $parent failed"
        failed_tests[$name]=1
        nfail=$((nfail + 1))
        continue
    fi
    if [ -n "${GOMAXPROCS:-}" ]; then p=$GOMAXPROCS
    elif [ "$procs" != 0 ]; then p=$procs
    else p=2; fi
    seed=${GRADE_SEED:-$(( (RANDOM << 15 | RANDOM) ))}
    godebug=$(with_schedseed "$seed")
    start=$(date +%s%N)
    GOMAXPROCS=$p GODEBUG=$godebug GRADE_SEED=$seed GRADE_TIMEOUT=$timeout_s \
        timeout -k 2 $((timeout_s + 2)) "$bin" "$name" >"$log" 2>&1 </dev/null
    rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    reason=""
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        reason="timed out after ${timeout_s} s (deadlock or endless loop?)"
    elif [ $rc -eq 3 ] && grep -q "^($name) still running" "$log"; then
        reason="still running after $((timeout_s - 1)) s (deadlock or endless loop?); goroutines below"
    elif [ $rc -gt 128 ]; then
        reason="killed by signal $((rc - 128)) ($(kill -l $((rc - 128)) 2>/dev/null))"
    elif [ $rc -eq 2 ] && grep -q '^fatal error\|^panic' "$log"; then
        reason="the program died: $(grep -m1 '^fatal error\|^panic' "$log")"
    elif [ $rc -ne 0 ]; then
        n=$(grep -c '^check failed' "$log")
        if [ "$n" -gt 0 ]; then reason="$n check(s) failed"; else reason="exit status $rc"; fi
    elif ! grep -qxF "($name) end" "$log"; then
        reason="exited 0 without printing its end line: it died early"
    fi
    if [ -z "$reason" ]; then
        echo "PASS $name ($points)  [${ms} ms]"
        score=$((score + points))
    else
        echo "FAIL $name ($points): $reason"
        failed_tests[$name]=1
        nfail=$((nfail + 1))
        # The end of the output is where the news is; keep it readable.
        lines=$(wc -l <"$log")
        [ "$lines" -gt 60 ] && echo "    ... ($((lines - 60)) lines before these)"
        tail -n 60 "$log" | sed 's/^/    /'
        echo "    replay: GOMAXPROCS=$p GODEBUG='$godebug' GRADE_SEED=$seed GRADE_TIMEOUT=$timeout_s $bin $name"
    fi
done <<<"$list"

echo "score: $score/$total"
[ $nfail -eq 0 ] && [ $total -gt 0 ]
