#!/usr/bin/env bash
# exercises/lib/grade.sh: runs one exercise's graded tests and prints a score.
#
#   grade.sh TESTS_BINARY TITLE
#
# The binary is built from the exercise's tests/*.c with lib/grade.h; its
# `--list` gives "name points parent procs timeout" per test, in order. Each
# test runs in its own process (group) under GNU timeout, so a deadlock or an
# endless loop fails that test and never hangs the grader. Prints
#
#   test name ...                       before each test (a hang shows where)
#   PASS name (points)  [ms]
#   FAIL name (points): reason          then the test's output, indented and
#                                       made printable (cat -v), and the line
#                                       that replays it
#   score: X/Y
#
# Where results come from. A test passes only when it exits 0 AND reported
# its end on the result channel: a file the grader opens on descriptor
# GRADE_RESULT_FD, with a random token per run in GRADE_TOKEN (lib/grade.h
# takes both out of the environment before the code under test runs). What
# the test prints on stdout/stderr is never parsed for a result, only to
# explain a failure: debugging output cannot break a passing test, and code
# that prints the sentinel lines itself cannot pass a failing one. A test
# whose parent failed is not run and fails ("parent ... failed"), as in
# xv6's gradelib. Exit status 0 only when every test passed.
#
# Ctrl-C (SIGINT) or SIGTERM stops the run at once: the running test's
# process group is killed, nothing is left behind, exit status 130 (143).
#
# Environment:
#   GRADE_TIMEOUT   seconds per test; unset, each test's own limit from
#                   --list (lib/grade.h: GRADE_DEFAULT_TIMEOUT, 10 s, or
#                   the test's own; 6x under TSan, 3x under ASan)
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
#   GRADE_TSAN_BIN, GRADE_TSAN_TESTS  the same tests built with
#                   -fsanitize=thread, and the names (shell patterns,
#                   space-separated) of the tests that also run there: a
#                   test that races by design passes only when TSan finds
#                   no race too, so a racy answer scores the same every run
#                   (lib/exercise.mk sets both from an exercise's TSAN_TESTS)
#   GRADE_RULES     a rule the student's objects break (lib/exercise.mk's
#                   FORBID check): every test fails with it, none is run
#   GRADE_WHAT      what is graded, for the header ("your files", ...)
#   GOMAXPROCS      overrides each test's own setting
#   GODEBUG         the user's settings; each test runs with
#                   GODEBUG=schedseed=SEED,<the user's GODEBUG>, unless the
#                   user's GODEBUG names a schedseed itself: that one wins
set -u
bin=${1:?usage: grade.sh TESTS_BINARY TITLE}
title=${2:-$bin}
RESULT_FD=19                # the result channel's descriptor in each test

if [ -n "${GRADE_TIMEOUT:-}" ]; then
    case $GRADE_TIMEOUT in *[!0-9]*|0)
        echo "grade.sh: GRADE_TIMEOUT=$GRADE_TIMEOUT: expected a positive number of seconds" >&2
        exit 2 ;;
    esac
fi
if [ -n "${GRADE_SEED:-}" ] && ! [[ $GRADE_SEED =~ ^[0-9]+$ ]]; then
    echo "grade.sh: GRADE_SEED=$GRADE_SEED: expected a decimal number" >&2
    exit 2
fi

if ! list=$("$bin" --list 2>&1); then
    echo "FAIL $title: cannot list the tests of $bin:"
    printf '%s\n' "$list" | cat -v | sed 's/^/    /'
    echo "score: 0/0"
    exit 1
fi
tsan_list=""
if [ -n "${GRADE_TSAN_BIN:-}" ] && ! tsan_list=$("$GRADE_TSAN_BIN" --list 2>&1); then
    echo "FAIL $title: cannot list the tests of $GRADE_TSAN_BIN:"
    printf '%s\n' "$tsan_list" | cat -v | sed 's/^/    /'
    echo "score: 0/0"
    exit 1
fi

