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
//	gobench fib      [N [CUTOFF [MS]]]  parallel fib(N), a goroutine per call above n=CUTOFF (20),
//	                 trees for MS ms (1000): ms per tree (stage 03 bench/fib.c)
//	gobench skewed   [N]  N CPU tasks of 50 us-1 ms spawned by one goroutine (stage 03 bench/skewed.c)
//	gobench sleeper  [N]  N 1 ms sleeps beside a goroutine spinning with no calls (stage 04 bench/sleeper.c)
//	gobench syscall  [N]  N getppid calls per P through syscall.Syscall, then RawSyscall (stage 04 bench/syscall.c)
//	gobench timers   [N]  N timers made and stopped, then N resets and stops of one timer, per P (stage 05 bench/timers.c)
//	gobench echoserver    the echo server of stage 05's echo benchmark: prints "port N", serves until killed
//	                      (bench/echo_server.c; bench/echo_client.c drives both)
//
// Standard library only; build with GOFLAGS=-mod=mod and no network.
package main

import (
	"fmt"
	"math"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	defaults := map[string]int64{
		"spawn": 1000000, "park": 1000000, "gosched": 1000000,
		"pingpong": 1000000, "buffered": 10000000,
		"fib": 35, "skewed": 4000,
		"sleeper": 300, "syscall": 2000000,
		"timers": 1000000, "echoserver": 1,
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
	if len(os.Args) > 3 {
		c, err := strconv.Atoi(os.Args[3])
		if os.Args[1] != "fib" || len(os.Args) > 5 || err != nil || c < 1 || c > 50 {
			usage()
		}
		fibCutoff = c
	}
	if len(os.Args) > 4 {
		ms, err := strconv.Atoi(os.Args[4])
		if err != nil || ms < 1 || ms > 600000 {
			usage()
		}
		fibMillis = ms
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
	case "fib":
		fibBench(n)
	case "skewed":
		skewed(n)
	case "sleeper":
		sleeper(n)
	case "syscall":
		syscallBench(n)
	case "timers":
		timersBench(n)
	case "echoserver":
		echoServer()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: gobench spawn|park|gosched|pingpong|buffered|fib|skewed|sleeper|syscall|timers [N] | echoserver  (fib: [N [CUTOFF [MS]]])")
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

// ---- fib (stage 03 bench/fib.c) ----------------------------------------------

var fibCutoff = 20   // a goroutine per call above it; gobench fib N CUTOFF sets it
var fibMillis = 1000 // trees are timed for at least this long; gobench fib N CUTOFF MS

func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

func pfib(n int, res *int, wg *sync.WaitGroup) {
	if n <= fibCutoff {
		*res = fib(n)
	} else {
		var a, b int
		var inner sync.WaitGroup
		inner.Add(2)
		go pfib(n-1, &a, &inner)
		go pfib(n-2, &b, &inner)
		inner.Wait()
		*res = a + b
	}
	wg.Done()
}

func fibBench(n int64) {
	if n > 50 {
		fmt.Fprintf(os.Stderr, "fib: N must be 1..50, got %d\n", n)
		os.Exit(2)
	}
	want := fib(int(n))
	var start time.Time
	var elapsed time.Duration
	trees := 0
	// Tree 0 warms up, as bench/fib.c does; then trees until fibMillis have passed.
	for run := 0; run == 0 || elapsed < time.Duration(fibMillis)*time.Millisecond; run++ {
		var res int
		var wg sync.WaitGroup
		wg.Add(1)
		if run == 1 {
			start = time.Now()
		}
		go pfib(int(n), &res, &wg)
		wg.Wait()
		if res != want {
			fmt.Fprintf(os.Stderr, "fib(%d): got %d, want %d\n", n, res, want)
			os.Exit(1)
		}
		if run > 0 {
			elapsed = time.Since(start)
			trees++
		}
	}
	fmt.Printf("fib_ms %.2f ms\n", float64(elapsed.Nanoseconds())/1e6/float64(trees))
}

// ---- skewed (stage 03 bench/skewed.c) ------------------------------------------

// skewDuration is task i's length: 50 us * 20^u, u from a multiplicative hash.
func skewDuration(i int64) time.Duration {
	u := float64(uint32(uint64(i)*2654435761)) / 4294967296.0
	return time.Duration(50000.0 * math.Pow(20.0, u))
}

func skewTask(i int64, serial *atomic.Int64, wg *sync.WaitGroup) {
	d := skewDuration(i)
	start := time.Now()
	var spent time.Duration
	for spent < d {
		spent = time.Since(start)
	}
	serial.Add(int64(spent))
	wg.Done()
}

func skewed(n int64) {
	procs := runtime.GOMAXPROCS(0)
	var serial atomic.Int64
	var wg sync.WaitGroup
	wg.Add(int(n))
	start := time.Now()
	for i := int64(0); i < n; i++ {
		go skewTask(i, &serial, &wg)
	}
	wg.Wait()
	wall := time.Since(start)
	eff := float64(serial.Load()) / (float64(procs) * float64(wall.Nanoseconds()))
	fmt.Printf("skewed_efficiency %.3f fraction\n", eff)
	fmt.Printf("skewed_wall_ms %.1f ms\n", float64(wall.Nanoseconds())/1e6)
}

// ---- sleeper (stage 04 bench/sleeper.c) ----------------------------------------

var sleeperStop atomic.Int32
var sleeperSink uint64

func sleeperSpin(wg *sync.WaitGroup) {
	x := uint64(1)
	for sleeperStop.Load() == 0 { // no call: only async preemption stops it
		x = x*6364136223846793005 + 1442695040888963407
	}
	sleeperSink = x
	wg.Done()
}

func sleeper(n int64) {
	late := make([]int64, n)
	var wg sync.WaitGroup
	wg.Add(1)
	go sleeperSpin(&wg)
	time.Sleep(5 * time.Millisecond)
	for i := range late {
		t := time.Now()
		time.Sleep(time.Millisecond)
		late[i] = int64(time.Since(t) - time.Millisecond)
	}
	sleeperStop.Store(1)
	wg.Wait()
	for i := 1; i < len(late); i++ { // insertion sort: n is small
		for j := i; j > 0 && late[j-1] > late[j]; j-- {
			late[j-1], late[j] = late[j], late[j-1]
		}
	}
	p99 := n * 99 / 100
	if p99 >= n {
		p99 = n - 1
	}
	fmt.Printf("sleeper_late_p50 %.3f ms\n", float64(late[n/2])/1e6)
	fmt.Printf("sleeper_late_p99 %.3f ms\n", float64(late[p99])/1e6)
	fmt.Printf("sleeper_late_max %.3f ms\n", float64(late[n-1])/1e6)
}

// ---- syscall (stage 04 bench/syscall.c) ----------------------------------------

var syscallSink atomic.Int64

// syscall.Syscall brackets the raw call with the runtime's entersyscall and
// exitsyscall, as gort's runtime_entersyscall/runtime_exitsyscall do.
func syscallBracketed(n int64, wg *sync.WaitGroup) {
	var s uintptr
	for i := int64(0); i < n; i++ {
		r, _, _ := syscall.Syscall(syscall.SYS_GETPPID, 0, 0, 0)
		s += r
	}
	syscallSink.Store(int64(s))
	wg.Done()
}

// RawSyscall is the bare call: the runtime is not told.
func syscallRaw(n int64, wg *sync.WaitGroup) {
	var s uintptr
	for i := int64(0); i < n; i++ {
		r, _, _ := syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0)
		s += r
	}
	syscallSink.Store(int64(s))
	wg.Done()
}

// ns per call of fn, run by GOMAXPROCS goroutines at once.
func syscallLoop(fn func(int64, *sync.WaitGroup), n int64) float64 {
	procs := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	wg.Add(procs)
	start := time.Now()
	for i := 0; i < procs; i++ {
		go fn(n, &wg)
	}
	wg.Wait()
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

func syscallBench(n int64) {
	call := syscallLoop(syscallBracketed, n)
	raw := syscallLoop(syscallRaw, n)
	fmt.Printf("syscall_call %.1f ns\n", call)
	fmt.Printf("syscall_raw %.1f ns\n", raw)
	fmt.Printf("syscall_bracket %.1f ns\n", call-raw)
}

// ---- timers (stage 05 bench/timers.c) ---------------------------------------

// ns per (make a one-hour timer, stop it) and per (reset it, stop it), with
// GOMAXPROCS goroutines at it at once, each on its own timers.
func timersBench(n int64) {
	procs := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	wg.Add(procs)
	start := time.Now()
	for i := 0; i < procs; i++ {
		go func() {
			for j := int64(0); j < n; j++ {
				t := time.NewTimer(time.Hour)
				t.Stop()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	made := float64(time.Since(start).Nanoseconds()) / float64(n)
	wg.Add(procs)
	start = time.Now()
	for i := 0; i < procs; i++ {
		go func() {
			t := time.NewTimer(time.Hour)
			for j := int64(0); j < n; j++ {
				t.Reset(time.Hour)
				t.Stop()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	reset := float64(time.Since(start).Nanoseconds()) / float64(n)
	fmt.Printf("timer_new_stop %.1f ns\n", made)
	fmt.Printf("timer_reset_stop %.1f ns\n", reset)
}

// ---- echoserver (stage 05 bench/echo_server.c) ------------------------------

// A goroutine per connection that writes back what it reads, through Go's
// netpoller; bench/echo_client.c is the load.
func echoServer() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("port %d\n", ln.Addr().(*net.TCPAddr).Port)
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		go func(c net.Conn) {
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if _, werr := c.Write(buf[:n]); werr != nil {
						break
					}
				}
				if err != nil {
					break
				}
			}
			c.Close()
		}(c)
	}
}
