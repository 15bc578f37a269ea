# labs/lib.sh: the helpers every lab's run.sh sources (labs/run.sh sets the
# environment they read). A lab's run.sh is plain bash: build the workload
# against each stage, run it over a parameter sweep, write TSV, draw plots.
#
# Environment (set by labs/run.sh; a lab run by hand gets the same defaults):
#   ROOT        the repository root (absolute)
#   LAB_MODE    smoke | quick | full     (check.labs | make labs | FULL=1)
#   LAB_OUT     where this lab writes its .tsv, .png, .svg and logs
#   LAB_BUILD   build/labs: stage libraries, lab binaries, Go builds
#   LAB_STAGES  the usable stages, e.g. "01-single-queue 02-gmp": present
#               under stages/ and their library builds
#   LAB_MISSING what is not usable, for messages ("02-gmp (build failed)")
#   GO          the go command, or empty when Go is not installed
#
# Conventions every lab keeps:
#   - TSV files: a header line, tab-separated, one row per measurement; the
#     first column is `series`: gort-NN for stage NN, go for the Go twin,
#     anything else for other baselines (ucontext, pthread, ...).
#   - Plots: scripts/labplot draws LAB_OUT/NAME.png and NAME.svg from a
#     gnuplot script that reads only the TSV files.
#   - Progress: one line per run, "[3/12] stage 01, GOMAXPROCS=4, ...".

set -u
: "${ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${LAB_MODE:=quick}"
: "${LAB_BUILD:=$ROOT/build/labs}"
: "${LAB_STAGES:=}"
: "${LAB_MISSING:=}"
: "${GO:=}"
# run by hand (bash labs/NAME/run.sh): results where make labs puts them
: "${LAB_OUT:=$ROOT/labs/$(basename "$(cd "$(dirname "$0")" && pwd)")/results}"
mkdir -p "$LAB_OUT"

NCPU=$(nproc 2>/dev/null || echo 2)

# pick SMOKE QUICK FULL: the value for the current mode.
pick() {
  case $LAB_MODE in
    smoke) echo "$1" ;;
    full)  echo "$3" ;;
    *)     echo "$2" ;;
  esac
}

# stage_num 01-single-queue -> 01
stage_num() { echo "${1%%-*}"; }

# have_stage NN: is stage NN usable?
have_stage() {
  local s
  for s in $LAB_STAGES; do [ "$(stage_num "$s")" = "$1" ] && return 0; done
  return 1
}

# uniq_sorted N...: the numbers, sorted, each once (1 2 2 4 -> 1 2 4).
uniq_sorted() { printf '%s\n' "$@" | sort -n | uniq | tr '\n' ' '; }

# Progress: lab_step TOTAL "what": prints "[i/TOTAL] what" (i counts up).
LAB_STEP=0
lab_step() { LAB_STEP=$((LAB_STEP + 1)); echo "  [$LAB_STEP/$1] $2"; }
lab_note() { echo "  note: $*"; }
# A failure is flagged in a file too: lab_run often runs in a subshell,
# $(...) or a pipeline, where setting LAB_FAILED would be lost.
lab_fail() { echo "  FAILED: $*" >&2; LAB_FAILED=1; [ -n "${LAB_OUT:-}" ] && : >"$LAB_OUT/.failed"; }
LAB_FAILED=0
# lab_done: a lab's last command; its exit status is 1 if anything failed.
lab_done() { [ "$LAB_FAILED" = 0 ] && [ ! -e "$LAB_OUT/.failed" ]; }

