// Command gomaxprocs is the Go twin of labs/gomaxprocs/pool.c: the same
// bounded worker pool, the same multiply-add chain for cpu tasks, a
// blocking nanosleep system call for io tasks (syscall.Nanosleep enters
// the runtime's syscall state, as runtime_entersyscall does in gort 02+),
// and the same output lines.
//
//	gomaxprocs cpu|io WORKERS TASKS WORK
//	gomaxprocs dynamic WORKERS MS ITERS P1,P2,...
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type task struct{ submitted time.Time }

var (
	sink      uint64
	doneCount int64
)

func cpuChain(iters int64, x uint64) uint64 {
	for i := int64(0); i < iters; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

func blockInKernel(usec int64) {
	ts := syscall.NsecToTimespec(usec * 1000)
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}

func argInt(name, s string, lo int64) int64 {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < lo {
		fmt.Fprintf(os.Stderr, "gomaxprocs: %s=%s: expected an integer >= %d\n", name, s, lo)
		os.Exit(2)
	}
	return v
}

func main() {
	a := os.Args
	if len(a) < 5 || (a[1] != "cpu" && a[1] != "io" && a[1] != "dynamic") {
		fmt.Fprintln(os.Stderr, "usage: gomaxprocs cpu|io WORKERS TASKS WORK\n       gomaxprocs dynamic WORKERS MS ITERS P1,P2,...")
		os.Exit(2)
	}
	workers := argInt("WORKERS", a[2], 1)
	kind := a[1]
	var lat []time.Duration
	jobs := make(chan *task, workers)
	var wg sync.WaitGroup
	var work int64
	if kind == "dynamic" {
		work = argInt("ITERS", a[4], 1)
	} else if kind == "cpu" {
		work = argInt("ITERS", a[4], 1)
	} else {
		work = argInt("USEC", a[4], 1)
	}
	var tasks int64
	if kind != "dynamic" {
		tasks = argInt("TASKS", a[3], 1)
		lat = make([]time.Duration, tasks)
	}
	for i := int64(0); i < workers; i++ {
		wg.Add(1)
		go func(x uint64) {
			defer wg.Done()
			for t := range jobs {
				if kind == "io" {
					blockInKernel(work)
				} else {
					x = cpuChain(work, x)
				}
				now := time.Now()
				j := atomic.AddInt64(&doneCount, 1) - 1
				if lat != nil {
					lat[j] = now.Sub(t.submitted)
				}
			}
			atomic.AddUint64(&sink, x)
		}(uint64(i + 1))
	}

	if kind == "dynamic" {
		runDynamic(jobs, argInt("MS", a[3], 100), a[5:])
		close(jobs)
		wg.Wait()
		return
	}
	t0 := time.Now()
	for i := int64(0); i < tasks; i++ {
		jobs <- &task{time.Now()}
	}
	close(jobs)
	wg.Wait()
	wall := time.Since(t0).Seconds()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	fmt.Printf("%.0f\t%.1f\t%.1f\t%.3f\n", float64(tasks)/wall,
		float64(lat[(tasks-1)/2].Nanoseconds())/1e3,
		float64(lat[(tasks*99-1)/100].Nanoseconds())/1e3, wall)
}

func runDynamic(jobs chan *task, ms int64, rest []string) {
	if len(rest) < 1 {
		fmt.Fprintln(os.Stderr, "gomaxprocs dynamic: needs the P1,P2,... schedule")
		os.Exit(2)
	}
	var procs []int
	for _, s := range strings.Split(rest[0], ",") {
		procs = append(procs, int(argInt("P", s, 1)))
	}
	var producing int32 = 1
	var pwg sync.WaitGroup
	pwg.Add(1)
	go func() {
		defer pwg.Done()
		for atomic.LoadInt32(&producing) == 1 {
			jobs <- &task{time.Now()}
		}
	}()
	bin := 25 * time.Millisecond
	total := time.Duration(ms) * time.Millisecond
	t0 := time.Now()
	phase := -1
	var last int64
	tlast := t0
	// One line per bin of at least 25 ms, as pool.c: a late wake-up only
	// makes the bin longer, and the rate is over the time that passed.
	for now := t0; now.Sub(t0) < total; {
		want := int(int64(now.Sub(t0)) * int64(len(procs)) / int64(total))
		if want != phase {
			phase = want
			runtime.GOMAXPROCS(procs[phase])
		}
		time.Sleep(bin)
		now = time.Now()
		d := atomic.LoadInt64(&doneCount)
		fmt.Printf("%.1f\t%d\t%.0f\n", float64(now.Sub(t0).Nanoseconds())/1e6,
			runtime.GOMAXPROCS(0), float64(d-last)*1e9/float64(now.Sub(tlast).Nanoseconds()))
		last = d
		tlast = now
	}
	atomic.StoreInt32(&producing, 0)
	pwg.Wait()
}
