// Command leakdetection is the Go twin of labs/leak-detection/leaks.c: the
// same four leaks and fixes, the same request loop and output lines.
// Go has no runtime_leak_check (go.uber.org/goleak is one, outside the
// standard library); in its place the leakcheck file holds the count left
// after 100 ms and the goroutine profile (pprof, debug=2: the same text as
// a SIGQUIT dump, each goroutine's stack and "created by" site). The dump
// file is the same profile taken right after.
//
//	leakdetection recv|ticker|worker|sender|all leaky|fixed MS OUTDIR [HOLD_MS]
package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"
)

var fixed bool
var sunk int

func handle(pattern string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // the fix; the leaky goroutines below never look at ctx
	switch pattern {
	case "recv":
		reply := make(chan int)
		if !fixed {
			go func() { <-reply }() // BUG: nobody sends
		} else {
			go func() {
				select {
				case <-reply:
				case <-ctx.Done(): // FIX: or the handler returned
				}
			}()
		}
		// validation fails: return early, the reply is never sent
	case "ticker":
		t := time.NewTicker(10 * time.Millisecond)
		if !fixed {
			go func() {
				for range t.C { // BUG: never stopped
					sunk++
				}
			}()
		} else {
			go func() {
				defer t.Stop()
				for {
					select {
					case <-t.C:
						sunk++
					case <-ctx.Done(): // FIX: stop with the request
						return
					}
				}
			}()
		}
	case "worker":
		jobs := make(chan int)
		if !fixed {
			go func() {
				for j := range jobs { // BUG: jobs is never closed
					sunk += j
				}
			}()
		} else {
			go func() {
				for {
					select {
					case j := <-jobs:
						sunk += j
					case <-ctx.Done(): // FIX: a cancellation path
						return
					}
				}
			}()
		}
		for j := 1; j <= 3; j++ {
			jobs <- j
		}
	case "sender":
		result := make(chan int)
		if !fixed {
			go func() {
				time.Sleep(30 * time.Millisecond)
				result <- 42 // BUG: the caller left at 5 ms
			}()
		} else {
			go func() {
				select {
				case <-time.After(30 * time.Millisecond):
				case <-ctx.Done():
					return
				}
				select {
				case result <- 42:
				case <-ctx.Done(): // FIX: or the caller gave up
				}
			}()
		}
		select {
		case <-result:
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func main() {
	if (len(os.Args) != 5 && len(os.Args) != 6) || (os.Args[2] != "leaky" && os.Args[2] != "fixed") {
		fmt.Fprintln(os.Stderr, "usage: leakdetection recv|ticker|worker|sender|all leaky|fixed MS OUTDIR [HOLD_MS]")
		os.Exit(2)
	}
	pattern, variant, dir := os.Args[1], os.Args[2], os.Args[4]
	ms, err := strconv.Atoi(os.Args[3])
	if err != nil || ms < 20 {
		fmt.Fprintf(os.Stderr, "leakdetection: MS=%s: expected an integer >= 20\n", os.Args[3])
		os.Exit(2)
	}
	hold := 200
	if len(os.Args) == 6 {
		hold, err = strconv.Atoi(os.Args[5])
		if err != nil || hold < 0 {
			fmt.Fprintf(os.Stderr, "leakdetection: HOLD_MS=%s: expected an integer >= 0\n", os.Args[5])
			os.Exit(2)
		}
	}
	fixed = variant == "fixed"
	all := []string{"recv", "ticker", "worker", "sender"}
	t0 := time.Now()
	nextSample := t0
	for next := t0; ; next = next.Add(5 * time.Millisecond) {
		now := time.Now()
		if !now.Before(nextSample) {
			fmt.Printf("%.0f\t%d\n", float64(now.Sub(t0).Nanoseconds())/1e6, runtime.NumGoroutine())
			nextSample = nextSample.Add(20 * time.Millisecond)
		}
		if now.Sub(t0) >= time.Duration(ms+hold)*time.Millisecond {
			break
		}
		if now.Sub(t0) < time.Duration(ms)*time.Millisecond {
			if pattern == "all" {
				for _, p := range all {
					handle(p)
				}
			} else {
				handle(pattern)
			}
		}
		time.Sleep(time.Until(next.Add(5 * time.Millisecond)))
	}
	time.Sleep(100 * time.Millisecond)
	f, err := os.Create(fmt.Sprintf("%s/leakcheck-%s-%s.txt", dir, pattern, variant))
	if err != nil {
		fmt.Fprintln(os.Stderr, "leakdetection:", err)
		os.Exit(1)
	}
	fmt.Fprintf(f, "goroutines other than main after 100 ms: %d\n", runtime.NumGoroutine()-1)
	pprof.Lookup("goroutine").WriteTo(f, 2)
	f.Close()
	f, err = os.Create(fmt.Sprintf("%s/dump-%s-%s.txt", dir, pattern, variant))
	if err != nil {
		fmt.Fprintln(os.Stderr, "leakdetection:", err)
		os.Exit(1)
	}
	pprof.Lookup("goroutine").WriteTo(f, 2)
	f.Close()
}
