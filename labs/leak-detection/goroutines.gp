# goroutines.gp: the goroutine count over time for each leak, leaky (solid)
# against fixed with context cancellation (dashed), one line per stage and Go.
f = dir.'/goroutines.tsv'
series = series_in(f)
sel(s, p, v) = sprintf("< awk -F'\t' 'NR>1 && $1==\"%s\" && $2==\"%s\" && $3==\"%s\"' '%s'", s, p, v, f)
set multiplot layout 2,2 title 'Goroutines alive, one request per 5 ms until '.ms.' ms: leaky (solid), fixed with a context (dashed)' font ',13'
set xlabel 'time since start (ms)'
set ylabel 'goroutines (runtime_num_goroutine)'
set yrange [0:*]
set grid lc rgb '#e0e0e0'
set key top left   # one entry per series: its leaky and fixed lines share the colour
names = 'recv ticker worker sender'
titles = "'receive nobody sends on' 'ticker never stopped' 'worker with no cancellation path' 'sender blocked after the caller timed out'"
do for [i = 1:4] {
  p = word(names, i)
  set title word(titles, i)
  plot for [s in series] sel(s, p, 'leaky') using 4:5 with lines lt series_lt(s) title series_title(s), \
       for [s in series] sel(s, p, 'fixed') using 4:5 with lines lt series_lt(s) dt 2 notitle
}
unset multiplot
