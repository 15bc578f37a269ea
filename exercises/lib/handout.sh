#!/usr/bin/env bash
# exercises/lib/handout.sh: the students' copy of the repository.
#
#   handout.sh DEST        (the top-level `make handout DEST=dir`)
#
# Copies the repository's files (git's list of tracked files, as they are in
# the working tree; without git, every file but build outputs) to DEST,
# leaving out what students must not get:
#   solutions/                     the reference answers, their NOTES.md and
#                                  the planted bugs (solutions/bugs/)
#   exercises/check-integrity.sh   the integrity check (it runs the above)
#   exercises/lib/selftest*, exercises/lib/handout.sh   the grader's own tests
# and cuts the instructors' part out of exercises/README.md. What remains
# builds and grades: `make -C DEST/exercises/01-single-queue/once-rwmutex
# test` grades the starter (which fails its tests until the student's work
# is done). DEST must not exist, or be empty. Exit status 0 on success.
set -u
dest=${1:?usage: handout.sh DEST}
top=$(cd "$(dirname "$0")/../.." && pwd) || exit 2
if [ -e "$dest" ] && [ -n "$(ls -A "$dest" 2>/dev/null)" ]; then
    echo "handout.sh: $dest exists and is not empty" >&2
    exit 2
fi
mkdir -p "$dest" || exit 2
dest=$(cd "$dest" && pwd)
case $dest/ in "$top"/*)
    echo "handout.sh: $dest is inside the repository" >&2; exit 2 ;;
esac

left_out() {
    case $1 in
    solutions/*|exercises/check-integrity.sh|exercises/lib/selftest*|exercises/lib/handout.sh) return 0 ;;
    esac
    return 1
}

cd "$top" || exit 2
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    files=$(git ls-files)
else
    files=$(find . -type f ! -path '*/build/*' ! -path '*/build-*/*' ! -name '*.o' | sed 's|^\./||')
fi
n=0
while IFS= read -r f; do
    [ -n "$f" ] && [ -f "$f" ] || continue
    left_out "$f" && continue
    mkdir -p "$dest/$(dirname "$f")" && cp -p "$f" "$dest/$f" || exit 1
    n=$((n + 1))
done <<<"$files"

# exercises/README.md: the students' part only.
awk '/^## For instructors/ { exit } { print }' exercises/README.md >"$dest/exercises/README.md"
cat >>"$dest/exercises/README.md" <<'EOF'
(This is the students' copy: the reference solutions and the checks that
use them stay with your instructor.)
EOF
echo "handout: $n files in $dest (no solutions/, no integrity check)"
