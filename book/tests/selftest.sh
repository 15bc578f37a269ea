#!/usr/bin/env bash
# selftest.sh: shows that the book's checks can fail (`make check` runs it).
#
#   1. refs.md quotes tests/fixture.c, C written to trip a naive reader
#      (braces in strings, comments and macros; a prototype before the
#      definition; multi-line and one-line signatures; #if arms): each
#      reference must come out as exactly the lines expected.
#      Also: diffs coloured by line, elide="plumbing", lab values read
#      from a table (tests/labdata/demo/t.tsv), line references, the stamp
#      and CPU-speed warning under a plot.
#   2. broken.md names a function, a file and a plot that do not exist, and
#      an ambiguous one: the build must fail and name chapter, file and symbol.
#   3. A page with a missing image and a dangling anchor: both checkers of
#      tools/check.py (on disk and in Chromium) must report them.
set -u
cd "$(dirname "$0")/.."
export GORT_ROOT=$(cd .. && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/fig"
export BOOK_OUT=$tmp
fails=0
ok()   { echo "selftest: ok: $1"; }
bad()  { echo "selftest: FAILED: $1"; fails=$((fails + 1)); }
filter() { pandoc --lua-filter filters/gort.lua "$@"; }

# 1. what each reference resolves to (lab values and plots from tests/labdata)
if LABS_DIR=$PWD/tests/labdata filter tests/refs.md -t markdown -o "$tmp/refs.out" 2>"$tmp/refs.err"; then
  for want in 'helper()` (lines 8-15)' 'one_line()` (line 17)' \
              'multi_line_signature()` (lines 19-26)' '`pair` (lines 28-30)' \
              '`node` (lines 32-34)' 'twice()` (line 39)' 'fixture.c) (lines 36-40)' \
              'fixture.c) (lines 3-4)' '+    return a - (s[0] == c);'; do
    if grep -qF -- "$want" "$tmp/refs.out"; then ok "resolves $want"; else bad "expected $want in the output"; fi
  done
  # the comment above helper comes with it; the prototype does not
  grep -qF '/* helper: the comment above' "$tmp/refs.out" && ok "comment above a function included" ||
    bad "the comment above helper() is missing"
  grep -qF 'static int helper(int a);' "$tmp/refs.out" && bad "the prototype was taken for the definition" ||
    ok "prototype skipped"
  # diffs are coloured by line, each hunk named by its function and lines
  grep -qF '<span class="d-add">+    return a - (s[0] == c);</span>' "$tmp/refs.out" &&
    grep -qF '<span class="d-del">-    return a + (s[0] == c);</span>' "$tmp/refs.out" &&
    grep -qF 'book/tests/fixture.c lines 11-15, book/tests/fixture2.c lines 11-15 @@  <b>in helper()</b>' "$tmp/refs.out" &&
    ok "diff lines marked added and removed, hunk named" || bad "diff not marked by line"
  # elide="plumbing": trace/metrics lines gone, a marker in their place,
  # the real store kept with its own line number
  awk '/plumbed\(\)` \(lines/ { on = 1 } /The diff of/ && on { exit } on' "$tmp/refs.out" >"$tmp/elided"
  if grep -qF 'n->next = 0;' "$tmp/elided" && ! grep -q 'trace_gostart\|metrics_' "$tmp/elided" &&
     grep -qF '/* ... tracing, metrics, sanitizer: lines 45-46 elided ... */' "$tmp/elided" &&
     grep -qF 'startFrom="47"' "$tmp/elided"; then ok "plumbing elided, marked, line numbers kept"
  else bad "elide=plumbing: $(cat "$tmp/elided")"; fi
  grep -qF 'The new version, whole:' "$tmp/refs.out" && ok "diff shown beside the new version" ||
    bad "beside=new did not add the new version"
  # values from a lab's table; a line reference
  for want in 'Values: [5]{.lab-value' '[1,234,567]{.lab-value' '[6]{.lab-value' '[5.0]{.lab-value' \
              'the store is on line 47' 'the second call on line 52' 'Reference results, measured 2026-01-01' 'CPU-speed warning'; do
    grep -qF -- "$want" "$tmp/refs.out" && ok "lab value/line/stamp: $want" || bad "expected $want in the output"
  done
else
  bad "tests/refs.md did not build:"; cat "$tmp/refs.err"
fi

# 2. what does not resolve stops the build, saying where
if LABS_DIR=$PWD/tests/labdata filter tests/broken.md -t native -o /dev/null 2>"$tmp/broken.err"; then
  bad "tests/broken.md built although its references do not resolve"
else
  for want in 'tests/broken.md: code reference does not resolve: book/tests/fixture.c: no function no_such_function' \
              'function twice is defined 2 times' 'no such file book/tests/no_such_file.c' \
              'tests/broken.md: plot nolab/noplot is missing' 'make lab LAB=nolab' \
              'lab value "demo/t ns min series=nosuch": no row of' 'helper() has no line containing "no such text"'; do
    grep -qF -- "$want" "$tmp/broken.err" && ok "reports: $want" || bad "no report of: $want"
  done
fi
# with plots optional, the missing plot is a note and a listed gap
if BOOK_PLOTS=optional filter tests/broken.md -t native -o /dev/null 2>/dev/null; then
  bad "broken references passed with BOOK_PLOTS=optional"
fi
grep -qF 'nolab/noplot' "$tmp/missing-plots.txt" 2>/dev/null && ok "optional plot listed as missing" ||
  bad "missing plot not listed in missing-plots.txt"

# 3. the checkers catch a missing image and a dangling anchor
site=$tmp/site; mkdir -p "$site"
cat >"$site/a.html" <<'HTML'
<html><body><h1 id="top">A</h1><img src="fig/none.svg"><a href="b.html#nowhere">b</a>
<a href="#top">top</a></body></html>
HTML
cat >"$site/b.html" <<'HTML'
<html><body><h1 id="here">B</h1><a href="a.html#top">a</a></body></html>
HTML
out=$(python3 tools/check.py static "$site")
if [ $? -ne 0 ] && grep -q 'a.html: image fig/none.svg is missing' <<<"$out" &&
   grep -q "b.html has no element id='nowhere'" <<<"$out"; then
  ok "static check finds the missing image and the dangling anchor"
else
  bad "static check missed them: $out"
fi
out=$(python3 tools/check.py browser "$site")
if [ $? -ne 0 ] && grep -q 'a.html: image fig/none.svg did not render' <<<"$out" &&
   grep -q 'link b.html#nowhere finds no element' <<<"$out"; then
  ok "browser check finds the missing image and the dangling anchor"
else
  bad "browser check missed them: $out"
fi

echo "selftest: $fails failed"
[ $fails -eq 0 ]
