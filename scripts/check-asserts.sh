#!/usr/bin/env bash
# A test that asserts nothing passes silently; this check fails it.
#
#   scripts/check-asserts.sh [FILE...]
#
# With no arguments it scans every Criterion test file: stages/*/tests/test_*.c
# and exercises/**/tests/*.c. In each file, every test must contain an
# assertion. A test is Test(...), ParameterizedTest(...), Theory(...), or an
# invocation of a macro that expands to one of them (the harness's GTEST); an
# assertion is
#   - a Criterion assertion: cr_assert*, cr_expect*, cr_fail, cr_fatal;
#   - a harness check: CHECK, REQUIRE, or a call to h_fail (tests/harness.h
#     records a goroutine's failed check with it);
#   - any macro or function, defined in the file or in a header it includes
#     with #include "...", whose body contains an assertion (so CHECK_EQ,
#     h_expect_death, RUN and a file's own checking helpers count);
#   - or .exit_code = / .signal = in the test's header, or a GRADE_DEATH_TEST:
#     a death test asserts through its exit status and output.
# Exercise graders' tests (exercises/lib/grade.h: GRADE_TEST) count as tests,
# and their checks (grade_check_failed) as assertions.
# Prints PASS:/FAIL: per file and closes with "N passed, N failed"; exits 1 on
# any failure.
set -u
case ${1:-} in -h|--help) sed -n '2,20p' "$0"; exit 0 ;; esac
cd "$(dirname "$0")/.." || exit 2
exec python3 - "$@" <<'PY'
import glob, os, re, sys

TEST_MACROS = {"Test", "ParameterizedTest", "Theory", "GRADE_REGISTER_"}
# Tests whose header names the output they must die with assert through it.
DEATH_MACROS = {"GRADE_DEATH_TEST"}
# cr_*: Criterion's own. CHECK, REQUIRE and h_fail: stages/*/tests/harness.h,
# whose checks run on goroutines, record failures with h_fail() and are
# asserted on once the runtime has returned.
BASE_ASSERTS = {"cr_fail", "cr_fatal", "CHECK", "REQUIRE", "h_fail", "grade_check_failed"}
IDENT = re.compile(r"[A-Za-z_]\w*")


def is_base_assert(name):
    return (name in BASE_ASSERTS or name.startswith("cr_assert")
            or name.startswith("cr_expect"))


def blank_comments_and_strings(src):
    """Comments and string/char literals become spaces; newlines are kept."""
    out = list(src)
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            # a backslash at the end of a // comment line continues it; rare, ignored
            for k in range(i, j):
                out[k] = " "
            i = j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            for k in range(i, j):
                if src[k] != "\n":
                    out[k] = " "
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            j = min(j + 1, n)
            for k in range(i + 1, j - 1):
                if src[k] != "\n":
                    out[k] = " "
            i = j
        else:
            i += 1
    return "".join(out)


def split_directives(code):
    """(code with preprocessor lines blanked, [(name, params, body)] of #defines)."""
    lines = code.split("\n")
    defines = []
    i = 0
    while i < len(lines):
        if lines[i].lstrip().startswith("#"):
            start = i
            text = lines[i]
            while text.endswith("\\") and i + 1 < len(lines):
                i += 1
                text = text[:-1] + " " + lines[i]
            m = re.match(r"\s*#\s*define\s+([A-Za-z_]\w*)(\([^)]*\))?(.*)$", text)
            if m:
                defines.append((m.group(1), m.group(2) or "", m.group(3)))
            for k in range(start, i + 1):
                lines[k] = " " * len(lines[k])
        i += 1
    return "\n".join(lines), defines


def match_close(code, i, open_ch, close_ch):
    """Index just past the bracket matching code[i] == open_ch, or -1."""
    depth = 0
    for j in range(i, len(code)):
        if code[j] == open_ch:
            depth += 1
        elif code[j] == close_ch:
            depth -= 1
            if depth == 0:
                return j + 1
    return -1