# lab_build LAB PROG STAGE: compiles labs/LAB/PROG.c against STAGE's
# library (built by labs/run.sh into LAB_BUILD/lib/STAGE) and prints the
# binary's path. The program learns what its stage offers through macros:
#   LAB_STAGE=NN               the stage number (1, 2, ...)
#   LAB_HAVE_SYSCALL=1         runtime_entersyscall/exitsyscall exist (stage 2+)
lab_build() {
  local lab=$1 prog=$2 stage=$3
  local lib=$LAB_BUILD/lib/$stage/libgort.a inc=$ROOT/stages/$stage/include
  local out=$LAB_BUILD/bin/$stage/$lab/$prog src=$ROOT/labs/$lab/$prog.c
  local n; n=$(stage_num "$stage")
  local flags=(-DLAB_STAGE=$((10#$n)))
  if nm "$lib" 2>/dev/null | grep -q ' T runtime_entersyscall$'; then
    flags+=(-DLAB_HAVE_SYSCALL=1)
  fi
  mkdir -p "$(dirname "$out")"
  if [ ! -x "$out" ] || [ "$src" -nt "$out" ] || [ "$lib" -nt "$out" ]; then
    # compiled from the lab's directory, so that go() records "leaks.c:42"
    (cd "$ROOT/labs/$lab" && ${CC:-cc} -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter \
      -pthread -I"$inc" "${flags[@]}" "$prog.c" -o "$out" "$lib" -lpthread -lm) >&2 || return 1
  fi
  echo "$out"
}

# lab_cc LAB PROG: a plain C program (no runtime): the baselines.
lab_cc() {
  local lab=$1 prog=$2
  local out=$LAB_BUILD/bin/plain/$lab/$prog src=$ROOT/labs/$lab/$prog.c
  mkdir -p "$(dirname "$out")"
  if [ ! -x "$out" ] || [ "$src" -nt "$out" ]; then
    (cd "$ROOT/labs/$lab" && ${CC:-cc} -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter \
      -pthread "$prog.c" -o "$out" -lpthread -lm) >&2 || return 1
  fi
  echo "$out"
}

# lab_go_build LAB: builds labs/LAB/go (standard library only, offline) and
# prints the binary's path; prints nothing (and a note) without Go.
lab_go_build() {
  local lab=$1 dir=$ROOT/labs/$1/go out=$LAB_BUILD/go/$1/$1
  if [ -z "$GO" ]; then
    echo "  note: Go is not installed: the Go series of $lab is skipped" >&2
    return 0
  fi
  mkdir -p "$(dirname "$out")"
  if (cd "$dir" && GOCACHE=$LAB_BUILD/go/cache GOPATH=$LAB_BUILD/go/gopath \
        GOFLAGS=-mod=mod GOPROXY=off GOENV=off GOTOOLCHAIN=local \
        "$GO" build -trimpath -o "$out" .) >&2; then
    echo "$out"
  else
    echo "  note: could not build labs/$lab/go: the Go series is skipped" >&2
  fi
}

# lab_run SECONDS CMD...: runs one measurement with a time limit; its
# stdout is the data, its stderr goes to LAB_OUT/log.txt. A run that fails
# or times out is reported and returns 1 (the lab goes on with the others).
lab_run() {
  local limit=$1; shift
  local rc
  timeout -k 5 "$limit" "$@" 2>>"$LAB_OUT/log.txt" </dev/null
  rc=$?
  if [ $rc -ne 0 ]; then
    if [ $rc = 124 ]; then lab_fail "$* timed out after ${limit}s"
    else lab_fail "$* exited with status $rc (stderr in $LAB_OUT/log.txt)"; fi
    tail -5 "$LAB_OUT/log.txt" | sed 's/^/      /' >&2
    return 1
  fi
}

# lab_plot SCRIPT.gp NAME [--size W,H] [var=value...]: draws LAB_OUT/NAME.png
# and .svg (scripts/labplot); the script finds the data in `dir`.
lab_plot() {
  local script=$1 name=$2; shift 2
  if ! command -v gnuplot >/dev/null; then
    if [ "$LAB_MODE" = smoke ]; then lab_note "gnuplot is not installed: plot $name not drawn"; return 0; fi
    lab_fail "gnuplot is not installed (Debian: gnuplot-nox; make labs installs it)"; return 1
  fi
  if ! "$ROOT/scripts/labplot" "$script" "$LAB_OUT/$name" "$@" dir="$LAB_OUT" \
       ncpu="$NCPU" >>"$LAB_OUT/log.txt" 2>&1; then
    lab_fail "plot $name (gnuplot's messages in $LAB_OUT/log.txt)"
    tail -5 "$LAB_OUT/log.txt" | sed 's/^/      /' >&2
    return 1
  fi
  echo "  plot: ${LAB_OUT#"$ROOT"/}/$name.png (.svg)"
}
