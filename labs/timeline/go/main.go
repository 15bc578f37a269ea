// Command timeline is the Go twin of labs/timeline/fanout.c. With a third
// argument it writes Go's execution trace there (runtime/trace); open it
// with `go tool trace FILE` to see Go's own per-P timeline.
//
//	timeline ROUNDS TASKS UNIT_ITERS [TRACE.out]
package main

import (
	"fmt"
	"os"
	"runtime/trace"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: timeline ROUNDS TASKS UNIT_ITERS [TRACE.out]")
		os.Exit(2)
	}
	var a [3]int64
	for i := range a {
		v, err := strconv.ParseInt(os.Args[i+1], 10, 64)
		if err != nil || v < 1 {
			fmt.Fprintf(os.Stderr, "timeline: argument %d=%s: expected an integer >= 1\n", i+1, os.Args[i+1])
			os.Exit(2)
		}
		a[i] = v
	}
	rounds, tasks, unit := a[0], a[1], a[2]
	if len(os.Args) > 4 {
		f, err := os.Create(os.Args[4])
		if err != nil {
			fmt.Fprintln(os.Stderr, "timeline:", err)
			os.Exit(1)
		}
		defer f.Close()
		trace.Start(f)
		defer trace.Stop()
	}
	results := make(chan uint64)
	var sum uint64
	t0 := time.Now()
	for r := int64(0); r < rounds; r++ {
		for i := int64(0); i < tasks; i++ {
			go func(i int64) {
				x := uint64(i) + 1
				for k := int64(0); k < (1+i%4)*unit; k++ {
					x = x*6364136223846793005 + 1442695040888963407
				}
				results <- x
			}(i)
		}
		for i := int64(0); i < tasks; i++ {
			sum += <-results
		}
	}
	fmt.Printf("%.3f\t%d\n", float64(time.Since(t0).Nanoseconds())/1e6, rounds*tasks)
	if sum == 42 {
		os.Exit(1)
	}
}
