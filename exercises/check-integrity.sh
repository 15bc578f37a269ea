#!/usr/bin/env bash
# exercises/check-integrity.sh: the tests of the tests.
#
# A graded test that passes on the starter grades nothing; one that fails on
# the solution grades wrongly; a planted bug that no test catches shows a
# hole in the tests. This check (run by the top-level `make test` as "check:
# exercise integrity", and by `make test` in exercises/) verifies all three:
#
#   1. Every exercise NN-stage/NAME/ builds from its starter files, and EVERY
#      graded test fails on it, each on its own (GRADE_NO_PARENTS=1: a test
#      that fails only because its parent failed does not count).
#   2. With its solution (solutions/NN-stage/NAME/) in place it builds and
#      passes every test, and the solution has its NOTES.md.
#   2b. Every broken answer, solutions/broken/NN-stage/NAME/WHAT.patch (a
#      patch to the solution, the way students get it wrong and once got
#      full marks: a relaxed Once, a plain reader count, a lock in the
#      victim order), graded like a student's files (`make test`, so with
#      the TSan runs and the rules check), fails each test on its
#      "expect:" line.
#   3. Every planted bug, solutions/bugs/NN-stage/BUG.patch, applied to a
#      scratch copy of the stage (never to stages/), makes every test named
#      (a stage test: at GOMAXPROCS=1, 2 or 4; caught when any run fails)
#      on its "catch:" lines fail:
#         catch: stage test_chan close/wakes_every_blocked_receiver
#                (a stage unit test: binary tests/test_chan.c, Criterion filter)
#         catch: exercise once-rwmutex rw_writer_waits_for_readers
#                (a graded test, run on the exercise's SOLUTION over the bug)
#
# Prints one line per item ("ok ..." or "FAIL ..."), the details of each
# failure, and closes with "N passed, N failed"; exit status 0 only when
# nothing failed. The stage's objects are compiled once (build/stages/) and
# reused by every exercise and, copied, by every planted bug, which
# recompiles only the file its patch touches.
#
#   exercises/check-integrity.sh [FILTER]    only items whose name contains FILTER
set -u
cd "$(dirname "$0")" || exit 2
filter=${1:-}
MAKE=${MAKE:-make}
work=build/integrity
mkdir -p "$work"
scratch_root=$(mktemp -d "${TMPDIR:-/tmp}/gort-integrity.XXXXXX") || exit 2
trap 'rm -rf "$scratch_root"' EXIT INT TERM

passed=0 failed=0
ok()   { echo "ok   $*"; passed=$((passed + 1)); }
bad()  { echo "FAIL $*"; failed=$((failed + 1)); }
indent() { sed 's/^/       /'; }
want() { [ -z "$filter" ] || [[ $1 == *"$filter"* ]]; }

start=$(date +%s)