# GODEBUG for one test: the runtime's schedule seed first, then the user's
# settings; a schedseed the user gave is kept as it is (theirs wins).
with_schedseed() {
    local user=${GODEBUG:-}
    if [[ ,$user, =~ ,schedseed= ]]; then printf '%s' "$user"
    elif [ -n "$user" ]; then printf 'schedseed=%s,%s' "$1" "$user"
    else printf 'schedseed=%s' "$1"; fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gort-grade.XXXXXX") || exit 2
log=$tmp/log res=$tmp/result
child=""                    # the running test's timeout, leader of its group

# Ctrl-C: bash runs a trap only between commands, so each test runs in the
# background and the grader waits for it (wait returns at a signal). timeout
# puts the test in a process group of its own (its pid): kill all of it.
stop() {
    trap '' INT TERM
    if [ -n "$child" ]; then
        # TERM first: timeout passes it on and reaps the test, so nothing is
        # left, not even a zombie; KILL what still runs after 0.5 s.
        kill -TERM -- "-$child" 2>/dev/null || kill -TERM "$child" 2>/dev/null
        local i
        for i in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$child" 2>/dev/null || break
            sleep 0.05
        done
        kill -KILL -- "-$child" 2>/dev/null
        kill -KILL "$child" 2>/dev/null       # not yet in its own group
        wait "$child" 2>/dev/null
    fi
    rm -rf "$tmp"
    echo
    echo "grade.sh: interrupted"
    exit "$1"
}
trap 'stop 130' INT
trap 'stop 143' TERM
trap 'rm -rf "$tmp"' EXIT

# Runs test $1 of binary $2 with GOMAXPROCS=$3, GODEBUG=$4, seed $5 and a
# limit of $6 s; sets rc, ms and result (the channel's report: "end",
# "timeout" or ""). wait's own stderr is dropped: that is where bash writes
# "Segmentation fault (core dumped)" for a job that died of a signal; the
# reason line says it better.
run_one() {
    local token
    token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    : >"$res"
    local start
    start=$(date +%s%N)
    GOMAXPROCS=$3 GODEBUG=$4 GRADE_SEED=$5 GRADE_TIMEOUT=$6 \
        GRADE_RESULT_FD=$RESULT_FD GRADE_TOKEN=$token \
        timeout -k 1 $(($6 + 1)) "$2" "$1" >"$log" 2>&1 </dev/null 19>"$res" &
    child=$!
    wait "$child" 2>/dev/null
    rc=$?
    child=""
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    result=""
    local t what tname
    while read -r t what tname; do
        [ "$t" = "$token" ] && [ "$tname" = "$1" ] || continue
        case $what in end|timeout) result=$what ;; esac
    done <"$res"
}

# Why a run failed, in words; "" when it passed.
explain() {
    local secs=$1 hint=""
    [ -z "${san:-}" ] && [ -z "${GRADE_SAN:-}" ] && hint=" (grade with SAN=address to see where)"
    if [ $rc -eq 0 ] && [ "$result" = end ]; then
        return
    elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        echo "timed out after $secs s (deadlock or endless loop?)"
    elif [ $rc -eq 3 ] && [ "$result" = timeout ]; then
        echo "still running after $((secs - 1)) s (deadlock or endless loop?); goroutines below"
    elif [ $rc -eq 66 ] || grep -q '^WARNING: ThreadSanitizer' "$log"; then
        echo "ThreadSanitizer found a data race (exit status $rc): two threads touched the same memory, at least one writing, with nothing ordering them; the report below shows both accesses and their stacks"
    elif grep -q '^==[0-9]*==ERROR: AddressSanitizer\|^==[0-9]*==ERROR: LeakSanitizer' "$log"; then
        echo "AddressSanitizer found a memory error (exit status $rc): $(grep -m1 -o 'ERROR: [A-Za-z]*Sanitizer: [^ ]*' "$log" | cut -d' ' -f3-); the report below shows where"
    elif grep -q ': runtime error: ' "$log"; then
        echo "UndefinedBehaviorSanitizer found undefined behaviour: $(grep -m1 -o 'runtime error: .*' "$log" | cut -c1-120)"
    elif [ $rc -gt 128 ]; then
        local sig
        sig=$(kill -l $((rc - 128)) 2>/dev/null)
        case $sig in
        SEGV|BUS) echo "crashed: killed by signal $((rc - 128)) (SIG$sig, a bad pointer or a stack overflow)$hint" ;;
        ABRT) echo "crashed: aborted (SIGABRT: abort() or a failed assert)$hint" ;;
        FPE) echo "crashed: SIGFPE (a division by zero?)$hint" ;;
        *) echo "killed by signal $((rc - 128)) (SIG$sig)" ;;
        esac
    elif [ $rc -eq 2 ] && grep -q '^fatal error\|^panic' "$log"; then
        echo "the program died: $(grep -m1 '^fatal error\|^panic' "$log" | cat -v)"
    elif [ $rc -ne 0 ]; then
        local n
        n=$(grep -c '^check failed' "$log")
        if [ "$n" -gt 0 ]; then echo "$n check(s) failed"; else echo "exit status $rc"; fi
    else
        echo "exited 0 before the test reported its end: did the code under test call exit()?"
    fi
}

