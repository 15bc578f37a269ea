#!/bin/sh
# examples/check.sh BUILD [valgrind]
#
# Runs every example program BUILD/examples/NAME and checks it against its
# expectations, which live beside its source:
#
#   examples/NAME.out     exact expected stdout (required: an example with no
#                         expectation fails, it does not pass silently)
#   examples/NAME.status  expected exit status (default 0)
#   examples/NAME.err     exact expected stderr (only compared if it exists)
#
# Plain mode runs each example at GOMAXPROCS=1 and GOMAXPROCS=2, each under a
# 60 s timeout. With "valgrind", each example runs once at GOMAXPROCS=2 under
# valgrind --leak-check=full; a definite or indirect leak, or any memory
# error, makes valgrind exit 99 and the example FAIL. (Stderr is not compared
# there: it holds valgrind's own report.)
#
# Prints "PASS: example NAME (GOMAXPROCS=P)" or "FAIL: ..." with a diff for
# each run, and ends with exactly "N passed, N failed". Exits 0 only if none
# failed.

BUILD=${1:?usage: sh examples/check.sh BUILD [valgrind]}
MODE=${2:-plain}
EXDIR=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gort-examples.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT INT TERM

case $MODE in
plain)    PROCS="1 2" ;;
valgrind) PROCS="2"
          if ! command -v valgrind >/dev/null 2>&1; then
              echo "FAIL: valgrind is not installed"
              echo "0 passed, 1 failed"
              exit 1
          fi ;;
*)        echo "usage: sh examples/check.sh BUILD [valgrind]" >&2; exit 2 ;;
esac

passed=0
failed=0

# check NAME P: one run of one example, PASS or FAIL.
check() {
    name=$1 p=$2
    bin=$BUILD/examples/$name
    label="example $name (GOMAXPROCS=$p)"
    [ "$MODE" = valgrind ] && label="example $name (valgrind, GOMAXPROCS=$p)"

    if [ ! -f "$EXDIR/$name.out" ]; then
        echo "FAIL: $label: no expected output $EXDIR/$name.out"
        failed=$((failed + 1))
        return
    fi
    want_status=0
    [ -f "$EXDIR/$name.status" ] && want_status=$(cat "$EXDIR/$name.status")

    if [ "$MODE" = valgrind ]; then
        GOMAXPROCS=$p timeout 300 valgrind -q --leak-check=full \
            --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
            "$bin" >"$TMP/stdout" 2>"$TMP/stderr" </dev/null
    else
        GOMAXPROCS=$p timeout 60 "$bin" >"$TMP/stdout" 2>"$TMP/stderr" </dev/null
    fi
    status=$?

    why=""
    if [ "$status" = 124 ]; then
        why="timed out"
    elif [ "$MODE" = valgrind ] && [ "$status" = 99 ] && [ "$want_status" != 99 ]; then
        why="valgrind found leaks or memory errors"
    elif [ "$status" != "$want_status" ]; then
        why="exit status $status, expected $want_status"
    elif ! cmp -s "$EXDIR/$name.out" "$TMP/stdout"; then
        why="stdout differs"
    elif [ "$MODE" = plain ] && [ -f "$EXDIR/$name.err" ] &&
         ! cmp -s "$EXDIR/$name.err" "$TMP/stderr"; then
        why="stderr differs"
    fi

    if [ -z "$why" ]; then
        echo "PASS: $label"
        passed=$((passed + 1))
        return
    fi
    echo "FAIL: $label: $why"
    failed=$((failed + 1))
    if [ "$why" = "stderr differs" ]; then
        diff -u "$EXDIR/$name.err" "$TMP/stderr" | sed 's/^/    /' | head -40
    elif [ "$why" = "valgrind found leaks or memory errors" ]; then
        grep -v '^==[0-9]*== *$' "$TMP/stderr" | sed 's/^/    /' | head -60
    else
        diff -u "$EXDIR/$name.out" "$TMP/stdout" | sed 's/^/    /' | head -40
        if [ -s "$TMP/stderr" ]; then
            echo "    --- stderr:"
            sed 's/^/    /' "$TMP/stderr" | head -40
        fi
    fi
}

found=0
for bin in "$BUILD"/examples/*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    found=1
    name=$(basename "$bin")
    for p in $PROCS; do
        check "$name" "$p"
    done
done

# Every example source must have been built: a missing binary is a failure,
# not a skip.
for src in "$EXDIR"/*.c; do
    [ -f "$src" ] || continue
    name=$(basename "$src" .c)
    if [ ! -x "$BUILD/examples/$name" ]; then
        echo "FAIL: example $name: not built ($BUILD/examples/$name missing)"
        failed=$((failed + 1))
    fi
done
[ "$found" = 1 ] || echo "note: no example programs found under $BUILD/examples" >&2

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
