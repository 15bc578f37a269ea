#!/usr/bin/env bash
# Installs the Debian 12 packages a job needs, and does nothing (quietly) when
# they are all there.
#
#   scripts/deps.sh [test|bench|labs|book|all]...     (default: test)
#
#   test   gcc make libcriterion-dev valgrind python3, and for the checks that
#          make test runs on the labs and the book: gnuplot-nox, pandoc,
#          chromium and graphviz (Go is optional: the labs skip its series)
#   bench  test's, and golang-go if it can be had (the Go columns are skipped
#          without it, so failing to install it only warns)
#   labs   test's, gnuplot-nox (with its pngcairo terminal) and golang-go
#   book   test's, pandoc, chromium and graphviz
#   all    every one of these
#
# As root it runs `apt-get update` once and `apt-get install` for what is
# missing. Otherwise it prints the sudo line to run and exits 2.
# GORT_NO_DEPS=1 skips every check (for machines that are not Debian).
set -u
[ -n "${GORT_NO_DEPS:-}" ] && exit 0
cd "$(dirname "$0")/.." || exit 2

jobs=("$@"); [ ${#jobs[@]} -gt 0 ] || jobs=(test)

have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pkg() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}
have_criterion() {
  have_pkg libcriterion-dev && return 0
  # Not installed from Debian's package? A criterion on the compiler's path will do.
  printf '#include <criterion/criterion.h>\n' | ${CC:-cc} -E -x c - >/dev/null 2>&1
}
have_pngcairo() {
  have_cmd gnuplot && gnuplot -e 'set terminal pngcairo' </dev/null >/dev/null 2>&1
}

required=() optional=()
add() { # add required|optional package test...
  local kind=$1 pkg=$2; shift 2
  "$@" && return 0
  local p
  for p in "${required[@]+"${required[@]}"}" "${optional[@]+"${optional[@]}"}"; do
    [ "$p" = "$pkg" ] && return 0
  done
  if [ "$kind" = required ]; then required+=("$pkg"); else optional+=("$pkg"); fi
}

want_test=0 want_bench=0 want_labs=0 want_book=0
for j in "${jobs[@]}"; do
  case $j in
    test)  want_test=1 ;;
    bench) want_test=1 want_bench=1 ;;
    labs)  want_test=1 want_labs=1 ;;
    book)  want_test=1 want_book=1 ;;
    all)   want_test=1 want_bench=1 want_labs=1 want_book=1 ;;
    *) echo "usage: scripts/deps.sh [test|bench|labs|book|all]..." >&2; exit 2 ;;
  esac
done

if [ $want_test = 1 ]; then
  add required gcc              have_cmd gcc
  add required make             have_cmd make
  add required libcriterion-dev have_criterion
  add required valgrind         have_cmd valgrind
  add required python3          have_cmd python3
  # make test's check.labs draws the smoke run's plots; check.book renders
  # every page in Chromium.
  [ -f labs/check.sh ] && want_labs_check=1 || want_labs_check=0
  [ -f book/Makefile ] && want_book=1
  [ "$want_labs_check" = 1 ] && add required gnuplot-nox have_pngcairo
fi
if [ $want_labs = 1 ]; then
  add required gnuplot-nox      have_pngcairo
  add required golang-go        have_cmd go
fi
if [ $want_bench = 1 ]; then
  add optional golang-go        have_cmd go
fi
if [ $want_book = 1 ]; then
  add required pandoc           have_cmd pandoc
  add required chromium         have_cmd chromium
  add required graphviz         have_cmd dot
fi

[ ${#required[@]} -eq 0 ] && [ ${#optional[@]} -eq 0 ] && exit 0

apt_line="apt-get install -y --no-install-recommends"
all_missing="${required[*]-}${required[*]:+${optional[*]:+ }}${optional[*]-}"
if [ "$(id -u)" -ne 0 ]; then
  if [ ${#required[@]} -gt 0 ]; then
    echo "gort needs Debian packages that are not installed: ${required[*]}" >&2
    echo "Install them with:" >&2
    echo "  sudo apt-get update && sudo $apt_line $all_missing" >&2
    echo "(or run scripts/deps.sh ${jobs[*]} as root; GORT_NO_DEPS=1 skips this check)" >&2
    exit 2
  fi
  echo "warning: ${optional[*]} not installed; the Go columns of the benchmarks are skipped." >&2
  echo "  to have them: sudo apt-get update && sudo $apt_line ${optional[*]}" >&2
  exit 0
fi

if ! have_cmd apt-get; then
  echo "gort needs: $all_missing (Debian package names); this machine has no apt-get," >&2
  echo "so install them with its own package manager, then rerun with GORT_NO_DEPS=1." >&2
  [ ${#required[@]} -eq 0 ]; exit $(( $? ? 2 : 0 ))
fi

export DEBIAN_FRONTEND=noninteractive
echo "scripts/deps.sh: installing $all_missing"
if ! apt-get update -q >/tmp/gort-apt-update.log 2>&1; then
  cat /tmp/gort-apt-update.log >&2
  echo "scripts/deps.sh: apt-get update failed (above); trying the install anyway" >&2
fi
if [ ${#required[@]} -gt 0 ]; then
  if ! apt-get install -y -q --no-install-recommends "${required[@]}"; then
    echo "scripts/deps.sh: could not install ${required[*]} (apt-get output above)" >&2
    exit 2
  fi
fi
if [ ${#optional[@]} -gt 0 ]; then
  apt-get install -y -q --no-install-recommends "${optional[@]}" ||
    echo "warning: could not install ${optional[*]}; the Go columns of the benchmarks are skipped." >&2
fi

# Check that what was asked for really works now.
missing=()
[ $want_test = 1 ] && ! have_criterion && missing+=(libcriterion-dev)
[ $want_labs = 1 ] && ! have_pngcairo && missing+=("gnuplot-nox (pngcairo terminal)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "scripts/deps.sh: still missing after the install: ${missing[*]}" >&2
  exit 2
fi
exit 0