# ---- 1 and 2: starters and solutions ----------------------------------------
for mk in [0-9][0-9]-*/*/Makefile; do
    [ -f "$mk" ] || continue
    exdir=$(dirname "$mk")               # 01-single-queue/once-rwmutex
    stage=${exdir%%/*}
    want "$exdir" || continue
    if [ ! -d "../stages/$stage" ]; then
        bad "$exdir: no stage ../stages/$stage for it"
        continue
    fi
    log=$work/${exdir//\//_}

    # The starter: builds, and every graded test fails on its own.
    if ! $MAKE -C "$exdir" OUT=../../$work/$exdir/starter all >"$log.build" 2>&1; then
        bad "$exdir starter: does not build"; indent <"$log.build"
    else
        GRADE_NO_PARENTS=1 bash lib/grade.sh "$work/$exdir/starter/grade-tests" \
            "$exdir (starter)" >"$log.starter" 2>&1
        ntests=$(grep -cE '^(PASS|FAIL) ' "$log.starter")
        passing=$(grep -E '^PASS ' "$log.starter" | awk '{print $2}' | tr '\n' ' ')
        if [ "$ntests" -eq 0 ]; then
            bad "$exdir starter: no graded test ran"; indent <"$log.starter"
        elif [ -n "$passing" ]; then
            bad "$exdir starter: these tests PASS on the starter, so they grade nothing: $passing"
        else
            ok "$exdir starter: builds, and all $ntests graded tests fail on it"
        fi
    fi

    # The solution: builds and passes everything (make test: with the
    # exercise's TSan runs and its rules check, as a student is graded).
    sol=../solutions/$exdir
    if [ ! -d "$sol" ]; then
        bad "$exdir solution: no directory solutions/$exdir"
        continue
    fi
    [ -f "$sol/NOTES.md" ] || bad "$exdir solution: no NOTES.md (the idea and the usual mistakes)"
    if ! $MAKE -C "$exdir" SOLUTION=1 OUT=../../$work/$exdir/solution all >"$log.build" 2>&1; then
        bad "$exdir solution: does not build"; indent <"$log.build"
    elif $MAKE -C "$exdir" SOLUTION=1 OUT=../../$work/$exdir/solution test >"$log.solution" 2>&1; then
        ok "$exdir solution: $(grep '^score:' "$log.solution" | tail -n 1)"
    else
        bad "$exdir solution: does not pass every graded test"
        grep -vE '^(PASS|test) ' "$log.solution" | indent
    fi

    # Broken answers: each must lose the points its expect: lines name.
    for bp in "../solutions/broken/$exdir"/*.patch; do
        [ -f "$bp" ] || continue
        what=$(basename "$bp" .patch)
        expects=$(sed -n 's/^expect: //p' "$bp")
        if [ -z "$expects" ]; then
            bad "$exdir broken/$what: names no test (expect: lines)"; continue
        fi
        bd=$scratch_root/broken-${exdir//\//_}-$what
        mkdir -p "$bd" && cp -p "$sol"/* "$bd/"
        if ! patch -p1 -d "$bd" --quiet --no-backup-if-mismatch <"$bp" >"$log.patch" 2>&1; then
            bad "$exdir broken/$what: the patch no longer applies to the solution"; indent <"$log.patch"
            continue
        fi
        $MAKE -C "$exdir" IMPL_DIR="$bd" OUT="../../$work/$exdir/broken-$what" test >"$log.broken" 2>&1
        missed=""
        for t in $expects; do
            grep -q "^FAIL $t " "$log.broken" || missed+=" $t"
        done
        if ! grep -q '^score: ' "$log.broken"; then
            bad "$exdir broken/$what: does not build"; indent <"$log.broken"
        elif [ -n "$missed" ]; then
            bad "$exdir broken/$what: NOT caught by$missed ($(grep '^score:' "$log.broken"))"
            grep -vE '^(PASS|test) ' "$log.broken" | indent
        else
            ok "broken $exdir/$what: loses points ($(grep '^score:' "$log.broken" | cut -d' ' -f2)), caught by $(echo $expects)"
        fi
    done
done

# ---- 3: planted bugs ------------------------------------------------------------
for patchfile in ../solutions/bugs/[0-9][0-9]-*/*.patch; do
    [ -f "$patchfile" ] || continue
    stage=$(basename "$(dirname "$patchfile")")
    bug=$(basename "$patchfile" .patch)
    want "$stage/$bug" || continue
    catches=$(grep -E '^catch: ' "$patchfile" | cut -c8-)
    if [ -z "$catches" ]; then
        bad "bug $stage/$bug: names no test that must catch it (catch: lines)"
        continue
    fi
    # A scratch copy of the stage with the objects already built; sources
    # keep their times (cp -p), so only the patched file is recompiled.
    base=build/stages/$stage
    if ! $MAKE -f lib/stage.mk STAGE_SRC=../stages/$stage STAGE_OBJ=$base stage-objs \
            >"$work/stage.log" 2>&1; then
        bad "bug $stage/$bug: stage $stage does not build"; indent <"$work/stage.log"
        continue
    fi
    sc=$scratch_root/$bug
    mkdir -p "$sc"
    cp -rp "../stages/$stage/src" "../stages/$stage/include" "../stages/$stage/tests" "$sc/"
    cp -rp "$base" "$sc/obj"
    rm -rf "$sc/obj/tests"
    if ! patch -p1 -d "$sc" --quiet --no-backup-if-mismatch <"$patchfile" >"$work/patch.log" 2>&1; then
        bad "bug $stage/$bug: the patch no longer applies to stages/$stage"; indent <"$work/patch.log"
        continue
    fi
    missed="" caught=""
    while read -r kind what name; do
        case $kind in
        stage)
            bin=$sc/obj/tests/$what
            if ! $MAKE -f lib/stage.mk STAGE_SRC="$sc" STAGE_OBJ="$sc/obj" "$bin" \
                    >"$work/bug.log" 2>&1; then
                bad "bug $stage/$bug: does not build (a planted bug must compile)"
                indent <"$work/bug.log"; missed=x; break
            fi
            # A race-shaped bug shows at some thread counts more than at
            # others: caught when the test fails at any of them.
            rc=0
            for procs in 1 2 4; do
                (cd "$sc" && GOMAXPROCS=$procs timeout -k 5 120 "$bin" -j1 --filter "$name") \
                    >"$work/bug.log" 2>&1 || { rc=1; break; }
            done ;;
        exercise)
            exd=$stage/$what
            out=$sc/ex-$what
            if ! $MAKE -C "$exd" SOLUTION=1 STAGE_SRC="$sc" STAGE_OBJ="$sc/obj" OUT="$out" TSAN_TESTS= all \
                    >"$work/bug.log" 2>&1; then
                bad "bug $stage/$bug: exercise $what does not build over it"
                indent <"$work/bug.log"; missed=x; break
            fi
            GRADE_ONLY="^$name\$" bash lib/grade.sh "$out/grade-tests" "$exd over $bug" \
                >"$work/bug.log" 2>&1
            rc=$?
            grep -qE "^(PASS|FAIL) $name " "$work/bug.log" || rc=0 ;;   # no such test: not caught
        *)
            bad "bug $stage/$bug: bad catch line \"$kind $what $name\""; missed=x; continue ;;
        esac
        if [ $rc -ne 0 ]; then caught+=" $kind:$what:$name"; else missed+=" $kind:$what:$name"; fi
    done <<<"$catches"
    if [ -z "$missed" ]; then
        ok "bug $stage/$bug: caught by$caught"
    elif [ "$missed" != x ]; then
        bad "bug $stage/$bug: NOT caught by$missed (these tests pass with the bug in place)"
    fi
done

# Planted bugs and broken answers that no test catches on every run yet:
# listed on every run, not counted.
for f in ../solutions/bugs/[0-9][0-9]-*/*.patch.uncaught; do
    [ -f "$f" ] || continue
    echo "note bug $(basename "$(dirname "$f")")/$(basename "$f" .patch.uncaught): no test catches it yet (see its header)"
done
for f in ../solutions/broken/[0-9][0-9]-*/*/*.patch.uncaught; do
    [ -f "$f" ] || continue
    d=${f#../solutions/broken/}
    echo "note broken ${d%.patch.uncaught}: not caught on every run (see its header)"
done

echo "exercise integrity: $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
