# lateness-cdf.gp: the CDF of how late a 1 ms sleep wakes beside a
# spinning goroutine, one curve per (series, configuration): curves.tsv
# names them, cdf.tsv holds their points.
f = dir.'/cdf.tsv'
cf = dir.'/curves.tsv'
n = int(system("awk 'END { print NR - 1 }' '".cf."'"))
field(i, col) = system(sprintf("awk -F'\t' '$2 == \"%d\" { printf \"%%s\", $%d }' '%s'", i, col, cf))
curve(i) = sprintf("< awk -F'\t' 'NR > 1 && $2 == %d' '%s'", i, f)
# dash by configuration: solid preemptive at P=1, dashed a spinner that yields, dotted P=2
dash(c) = strstrt(c, 'P=2') ? 3 : (strstrt(c, 'yields every') ? 2 : 1)
set title 'Wake-up lateness of a 1 ms sleep beside a goroutine that spins without calls' font ',13'
set logscale x
set xlabel 'lateness: woke this much after the 1 ms asked for (ms, log scale)'
set ylabel 'fraction of wake-ups at most this late'
set yrange [0:1.02]
set grid lc rgb '#e0e0e0'
set rmargin -1   # room for the key: the curves fill both corners of the plot
set key outside right top samplen 2 font ',9' width -18
plot for [i = 1:n] curve(i) using 3:4 with steps lt series_lt(field(i, 1)) dt dash(field(i, 3)) \
     title series_title(field(i, 1)).': '.field(i, 3)