def definitions(code):
    """Top-level `name(args) { body }`: functions, Test(...) {...}, GTEST(...) {...}.
    Yields (name, args, body, offset)."""
    i, n, depth = 0, len(code), 0
    while i < n:
        c = code[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif depth == 0 and (c.isalpha() or c == "_") and (i == 0 or not (code[i-1].isalnum() or code[i-1] == "_")):
            m = IDENT.match(code, i)
            name = m.group(0)
            j = m.end()
            while j < n and code[j].isspace():
                j += 1
            if j < n and code[j] == "(":
                k = match_close(code, j, "(", ")")
                if k < 0:
                    return
                b = k
                while b < n and code[b].isspace():
                    b += 1
                if b < n and code[b] == "{":
                    e = match_close(code, b, "{", "}")
                    if e < 0:
                        return
                    yield name, code[j + 1:k - 1], code[b + 1:e - 1], i
                    i = e
                    continue
                i = k
                continue
            i = m.end()
            continue
        i += 1


def local_headers(path, seen):
    """path's own text and that of every header it includes with quotes."""
    path = os.path.normpath(path)
    if path in seen or not os.path.isfile(path):
        return
    seen.add(path)
    src = open(path, encoding="utf-8", errors="replace").read()
    yield path, src
    for inc in re.findall(r'^\s*#\s*include\s*"([^"]+)"', src, re.M):
        # beside the file first, then the graders' -I directory
        for d in (os.path.dirname(path), "exercises/lib"):
            if os.path.isfile(os.path.join(d, inc)):
                yield from local_headers(os.path.join(d, inc), seen)
                break


def check_file(path):
    """(tests, [problem]) for one test file."""
    bodies = {}            # macro or function name -> identifiers in its body
    test_definers = set(TEST_MACROS)
    main_code = None
    for p, src in local_headers(path, set()):
        code, defines = split_directives(blank_comments_and_strings(src))
        if p == os.path.normpath(path):
            main_code = code
        for name, _params, body in defines:
            bodies.setdefault(name, set()).update(IDENT.findall(body))
        for name, _args, body, _off in definitions(code):
            if name not in TEST_MACROS and name not in bodies:
                bodies[name] = set(IDENT.findall(body))
    # A macro that expands to a Test defines tests; fixpoint over macros.
    changed = True
    while changed:
        changed = False
        for name, ids in bodies.items():
            if name not in test_definers and ids & test_definers and name not in TEST_MACROS:
                test_definers.add(name)
                changed = True
    # Names that assert, directly or through other names; fixpoint.
    asserts = {name for name, ids in bodies.items() if any(is_base_assert(x) for x in ids)}
    changed = True
    while changed:
        changed = False
        for name, ids in bodies.items():
            if name not in asserts and ids & asserts:
                asserts.add(name)
                changed = True

    tests, problems = 0, []
    for name, args, body, off in definitions(main_code):
        if name not in test_definers:
            continue
        tests += 1
        line = main_code.count("\n", 0, off) + 1
        if re.search(r"\.\s*(exit_code|signal)\s*=", args) or name in DEATH_MACROS:
            continue
        ids = set(IDENT.findall(body))
        if any(is_base_assert(x) for x in ids) or ids & asserts:
            continue
        label = " ".join(args.split())
        problems.append(f"{path}:{line}: {name}({label}) asserts nothing")
    return tests, problems


args = sys.argv[1:]
if args:
    files = args
else:
    files = sorted(glob.glob("stages/*/tests/test_*.c"))
    files += sorted(glob.glob("exercises/**/tests/*.c", recursive=True))
from_exercises = lambda f: f.startswith("exercises/")

passed = failed = 0
for f in files:
    tests, problems = check_file(f)
    if tests == 0 and from_exercises(f):
        print(f"skip: {f} (no tests in it)")
        continue
    if tests == 0:
        problems.append(f"{f}: no Test() in a test file")
    for p in problems:
        print(f"  {p}")
    if problems:
        failed += 1
        print(f"FAIL: {f} ({len(problems)} of {tests} tests assert nothing)"
              if tests else f"FAIL: {f} (no tests)")
    else:
        passed += 1
        print(f"PASS: {f} ({tests} test{'s' if tests != 1 else ''})")
if not files:
    print("no test files found")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
