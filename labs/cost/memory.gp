# memory.gp: resident memory per blocked goroutine (or thread) against how
# many are blocked; one line per stage, Go and pthreads.
f = dir.'/spawn.tsv'
series = series_in(f)
set title 'Resident memory per blocked goroutine (RSS growth / N), threads with 64 KiB stacks for scale' font ',13'
set logscale x
set xlabel 'goroutines (or threads) blocked (log scale)'
set ylabel 'resident memory per goroutine (KiB)'
set format x '%.0f'
set autoscale xfix
set offsets graph 0.03, graph 0.03, 0, 0
set yrange [0:*]
set grid lc rgb '#e0e0e0'
set key top right
plot for [s in series] rows(f, s, '') using 2:($5/1024) smooth unique with linespoints lt series_lt(s) title series_title(s), \
     4 with lines lc rgb '#999999' dt 3 title 'one 4 KiB page'
