# switch.gp: the price of one switch, as bars on a log scale: gort (each
# stage), Go, ucontext, OS threads.
f = dir.'/switch.tsv'
# one bar per (series, mechanism), the mean of the runs, in file order
bars = '< awk -F"\t" '."'".'NR>1 { k=$1" "$2; if (!(k in n)) o[++m]=k; n[k]++; s[k]+=$4 } END { for (i=1;i<=m;i++) { split(o[i],a," "); printf "%s\t%s\t%.1f\n", a[1], a[2], s[o[i]]/n[o[i]] } }'."' '".f."'"
set title 'The price of one switch (two goroutines, contexts or threads taking turns)' font ',13'
set rmargin 4
set bmargin 14
set style fill solid 0.85 noborder
set boxwidth 0.7
set logscale y
set yrange [1:*]
set ylabel 'time per switch (ns, log scale)'
set xlabel 'mechanism'
set xtics rotate by 40 right
set grid ytics lc rgb '#e0e0e0'
unset key
what(s, m) = (m eq 'gosched') ? series_title(s).': Gosched' : \
             (m eq 'pingpong') ? series_title(s).': channel hand-off' : \
             (m eq 'ucontext') ? 'ucontext: swapcontext' : \
             (m eq 'yield') ? 'threads: sched_yield (1 CPU)' : 'threads: condvar hand-off'
plot bars using 0:3:(series_lt(strcol(1))):xtic(what(strcol(1), strcol(2))) with boxes lc variable, \
     bars using 0:3:(sprintf('%.0f', $3)) with labels offset 0,0.7 notitle
