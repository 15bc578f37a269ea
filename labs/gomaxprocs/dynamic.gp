# dynamic.gp: throughput over time while the program itself calls
# runtime_gomaxprocs (runtime.GOMAXPROCS) at each third of the run.
f = dir.'/dynamic.tsv'
series = series_in(f)
set title 'GOMAXPROCS changed at run time ('.sched.', one phase per third): CPU-bound pool' font ',13'
set xlabel 'time since start (ms)'
set ylabel 'throughput (tasks/s, bins of 25 ms or more)'
set y2label 'GOMAXPROCS reported by the runtime (thin steps)'
set yrange [0:*]
set y2range [0:*]
set y2tics 1
set ytics nomirror
set grid lc rgb '#e0e0e0'
set rmargin 10
set key bottom center horizontal
plot for [s in series] rows(f, s, '') using 2:($4) with lines lt series_lt(s) title series_title(s), \
     for [s in series] rows(f, s, '') using 2:($3) axes x1y2 with steps lt series_lt(s) lw 1 dt 3 notitle
