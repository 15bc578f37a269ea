// Command preemption is the Go twin of labs/preemption/sleeper.c: a
// spinner with no calls in its loop (bursts of BURST_MS then Gosched, or
// with BURST_MS 0 never yielding), and a goroutine that sleeps 1 ms SAMPLES
// times and prints how late it woke, in microseconds. Run it with
// GODEBUG=asyncpreemptoff=1 for Go's cooperative-only mode (Go before 1.14),
// and then only with BURST_MS > 0.
//
//	preemption SAMPLES BURST_MS
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

var stop int32
var sink uint64

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: preemption SAMPLES BURST_MS")
		os.Exit(2)
	}
	samples, err1 := strconv.ParseInt(os.Args[1], 10, 64)
	burstMs, err2 := strconv.ParseInt(os.Args[2], 10, 64)
	if err1 != nil || err2 != nil || samples < 1 || burstMs < 0 {
		fmt.Fprintln(os.Stderr, "preemption: SAMPLES >= 1 and BURST_MS >= 0 expected")
		os.Exit(2)
	}
	x := uint64(1)
	t0 := time.Now()
	for k := 0; k < 20000000; k++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	sink = x
	var burst int64
	if burstMs > 0 {
		burst = int64(20000000 * 1e6 * float64(burstMs) / float64(time.Since(t0).Nanoseconds()))
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		x := uint64(1)
		for atomic.LoadInt32(&stop) == 0 {
			for k := int64(0); (burst == 0 || k < burst) && atomic.LoadInt32(&stop) == 0; k++ {
				x = x*6364136223846793005 + 1442695040888963407
			}
			runtime.Gosched()
		}
		sink = x
	}()
	time.Sleep(5 * time.Millisecond)
	for i := int64(0); i < samples; i++ {
		s := time.Now()
		time.Sleep(time.Millisecond)
		fmt.Printf("%.1f\n", float64(time.Since(s).Nanoseconds()-1000000)/1e3)
	}
	atomic.StoreInt32(&stop, 1)
	wg.Wait()
}
