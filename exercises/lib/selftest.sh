#!/usr/bin/env bash
# exercises/lib/selftest.sh: the tests of the grader itself (grade.sh,
# grade.h, exercise.mk, the exercises' Makefile and the handout).
#
# A fake exercise, lib/selftest/fake/ (stage 01, three tests, one of them
# racy by design and in TSAN_TESTS, malloc and pthread mutexes FORBIDden),
# graded with answers that try to break the grader, lib/selftest/cases/:
#
#   fake/impl.c  right, prints "r-" with no newline, ESC[2J and ^A: 3/3
#   forge        wrong; prints the old "(name) end" sentinels, writes fake
#                reports on every descriptor 3-63, exits 0: 0/3, and its
#                escape bytes reach the output only as ^[ (cat -v)
#   exit0        exit(0) in the middle of a test: that test fails
#   crash        SIGSEGV: "crashed ... SIGSEGV", no bash job-control line
#   rules        pthread_mutex_lock: every test fails with the rule, 0/3
#   racy         a plain ++ from four goroutines on two threads: fails under
#                TSan every run (run 3 times)
#   spin         an endless loop: the test fails within its limit + 3 s and
#                says where to look; Ctrl-C (SIGINT to the process group of
#                a `make test` started with setsid) stops everything within
#                2 s, status 130, no process of the run left
#
# and the handout (`make handout`): no solution leaks into it, and an
# exercise there builds and grades as a starter (fails, with a score).
# Prints "ok ..."/"FAIL ..." per case and "N passed, N failed".
set -u
cd "$(dirname "$0")" || exit 2
lib=$(pwd)
fake=$lib/selftest/fake
MAKE=${MAKE:-make}
out=$(mktemp -d "${TMPDIR:-/tmp}/gort-selftest.XXXXXX") || exit 2
trap 'rm -rf "$out"' EXIT
passed=0 failed=0
ok()  { echo "ok   $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }
show() { sed 's/^/       /' "$1" | cat -v | head -n 60; }
start=$(date +%s)

# grade CASE [make args...]: grades the fake exercise with answer CASE
# ("." for fake/ itself) into $out/CASE.log; sets rc.
grade() {
    local c=$1; shift
    local dir=$c; [ "$c" = . ] || dir=../cases/$c
    $MAKE -C "$fake" test IMPL_DIR="$dir" OUT="build/${c/./good}" "$@" >"$out/${c/./good}.log" 2>&1
    rc=$?
}
has()   { grep -q -- "$2" "$out/$1.log"; }
score() { grep '^score:' "$out/$1.log" | tail -n 1 | cut -d' ' -f2; }

# The TSan build of the fake (stage 01's objects under TSan: a minute, once).
if ! $MAKE -C "$fake" OUT=build/good-thread SAN=thread IMPL_DIR=. all >"$out/tsan-build.log" 2>&1; then
    bad "the fake exercise does not build under TSan"; show "$out/tsan-build.log"
fi

# ---- a right answer with debugging noise --------------------------------
grade .
if [ $rc -eq 0 ] && [ "$(score good)" = 3/3 ] && has good '^PASS count_from_two_threads (1)  \[.* under TSan\]'; then
    ok "right answer printing \"r-\" (no newline) and escapes: 3/3, racy test also run under TSan"
else
    bad "right answer with debugging output: want 3/3, exit 0"; show "$out/good.log"
fi
if "$fake/build/good/grade-tests" --list 2>/dev/null | awk '$5 != 10 { bad = 1 } END { exit bad }' &&
   [ "$(GRADE_TIMEOUT=7 "$fake/build/good/grade-tests" --list | awk '{ print $5 }' | sort -u)" = 7 ] &&
   [ "$("$fake/build/good-thread/grade-tests" --list | awk '{ print $5 }' | sort -u)" = 60 ]; then
    ok "time limits: --list gives 10 s plain, 60 s under TSan, GRADE_TIMEOUT overrides"
else
    bad "time limits in --list: want 10 (plain), 60 (TSan), GRADE_TIMEOUT wins"
    "$fake/build/good/grade-tests" --list | sed 's/^/       /'
fi

# ---- forged sentinels and reports ----------------------------------------
grade forge
if [ $rc -ne 0 ] && [ "$(score forge)" = 0/3 ]; then
    ok "forged \"(name) end\" lines and channel reports, then exit(0): 0/3"
else
    bad "forged sentinels: want 0/3, got $(score forge)"; show "$out/forge.log"
fi
if ! grep -q $'\033' "$out/forge.log" && ! grep -q $'\001' "$out/forge.log" && has forge '\^\[\[2J'; then
    ok "the test's output reaches the terminal through cat -v (ESC shown as ^[)"
else
    bad "raw escape bytes in the grader's output"
fi

grade exit0
if has exit0 '^FAIL add_more (1): exited 0 before the test reported its end' && [ "$(score exit0)" = 2/3 ]; then
    ok "exit(0) in the middle of a test: that test fails (2/3)"
else
    bad "exit(0) mid-test: want add_more to fail, 2/3"; show "$out/exit0.log"
fi

# ---- explained failures ---------------------------------------------------
grade crash
if has crash '^FAIL add_small (1): crashed: killed by signal 11 (SIGSEGV' && has crash 'SAN=address' &&
   ! has crash 'Segmentation fault'; then
    ok "a crash is explained (SIGSEGV, try SAN=address), without bash's \"Segmentation fault\" line"
else
    bad "crash: want an explained SIGSEGV and no bash job-control line"; show "$out/crash.log"
fi

grade rules
if [ "$(score rules)" = 0/3 ] && has rules '^rules broken: impl.o uses pthread_mutex_lock' &&
   has rules "^FAIL add_small (1): breaks the exercise's rules"; then
    ok "rules (FORBID, nm -u): pthread_mutex_lock in the answer fails every test, 0/3"
else
    bad "rules: want 0/3 with the forbidden symbol named"; show "$out/rules.log"
fi

races=0
for i in 1 2 3; do
    grade racy
    # Lost updates fail it plain now and then; otherwise TSan must.
    if has racy '^FAIL count_from_two_threads (1): ' && [ "$(score racy)" = 2/3 ] &&
       { has racy '^FAIL count_from_two_threads (1): 1 check(s) failed' ||
         { has racy '^FAIL count_from_two_threads (1): under ThreadSanitizer: ThreadSanitizer found a data race' &&
           has racy 'WARNING: ThreadSanitizer'; }; }; then races=$((races + 1)); fi
done
if [ $races -eq 3 ]; then
    ok "a racy answer fails its racy test (plain, or else under TSan with the report), 3 runs of 3"
else
    bad "racy answer: caught $races runs of 3"; show "$out/racy.log"
fi

# ---- hangs: the cost of one, and Ctrl-C ----------------------------------
t0=$(date +%s%N)
grade spin GRADE_ONLY='^add_small$'
secs=$(( ($(date +%s%N) - t0) / 1000000000 ))
if has spin '^FAIL add_small (1): still running after 9 s' && has spin 'goroutine 1 \[running\]' &&
   has spin 'gdb' && [ $secs -le 13 ]; then
    ok "a hang fails in $secs s (limit 10 s), with the goroutine dump and where to look"
else
    bad "hang: want \"still running after 9 s\" within 13 s, took $secs s"; show "$out/spin.log"
fi

# Ctrl-C as a terminal sends it: SIGINT to the foreground process group,
# here a new session's (setsid), running `make test` on the spinning answer.
ctrl_c() {   # ctrl_c NAME CMD...: starts CMD in a new session, ^C after 1 s
    local name=$1; shift
    # A script's background job starts with SIGINT ignored, and bash cannot
    # trap a signal ignored at entry; a terminal's foreground job has it at
    # its default: env --default-signal gives the run that.
    setsid env --default-signal=INT "$@" >"$out/$name.log" 2>&1 </dev/null &
    local pid=$! sid
    sleep 1.5
    sid=$(ps -o sid= -p $pid | tr -d ' ')
    if [ -z "$sid" ]; then
        bad "Ctrl-C ($name): the run ended before the signal"; show "$out/$name.log"; return
    fi
    local t0 waited=0
    t0=$(date +%s%N)
    kill -INT -- "-$sid"
    while kill -0 $pid 2>/dev/null && [ $waited -lt 50 ]; do sleep 0.1; waited=$((waited + 1)); done
    local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    wait $pid 2>/dev/null
    local st=$?
    sleep 0.3
    local left
    left=$(ps -eo sid=,pid=,args= | awk -v s="$sid" '$1 == s')
    if [ $waited -lt 20 ] && [ -z "$left" ] && { [ $st -eq 130 ] || [ "$name" != grade.sh ]; }; then
        ok "Ctrl-C during a spinning test ($name): stopped in $ms ms, status $st, no process left"
    else
        bad "Ctrl-C ($name): took $ms ms, status $st; left: ${left:-nothing}"; show "$out/$name.log"
        [ -n "$left" ] && kill -KILL -- "-$sid" 2>/dev/null
    fi
}
ctrl_c grade.sh bash "$lib/grade.sh" "$fake/build/spin/grade-tests" spin
ctrl_c "make test" $MAKE -C "$fake" test IMPL_DIR=../cases/spin OUT=build/spin

# ---- the grand total ------------------------------------------------------
if $MAKE -C "$lib/.." grade EXERCISES=lib/selftest/fake >"$out/total.log" 2>&1 &&
   grep -qE '^total +3/3 +1 exercises passed, 0 failed' "$out/total.log"; then
    ok "make grade ends with the total: 3/3, 1 exercises passed, 0 failed"
else
    bad "make grade: want a total line"; show "$out/total.log"
fi

# ---- the handout ------------------------------------------------------------
h=$out/handout
if ! $MAKE -C "$lib/../.." handout DEST="$h" >"$out/handout.log" 2>&1; then
    bad "make handout fails"; show "$out/handout.log"
else
    leaks=""
    [ -e "$h/solutions" ] && leaks+=" solutions/"
    [ -e "$h/exercises/check-integrity.sh" ] && leaks+=" check-integrity.sh"
    [ -e "$h/exercises/lib/selftest.sh" ] && leaks+=" selftest.sh"
    grep -q '^## For instructors' "$h/exercises/README.md" && leaks+=" instructors' README"
    # Every solution file's distinctive lines (not in its starter): none may
    # appear anywhere in the handout.
    # Every solution file's lines that appear nowhere else in the
    # repository (a few per file): none may appear in the handout.
    top=$(cd "$lib/../.." && pwd)
    for f in "$top"/solutions/[0-9]*/*/*.[ch]; do
        ex=${f#"$top"/solutions/}
        n=0
        while IFS= read -r l && [ $n -lt 4 ]; do
            grep -rqF --exclude-dir=solutions --exclude-dir=build --exclude-dir=.git -- "$l" "$top" && continue
            n=$((n + 1))
            grep -rqF -- "$l" "$h" && leaks+=" $ex:\"$l\""
        done < <(grep -E '^.{30,}$' "$f" | grep -v '^ *[/*]')
        [ $n -gt 0 ] || leaks+=" (no line of $ex to look for)"
    done
    if [ -z "$leaks" ]; then
        ok "handout: no solutions/, no integrity check, no solution line in any file"
    else
        bad "handout leaks:$leaks"
    fi
    $MAKE -C "$h/exercises/01-single-queue/semaphore" test >"$out/handout-grade.log" 2>&1
    hrc=$?
    if [ $hrc -ne 0 ] && grep -q '^score: 0/15' "$out/handout-grade.log" &&
       ! grep -q '^PASS ' "$out/handout-grade.log"; then
        ok "handout: an exercise builds and grades as a starter (score: 0/15)"
    else
        bad "handout: semaphore should build and fail every test (status $hrc)"; show "$out/handout-grade.log"
    fi
fi

echo "grader selftest: $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
