# lateness-cdf.gp: the CDF of how late a 1 ms sleep wakes beside a
# spinning goroutine, one curve per (series, configuration): curves.tsv
# names them, cdf.tsv holds their points. Two panels, GOMAXPROCS=1 above
# and GOMAXPROCS=2 below, so that no panel carries more than six curves,
# each with its legend below the data, not over it (the book shows the
# plot about 850 px wide: drawn at 900, its text keeps its size).
f = dir.'/cdf.tsv'
cf = dir.'/curves.tsv'
field(i, col) = system(sprintf("awk -F'\t' '$2 == \"%d\" { printf \"%%s\", $%d }' '%s'", i, col, cf))
curve(i) = sprintf("< awk -F'\t' 'NR > 1 && $2 == %d' '%s'", i, f)
# the curves whose configuration starts with P=1 (or P=2)
ids(p) = system(sprintf("awk -F'\t' 'NR > 1 && index($3, \"%s\") == 1 { printf \"%%s \", $2 }' '%s'", p, cf))
# dash by configuration: solid preemptive, dashed a spinner that yields
dash(c) = strstrt(c, 'yields every') ? 2 : 1
# the legend entry without the P=N the panel's title already says
cfg0(c) = (strstrt(c, ', ') > 0) ? substr(c, strstrt(c, ', ') + 2, strlen(c)) : c
cfg(c) = (strstrt(cfg0(c), 'spinner ') > 0) ? substr(cfg0(c), 1, strstrt(cfg0(c), 'spinner ') - 1).'spinner: '.substr(cfg0(c), strstrt(cfg0(c), 'spinner ') + 8, strlen(cfg0(c))) : cfg0(c)
set logscale x
set xrange [0.001:1000]
set format x '%g'
set yrange [0:1.02]
set grid lc rgb '#e0e0e0'
set key outside below center vertical maxrows 8 samplen 3 spacing 1.15 font ',12' noenhanced Left reverse
set tics font ',12'
set multiplot layout 2,1 title 'Wake-up lateness of a 1 ms sleep beside a goroutine that spins without calls' font ',15'
set lmargin 12
set rmargin 3
set ylabel 'fraction woken at most this late' font ',12'
set xlabel ''
set title 'GOMAXPROCS=1: the spinner and the sleeper share one P' font ',13'
p1 = ids('P=1')
plot for [i in p1] curve(int(i)) using 3:4 with steps lw 2.5 lt series_lt(field(int(i), 1)) dt dash(field(int(i), 3)) \
     title series_title(field(int(i), 1)).': '.cfg(field(int(i), 3))
set title 'GOMAXPROCS=2: a second P is free for the sleeper' font ',13'
set xlabel 'lateness: woke this much after the 1 ms asked for (ms, log scale)' font ',12'
p2 = ids('P=2')
if (strlen(p2) > 0) {
  plot for [i in p2] curve(int(i)) using 3:4 with steps lw 2.5 lt series_lt(field(int(i), 1)) dt dash(field(int(i), 3)) \
       title series_title(field(int(i), 1)).': '.cfg(field(int(i), 3))
}
unset multiplot
