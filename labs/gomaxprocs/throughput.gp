# throughput.gp: tasks per second against GOMAXPROCS, cpu and io side by
# side, one line per stage and Go (each point the best of its runs: the highest throughput).
f = dir.'/gomaxprocs.tsv'
series = series_in(f)
set multiplot layout 1,2 title 'Worker pool throughput against GOMAXPROCS ('.ncpu.' CPUs, '.(10*ncpu).' workers)' font ',13'
set logscale x 2
set xlabel 'GOMAXPROCS (log scale)'
set ylabel 'throughput (tasks/s)'
set yrange [0:*]
set grid lc rgb '#e0e0e0'
set key bottom right
set title 'CPU-bound tasks (multiply-add chain, ~70 us each)'
plot for [s in series] best_of(f, s, 'cpu', 3, 6, 6) using 1:2 \
     with linespoints lt series_lt(s) title series_title(s)
set title 'I/O-like tasks (0.5 ms blocking nanosleep each)'
plot for [s in series] best_of(f, s, 'io', 3, 6, 6) using 1:2 \
     with linespoints lt series_lt(s) title series_title(s)
unset multiplot
