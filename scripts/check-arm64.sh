#!/bin/sh
# scripts/check-arm64.sh [STAGE_DIR]: cross-builds a stage for arm64 and runs
# its unit tests under qemu-user, at GOMAXPROCS=1 and 2. The tests link
# tests/minicriterion.h (no arm64 Criterion is needed). Needs Debian's
# gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user (as root,
# apt-get install them). Not part of `make test`: emulation is slow, and
# the tests that count the process's threads before and after runtime_main
# (test_env's schedtrace tests, test_go's joins_every_thread_it_started)
# can fail under qemu, whose own threads come and go: emulation, not the
# runtime (the count is checked natively by make test).
set -u
stage=${1:-stages/01-single-queue}
cc=aarch64-linux-gnu-gcc
for tool in $cc aarch64-linux-gnu-ar qemu-aarch64; do
    command -v $tool >/dev/null 2>&1 || {
        echo "check-arm64: $tool not found; install: apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user" >&2
        exit 2
    }
done
out=$stage/build-arm64
mkdir -p "$out/obj" "$out/tests"
cflags="-std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter -fno-omit-frame-pointer -pthread -I$stage/include"
for f in "$stage"/src/*.c "$stage"/src/*.S; do
    $cc $cflags -c "$f" -o "$out/obj/$(basename "$f").o" || exit 1
done
rm -f "$out/libgort.a" && aarch64-linux-gnu-ar rcs "$out/libgort.a" "$out"/obj/*.o || exit 1
passed=0 failed=0
for t in "$stage"/tests/test_*.c; do
    n=$(basename "$t" .c)
    $cc $cflags -DGORT_MINICRITERION "$t" "$out/libgort.a" -lpthread -lm -o "$out/tests/$n" || { failed=$((failed + 1)); continue; }
    for p in 1 2; do
        if GOMAXPROCS=$p timeout 600 qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/tests/$n" -j1 >"$out/tests/$n.$p.log" 2>&1; then
            passed=$((passed + 1)); echo "PASS: $n (arm64, GOMAXPROCS=$p)"
        else
            failed=$((failed + 1)); echo "FAIL: $n (arm64, GOMAXPROCS=$p)"; grep -E '^\[(FAIL|----)\]' "$out/tests/$n.$p.log" | head -5
        fi
    done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
