# latency.gp: p50 (solid) and p99 (dashed) task latency, submission to
# completion, against GOMAXPROCS; cpu and io side by side.
f = dir.'/gomaxprocs.tsv'
series = series_in(f)
set multiplot layout 1,2 title 'Task latency (submitted to done) against GOMAXPROCS: p50 solid, p99 dashed' font ',13'
set logscale x 2
set logscale y
set xlabel 'GOMAXPROCS (log scale)'
set ylabel 'latency (ms, log scale)'
set grid lc rgb '#e0e0e0'
set key top right
set title 'CPU-bound tasks'
plot for [s in series] rows(f, s, 'cpu') using 3:($7/1000) smooth unique \
       with linespoints lt series_lt(s) title series_title(s).' p50', \
     for [s in series] rows(f, s, 'cpu') using 3:($8/1000) smooth unique \
       with linespoints lt series_lt(s) dt 2 title series_title(s).' p99'
set title 'I/O-like tasks'
plot for [s in series] rows(f, s, 'io') using 3:($7/1000) smooth unique \
       with linespoints lt series_lt(s) title series_title(s).' p50', \
     for [s in series] rows(f, s, 'io') using 3:($8/1000) smooth unique \
       with linespoints lt series_lt(s) dt 2 title series_title(s).' p99'
unset multiplot
