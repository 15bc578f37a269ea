# workers.gp: the worker-count experiment at GOMAXPROCS = NCPU: throughput
# (top) and p99 latency (bottom), cpu left, io right; each point is the
# run with the highest throughput among its repetitions.
f = dir.'/workers.tsv'
series = series_in(f)
set multiplot layout 2,2 title 'Worker count at GOMAXPROCS='.ncpu.' (= number of CPUs)' font ',13'
set logscale x 2
set xlabel 'workers (goroutines, log scale)'
set grid lc rgb '#e0e0e0'
set key top left
do for [wl in 'cpu io'] {
  set title (wl eq 'cpu' ? 'CPU-bound: throughput' : 'I/O-like: throughput')
  set ylabel 'throughput (tasks/s)'
  unset logscale y
  set yrange [0:*]
  plot for [s in series] best_of(f, s, wl, 4, 6, 6) using 1:2 \
       with linespoints lt series_lt(s) title series_title(s)
}
do for [wl in 'cpu io'] {
  set title (wl eq 'cpu' ? 'CPU-bound: p99 latency' : 'I/O-like: p99 latency')
  set ylabel 'p99 latency (ms, log scale)'
  set logscale y
  set yrange [*:*]
  plot for [s in series] best_of(f, s, wl, 4, 8, 6) using 1:($2/1000) \
       with linespoints lt series_lt(s) title series_title(s)
}
unset multiplot
