#!/usr/bin/env bash
# Carries a stage's uncommitted changes into a later stage.
#
#   scripts/carry-forward.sh [-n] [-o DIR] FROM TO [PATH...]
#
# FROM is a stage of this repository (01, 01-single-queue or
# stages/01-single-queue); TO is another stage, or any directory holding a
# copy of one (a scratch copy outside the repository works too). The change
# carried is FROM's working tree against git HEAD: modified and deleted
# tracked files (git diff HEAD) and new files git does not ignore. PATHs,
# relative to the stage directory (src/proc.c, tests/), limit it.
#
# Each file is merged three ways, as git apply --3way merges a hunk: base =
# FROM's file at HEAD, theirs = FROM's file now, ours = TO's file. This is
# done per file with git merge-file, because git apply --3way needs the
# target in the index, and a stage being written (untracked) or a copy
# outside the repository is not. One line per file:
#
#   applied   src/proc.c       TO had FROM's old text: now FROM's new text
#   applied   src/proc.c       (merged): TO had its own changes, and they do
#                              not touch the lines FROM changed
#   applied   src/rand.c       (new file)   or (already there), (removed)
#   conflict  src/select.c     both changed the same lines: TO's file now
#                              holds git's <<<<<<< ======= >>>>>>> markers
#   skipped   src/x.c          TO has no such file, or it cannot be merged
#                              (binary): TO's file is left as it was
#
# Nothing is lost silently: for every conflict or skip, FROM's change to
# that file is written as a unified diff under DIR (default
# build/carry-forward/FROM-to-TO/ at the repository root), and the summary
# names it. -n (dry run) reports what would happen and writes nothing in TO.
# Closes with "N applied, N conflict, N skipped"; exits 0 only when every
# file applied, 1 otherwise, 2 on a usage error.
set -u
usage() { sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

dry=0 rejdir="" args=()
while [ $# -gt 0 ]; do
    case $1 in
    -n) dry=1; shift ;;
    -o) [ $# -ge 2 ] || usage; rejdir=$2; shift 2 ;;
    -h|--help) usage ;;
    --) shift; args+=("$@"); break ;;
    -*) echo "carry-forward: unknown option $1" >&2; usage ;;
    *) args+=("$1"); shift ;;
    esac
