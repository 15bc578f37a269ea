/*
 * leakdetect.h: a goroutine-leak detector built on the runtime's own
 * table of goroutines. GIVEN: do not edit; write leakdetect.c.
 *
 * leak_report(min_ns, out) finds every goroutine that has been parked for
 * longer than min_ns, groups them by (wait reason, function, creation
 * site), and writes to out (exactly; the tests parse it):
 *
 *   leak report: 7 goroutines parked longer than 100 ms
 *     4 x [chan receive] consumer(...) created by start_consumers at app.c:42
 *     3 x [sync.Mutex.Lock] locker(...) created by main at app.c:57
 *
 * Header: "goroutine" when the count is 1, "goroutines" otherwise; the
 * threshold in whole milliseconds (min_ns / 1000000). One line per group,
 * two spaces first; groups by count, largest first, then by file name and
 * line, smallest first. A goroutine created by no go() call (the main
 * goroutine) has no " created by ... at ..." part. Not reported: the
 * caller, goroutines running, runnable or dead, and those parked for
 * min_ns or less. Returns the number of goroutines reported.
 */
#ifndef EX_LEAKDETECT_H
#define EX_LEAKDETECT_H

#include "gort.h"

int leak_report(int64_t min_ns, FILE *out);

#endif
