/*
 * leakdetect.c: a goroutine-leak detector on stage 01's internals.
 *
 * YOU EDIT THIS FILE. Read README.md first. You will need, from
 * src/runtime2.h: allglock, allgs, allglen, struct g (goid, fn_name,
 * creator_fn, creator_file, creator_line, waitreason, waitsince),
 * readgstatus, getg, nanotime, lock/unlock. Replace this comment with your
 * design: what you read under which lock, and why that is safe.
 */
#include "leakdetect.h"
#include "runtime2.h"

int leak_report(int64_t min_ns, FILE *out)
{
    (void)min_ns;
    fprintf(out, "leak report: not implemented yet (exercise leakdetect)\n");
    return -1;
}
