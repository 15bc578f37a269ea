# latency.gp: p50 (solid) and p99 (dashed) task latency, submission to
# completion, against GOMAXPROCS; cpu and io side by side; each point is
# the run with the highest throughput among its repetitions.
f = dir.'/gomaxprocs.tsv'
series = series_in(f)
set multiplot layout 1,2 title 'Task latency (submitted to done) against GOMAXPROCS: p50 solid, p99 dashed' font ',13'
set logscale x 2
set logscale y
set xlabel 'GOMAXPROCS (log scale)'
set ylabel 'latency (ms, log scale)'
set grid lc rgb '#e0e0e0'
set key bottom left   # one entry per series: p50 and p99 share its colour
set title 'CPU-bound tasks'
plot for [s in series] best_of(f, s, 'cpu', 3, 7, 6) using 1:($2/1000) \
       with linespoints lt series_lt(s) title series_title(s), \
     for [s in series] best_of(f, s, 'cpu', 3, 8, 6) using 1:($2/1000) \
       with linespoints lt series_lt(s) dt 2 notitle
set title 'I/O-like tasks'
plot for [s in series] best_of(f, s, 'io', 3, 7, 6) using 1:($2/1000) \
       with linespoints lt series_lt(s) title series_title(s), \
     for [s in series] best_of(f, s, 'io', 3, 8, 6) using 1:($2/1000) \
       with linespoints lt series_lt(s) dt 2 notitle
unset multiplot
