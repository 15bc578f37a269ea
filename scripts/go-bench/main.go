// Command gobench is the Go twin of gort's stage benchmarks (stages/*/bench/*.c).
//
// Each workload here is the same program as its C namesake, line for line,
// and prints the same "metric value unit" lines, so that bench/run.sh can
// run both in one go and print gort/Go ratios:
//
//	gobench spawn    [N]  spawn N goroutines, each calls wg.Done      (bench/spawn.c)
//	gobench park     [N]  park N goroutines on one channel receive    (bench/park.c)
//	gobench gosched  [N]  two goroutines call Gosched N times each    (bench/gosched.c)
//	gobench pingpong [N]  unbuffered channel ping-pong, N round trips (bench/chan_pingpong.c)
//	gobench buffered [N]  cap-128 channel, N int64s, 1 producer 1 consumer (bench/chan_buffered.c)
//
// Standard library only; build with GOFLAGS=-mod=mod and no network.
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

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	defaults := map[string]int64{
		"spawn": 1000000, "park": 1000000, "gosched": 1000000,
		"pingpong": 1000000, "buffered": 10000000,
	}
	n, ok := defaults[os.Args[1]]
	if !ok {
		usage()
	}
	if len(os.Args) > 2 {
		v, err := strconv.ParseInt(os.Args[2], 10, 64)
		if err != nil || v < 1 {
			usage()
		}
		n = v
	}
	switch os.Args[1] {
	case "spawn":
		spawn(n)
	case "park":
		park(n)
	case "gosched":
		gosched(n)
	case "pingpong":
		pingpong(n)
	case "buffered":
		buffered(n)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: gobench spawn|park|gosched|pingpong|buffered [N]")
	os.Exit(2)
}

// ---- spawn (bench/spawn.c) --------------------------------------------------

func done(wg *sync.WaitGroup) {
	wg.Done()
}

func spawn(n int64) {
	var wg sync.WaitGroup
	wg.Add(int(n))
	start := time.Now()
	for i := int64(0); i < n; i++ {
		go done(&wg)
	}
	wg.Wait()
	elapsed := time.Since(start)
	fmt.Printf("spawn_goroutine %.1f ns\n", float64(elapsed.Nanoseconds())/float64(n))
}

// ---- park (bench/park.c) ----------------------------------------------------

// rssBytes reads the resident set size: the second field of /proc/self/statm, in pages.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var size, resident int64
	if _, err := fmt.Sscan(string(b), &size, &resident); err != nil {
		fmt.Fprintln(os.Stderr, "/proc/self/statm:", err)
		os.Exit(1)
	}
	return resident * int64(os.Getpagesize())
}

var parked atomic.Int64

func parker(ch chan int64, wg *sync.WaitGroup) {
	parked.Add(1)
	<-ch
	wg.Done()
}

func park(n int64) {
	var wg sync.WaitGroup
	ch := make(chan int64)
	rss0 := rssBytes()
	wg.Add(int(n))
	for i := int64(0); i < n; i++ {
		go parker(ch, &wg)
	}
	rss1 := rssBytes()
	for int64(runtime.NumGoroutine()) < n+1 || parked.Load() < n {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	rss2 := rssBytes()

	start := time.Now()
	close(ch)
	wg.Wait()
	elapsed := time.Since(start)

	fmt.Printf("park_rss_per_goroutine %.0f bytes\n", float64(rss2-rss0)/float64(n))
	fmt.Printf("park_rss_spawned_per_goroutine %.0f bytes\n", float64(rss1-rss0)/float64(n))
	fmt.Printf("park_wake_goroutine %.1f ns\n", float64(elapsed.Nanoseconds())/float64(n))
}

// ---- gosched (bench/gosched.c) ----------------------------------------------

func yielder(iters int64, wg *sync.WaitGroup) {
	for i := int64(0); i < iters; i++ {
		runtime.Gosched()
	}
	wg.Done()
}

func gosched(iters int64) {
	var wg sync.WaitGroup
	wg.Add(2)
	start := time.Now()
	go yielder(iters, &wg)
	go yielder(iters, &wg)
	wg.Wait()
	elapsed := time.Since(start)
	fmt.Printf("gosched_switch %.1f ns\n", float64(elapsed.Nanoseconds())/(2*float64(iters)))
}

// ---- pingpong (bench/chan_pingpong.c) ---------------------------------------

func echo(ping <-chan int64, pong chan<- int64, wg *sync.WaitGroup) {
	for v := range ping {
		pong <- v
	}
	wg.Done()
}

func pingpong(n int64) {
	var wg sync.WaitGroup
	ping, pong := make(chan int64), make(chan int64)
	wg.Add(1)
	go echo(ping, pong, &wg)

	start := time.Now()
	for i := int64(0); i < n; i++ {
		ping <- i
		if v := <-pong; v != i {
			fmt.Fprintf(os.Stderr, "pingpong: sent %d, got back %d\n", i, v)
			os.Exit(1)
		}
	}
	elapsed := time.Since(start)
	close(ping)
	wg.Wait()
	fmt.Printf("chan_pingpong_roundtrip %.1f ns\n", float64(elapsed.Nanoseconds())/float64(n))
}

// ---- buffered (bench/chan_buffered.c) ---------------------------------------

func produce(ch chan<- int64, n int64) {
	for i := int64(0); i < n; i++ {
		ch <- i
	}
	close(ch)
}

func buffered(n int64) {
	ch := make(chan int64, 128)
	start := time.Now()
	go produce(ch, n)
	var sum int64
	for v := range ch {
		sum += v
	}
	elapsed := time.Since(start)
	if want := n * (n - 1) / 2; sum != want {
		fmt.Fprintf(os.Stderr, "buffered: sum %d, expected %d\n", sum, want)
		os.Exit(1)
	}
	fmt.Printf("chan_buffered_item %.1f ns\n", float64(elapsed.Nanoseconds())/float64(n))
}
