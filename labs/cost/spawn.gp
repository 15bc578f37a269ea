# spawn.gp: time to start one goroutine (or thread) and see it blocked,
# against how many are started; one line per stage, Go, and pthreads.
f = dir.'/spawn.tsv'
series = series_in(f)
set title 'Starting N goroutines that each block on a channel (GOMAXPROCS='.ncpu.'); threads for scale' font ',13'
set logscale xy
set xlabel 'goroutines (or threads) started (log scale)'
set ylabel 'time per goroutine (ns, log scale)'
set format x '%.0f'
set autoscale xfix
set offsets graph 0.03, graph 0.03, 0, 0
set grid lc rgb '#e0e0e0'
set key top left
plot for [s in series] rows(f, s, '') using 2:4 smooth unique with linespoints lt series_lt(s) title series_title(s)
