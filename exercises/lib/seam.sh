#!/usr/bin/env bash
# exercises/lib/seam.sh: a copy of a stage with an exercise's seam patch.
#
#   seam.sh STAGE_DIR PATCH OUT_DIR
#
# Some exercises are about code that a stage keeps inside one big file
# (proc.c's static functions). Such an exercise ships a small patch, its
# "seam", that moves that code to a file of its own without changing what
# it does; the student's file of the same name then replaces it
# (lib/exercise.mk's substitution path). This script makes OUT_DIR/src and
# OUT_DIR/include: a copy of STAGE_DIR's with PATCH applied. stages/ is only
# read. Files keep their times (cp -p), so objects of untouched files stay
# valid; the copy is remade only when the stage or the patch is newer than
# it. Exit status 0 on success; 1, with the reason, when the patch does not
# apply (the stage changed under it: update the seam).
set -u
stage=${1:?usage: seam.sh STAGE_DIR PATCH OUT_DIR}
patchfile=${2:?usage: seam.sh STAGE_DIR PATCH OUT_DIR}
out=${3:?usage: seam.sh STAGE_DIR PATCH OUT_DIR}
stamp=$out/.seam-stamp
if [ -f "$stamp" ] && [ -z "$(find "$stage/src" "$stage/include" "$patchfile" -newer "$stamp" -print -quit)" ]; then
    exit 0
fi
mkdir -p "$out"
rm -rf "$out/src.tmp" "$out/include.tmp"
mkdir -p "$out/src.tmp" "$out/include.tmp"
cp -p "$stage"/src/* "$out/src.tmp/" && cp -p "$stage"/include/* "$out/include.tmp/" || exit 1
mkdir -p "$out/ptmp" && rm -rf "$out/ptmp"/* && mv "$out/src.tmp" "$out/ptmp/src" && mv "$out/include.tmp" "$out/ptmp/include"
if ! msg=$(patch -p1 -d "$out/ptmp" --quiet --no-backup-if-mismatch <"$patchfile" 2>&1); then
    echo "seam.sh: $patchfile does not apply to $stage (update the seam):" >&2
    printf '%s\n' "$msg" >&2
    rm -rf "$out/ptmp"
    exit 1
fi
# Replace the old copy only now, file by file, so that unchanged files keep
# their times and their objects.
mkdir -p "$out/src" "$out/include"
for d in src include; do
    for f in "$out/ptmp/$d"/*; do
        n=$out/$d/$(basename "$f")
        cmp -s "$f" "$n" || cp -p "$f" "$n"
    done
    for f in "$out/$d"/*; do
        [ -e "$out/ptmp/$d/$(basename "$f")" ] || rm -f "$f"
    done
done
rm -rf "$out/ptmp"
touch "$stamp"