done
set -- "${args[@]}"
[ $# -ge 2 ] || usage

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
git rev-parse --verify -q HEAD >/dev/null || { echo "carry-forward: $root has no HEAD commit" >&2; exit 2; }

# A stage name or a directory -> a directory (relative to the root when inside it).
resolve() {
    local a=$1 m
    if [ -d "stages/$a" ]; then echo "stages/$a"; return 0; fi
    m=$(ls -d stages/"$a"-* 2>/dev/null)
    if [ -n "$m" ] && [ "$(printf '%s\n' "$m" | wc -l)" -eq 1 ] && [ -d "$m" ]; then echo "$m"; return 0; fi
    if [ -d "$a" ]; then realpath --relative-base="$root" "$a"; return 0; fi
    return 1
}
from=$(resolve "$1") || { echo "carry-forward: FROM=$1: no such stage or directory" >&2; exit 2; }
to=$(resolve "$2") || { echo "carry-forward: TO=$2: no such stage or directory" >&2; exit 2; }
shift 2
case $from in
stages/*) ;;
*) echo "carry-forward: FROM=$from: must be a stage under stages/ (its HEAD version is the base)" >&2; exit 2 ;;
esac
[ "$(realpath "$from")" != "$(realpath "$to")" ] || { echo "carry-forward: FROM and TO are the same directory" >&2; exit 2; }
[ -n "$rejdir" ] || rejdir="build/carry-forward/$(basename "$from")-to-$(basename "$to")"

# Changed files: "STATUS<TAB>path relative to FROM"; M (modified), A (new), D (deleted).
tmp=$(mktemp -d "${TMPDIR:-/tmp}/carry-forward.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
{
    git diff HEAD --no-renames --name-status -- "$from"
    git ls-files --others --exclude-standard -- "$from" | sed 's/^/A\t/'
} | while IFS=$'\t' read -r st path; do
    printf '%s\t%s\n' "${st:0:1}" "${path#"$from"/}"
done | sort -t$'\t' -k2 -u >"$tmp/changes"

selected() {   # is $1 (relative to the stage) named by the PATH arguments?
    [ ${#paths[@]} -eq 0 ] && return 0
    local i p
    for i in "${!paths[@]}"; do
        p=${paths[$i]%/}
        if [ "$1" = "$p" ] || [ "${1#"$p"/}" != "$1" ]; then
            used[$i]=1
            return 0
        fi
    done
    return 1
}
paths=("$@")
used=()

napplied=0 nconflict=0 nskipped=0
kept=()
report() {     # STATUS path detail
    printf '%-9s %s%s\n' "$1" "$2" "${3:+  ($3)}"
    case $1 in
    applied) napplied=$((napplied + 1)) ;;
    conflict) nconflict=$((nconflict + 1)) ;;
    skipped) nskipped=$((nskipped + 1)) ;;
    esac
}
keep_patch() { # path base theirs: FROM's change, kept for a human
    local out="$rejdir/$1.patch"
    mkdir -p "$(dirname "$out")"
    diff -u --label "a/$1" --label "b/$1" "$2" "$3" >"$out"
    kept+=("$out")
}

while IFS=$'\t' read -r st rel; do
    selected "$rel" || continue
    base="$tmp/base" theirs="$from/$rel" ours="$to/$rel" merged="$tmp/merged"
    : >"$base"
    if [ "$st" != A ]; then
        git show "HEAD:$from/$rel" >"$base" 2>/dev/null || { report skipped "$rel" "cannot read HEAD:$from/$rel"; continue; }
    fi
    case $st in
    D)
        if [ ! -e "$ours" ]; then
            report applied "$rel" "removed; already gone"
        elif cmp -s "$ours" "$base"; then
            [ $dry = 1 ] || rm -f "$ours"
            report applied "$rel" "removed"
        else
            keep_patch "$rel" "$base" /dev/null
            report conflict "$rel" "removed in $from, but changed in $to: left in place"
        fi
        continue ;;
    A)
        if [ ! -e "$ours" ]; then
            if [ $dry = 0 ]; then mkdir -p "$(dirname "$ours")" && cp -p "$theirs" "$ours"; fi
            report applied "$rel" "new file"
            continue
        fi ;;
    *)
        if [ ! -e "$ours" ]; then
            keep_patch "$rel" "$base" "$theirs"
            report skipped "$rel" "$to has no such file"
            continue
        fi ;;
    esac
    # Modified, or new in FROM where TO already has a file of that name.
    if cmp -s "$ours" "$theirs"; then
        report applied "$rel" "already there"
        continue
    fi
    if [ "$st" = M ] && cmp -s "$ours" "$base"; then
        [ $dry = 1 ] || cat "$theirs" >"$ours"
        report applied "$rel"
        continue
    fi
    cp "$ours" "$merged"
    git merge-file -L "$to/$rel" -L "HEAD:$from/$rel" -L "$from/$rel" "$merged" "$base" "$theirs" 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 0 ]; then
        [ $dry = 1 ] || cat "$merged" >"$ours"
        report applied "$rel" "merged with $to's own changes"
    elif [ $rc -lt 128 ]; then
        [ $dry = 1 ] || cat "$merged" >"$ours"
        keep_patch "$rel" "$base" "$theirs"
        if [ "$st" = A ]; then
            report conflict "$rel" "new in $from, and $to has a different file of that name: markers in it"
        else
            report conflict "$rel" "$rc conflicting region(s): markers in the file"
        fi
    else
        keep_patch "$rel" "$base" "$theirs"
        report skipped "$rel" "cannot merge: $(head -1 "$tmp/err")"
    fi
done <"$tmp/changes"

for i in "${!paths[@]}"; do   # a mistyped PATH must not pass for "nothing to do"
    if [ -z "${used[$i]:-}" ]; then
        report skipped "${paths[$i]}" "no change in $from under this path"
    fi
done
if [ $((napplied + nconflict + nskipped)) -eq 0 ]; then
    echo "carry-forward: no changes in $from against HEAD"
fi
if [ ${#kept[@]} -gt 0 ]; then
    echo "$from's change to each file not applied cleanly is kept as a patch:"
    printf '  %s\n' "${kept[@]}"
fi
[ $dry = 0 ] || echo "(dry run: nothing written in $to)"
echo "$napplied applied, $nconflict conflict, $nskipped skipped"
[ $nconflict -eq 0 ] && [ $nskipped -eq 0 ]
