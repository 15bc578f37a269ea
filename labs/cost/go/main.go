// Command cost is the Go twin of labs/cost/goroutines.c: the same three
// measurements, the same output lines.
//
//	cost spawn|gosched|pingpong N
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

func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		fmt.Fprintln(os.Stderr, "cost:", err)
		os.Exit(1)
	}
	var size, resident int64
	fmt.Sscan(string(b), &size, &resident)
	return resident * int64(os.Getpagesize())
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: cost spawn|gosched|pingpong N")
		os.Exit(2)
	}
	n, err := strconv.ParseInt(os.Args[2], 10, 64)
	if err != nil || n < 1 || n > 100000000 {
		fmt.Fprintf(os.Stderr, "cost: N=%s: expected an integer in 1..100000000\n", os.Args[2])
		os.Exit(2)
	}
	var wg sync.WaitGroup
	switch os.Args[1] {
	case "spawn":
		ch := make(chan int64)
		var parked int64
		rss0 := rssBytes()
		t0 := time.Now()
		wg.Add(int(n))
		for i := int64(0); i < n; i++ {
			go func() {
				atomic.AddInt64(&parked, 1)
				<-ch
				wg.Done()
			}()
		}
		for atomic.LoadInt64(&parked) < n {
			runtime.Gosched()
		}
		t1 := time.Now()
		time.Sleep(20 * time.Millisecond)
		rss1 := rssBytes()
		fmt.Printf("%.1f\t%.0f\n", float64(t1.Sub(t0).Nanoseconds())/float64(n), float64(rss1-rss0)/float64(n))
		close(ch)
		wg.Wait()
	case "gosched":
		wg.Add(2)
		t0 := time.Now()
		for k := 0; k < 2; k++ {
			go func() {
				for i := int64(0); i < n; i++ {
					runtime.Gosched()
				}
				wg.Done()
			}()
		}
		wg.Wait()
		fmt.Printf("%.1f\n", float64(time.Since(t0).Nanoseconds())/(2*float64(n)))
	case "pingpong":
		ping, pong := make(chan int64), make(chan int64)
		go func() {
			for i := int64(0); i < n; i++ {
				pong <- <-ping
			}
		}()
		t0 := time.Now()
		for i := int64(0); i < n; i++ {
			ping <- i
			<-pong
		}
		fmt.Printf("%.1f\n", float64(time.Since(t0).Nanoseconds())/(2*float64(n)))
	default:
		fmt.Fprintf(os.Stderr, "cost: MODE=%s: expected spawn, gosched or pingpong\n", os.Args[1])
		os.Exit(2)
	}
}