# The test's output, made printable (cat -v: no raw bytes or escapes reach
# the terminal), indented; the end is where the news is, except for a
# sanitizer report, shown from its start.
show_log() {
    local lines first
    lines=$(wc -l <"$log")
    first=$(grep -n -m1 '^WARNING: ThreadSanitizer\|^==[0-9]*==ERROR: \|: runtime error: ' "$log" | cut -d: -f1)
    if [ -n "$first" ] && [ "$lines" -gt 80 ]; then
        [ "$first" -gt 1 ] && echo "    ... ($((first - 1)) lines before these)"
        tail -n +"$first" "$log" | head -n 80 | cat -v | sed 's/^/    /'
        [ $((lines - first + 1)) -gt 80 ] && echo "    ... ($((lines - first + 1 - 80)) lines after these)"
    else
        [ "$lines" -gt 60 ] && echo "    ... ($((lines - 60)) lines before these)"
        tail -n 60 "$log" | cat -v | sed 's/^/    /'
    fi
    # output whose last line has no newline: say so, and end the line
    [ -s "$log" ] && [ -n "$(tail -c 1 "$log")" ] && echo "    (no newline at the end of the output)"
    return 0
}

in_tsan_set() {
    local pat
    [ -n "${GRADE_TSAN_BIN:-}" ] || return 1
    set -f
    for pat in ${GRADE_TSAN_TESTS:-}; do
        # shellcheck disable=SC2053
        if [[ $1 == $pat ]]; then set +f; return 0; fi
    done
    set +f
    return 1
}

echo "== $title${GRADE_WHAT:+: grading $GRADE_WHAT}"
if [ -n "${GRADE_RULES:-}" ]; then
    printf "rules broken: %s\n" "$GRADE_RULES" | cat -v
fi
declare -A failed_tests=()
score=0 total=0 nfail=0
while read -r name points parent procs limit; do
    [ -n "$name" ] || continue
    if [ -n "${GRADE_ONLY:-}" ] && ! [[ $name =~ $GRADE_ONLY ]]; then
        continue                    # not asked for: not run, not counted
    fi
    total=$((total + points))
    if [ -n "${GRADE_RULES:-}" ]; then
        echo "FAIL $name ($points): breaks the exercise's rules (above); not run"
        failed_tests[$name]=1
        nfail=$((nfail + 1))
        continue
    fi
    if [ "$parent" != "-" ] && [ -n "${failed_tests[$parent]:-}" ] && [ -z "${GRADE_NO_PARENTS:-}" ]; then
        echo "FAIL $name ($points): parent test $parent failed"
        failed_tests[$name]=1
        nfail=$((nfail + 1))
        continue
    fi
    if [ -n "${GOMAXPROCS:-}" ]; then p=$GOMAXPROCS
    elif [ "$procs" != 0 ]; then p=$procs
    else p=2; fi
    secs=${GRADE_TIMEOUT:-${limit:-10}}
    seed=${GRADE_SEED:-$(( (RANDOM << 15 | RANDOM) ))}
    godebug=$(with_schedseed "$seed")
    # "test NAME ..." stays on screen while the test runs; the verdict
    # replaces it on a terminal and follows it elsewhere.
    if [ -t 1 ]; then printf 'test %s ...' "$name"; else echo "test $name ..."; fi
    san=""
    run_one "$name" "$bin" "$p" "$godebug" "$seed" "$secs"
    reason=$(explain "$secs")
    runbin=$bin
    if [ -z "$reason" ] && in_tsan_set "$name"; then
        # The same test, same seed, built with -fsanitize=thread.
        tsecs=${GRADE_TIMEOUT:-$(awk -v n="$name" '$1 == n { print $5 }' <<<"$tsan_list")}
        tsecs=${tsecs:-30}
        ms1=$ms san=thread
        run_one "$name" "$GRADE_TSAN_BIN" "$p" "$godebug" "$seed" "$tsecs"
        reason=$(explain "$tsecs")
        [ -n "$reason" ] && reason="under ThreadSanitizer: $reason" secs=$tsecs runbin=$GRADE_TSAN_BIN
        ms="$ms1 ms, $ms ms under TSan"
    else
        ms="$ms ms"
    fi
    [ -t 1 ] && printf '\r\033[K'
    if [ -z "$reason" ]; then
        echo "PASS $name ($points)  [$ms]"
        score=$((score + points))
    else
        echo "FAIL $name ($points): $reason"
        failed_tests[$name]=1
        nfail=$((nfail + 1))
        show_log
        echo "    replay: GOMAXPROCS=$p GODEBUG='$godebug' GRADE_SEED=$seed GRADE_TIMEOUT=$secs $runbin $name"
    fi
done <<<"$list"

echo "score: $score/$total"
[ $nfail -eq 0 ] && [ $total -gt 0 ]
