# plot-style.gp: the look shared by gort's gnuplot figures (scripts/trace2png
# loads it after choosing the terminal). Keep it to style: no data, no ranges.
set encoding utf8
set border 3 lw 1 lc rgb '#404040'
set tics nomirror out scale 0.6 textcolor rgb '#303030'
set xlabel textcolor rgb '#303030'
set ylabel textcolor rgb '#303030'
set title font ',13' textcolor rgb '#202020'
set key noenhanced
set lmargin 14
set rmargin 4

# Series colours shared by the labs (scripts/labplot): one per stage, the
# same in every plot, Go always blue-grey, baselines in greys and browns.
# A lab's TSV names its series gort-NN, go, or a baseline's name;
# series_lt(s) gives its linetype and series_title(s) its legend entry.
set linetype 1 lc rgb '#d62728' lw 2 pt 7 ps 0.8    # stage 01
set linetype 2 lc rgb '#ff7f0e' lw 2 pt 5 ps 0.8    # stage 02
set linetype 3 lc rgb '#2ca02c' lw 2 pt 9 ps 0.9    # stage 03
set linetype 4 lc rgb '#9467bd' lw 2 pt 11 ps 0.9   # stage 04
set linetype 5 lc rgb '#8c564b' lw 2 pt 13 ps 0.9   # stage 05
set linetype 6 lc rgb '#e377c2' lw 2 pt 3 ps 0.9    # stage 06
set linetype 7 lc rgb '#17becf' lw 2 pt 1 ps 0.9    # stage 07
set linetype 8 lc rgb '#bcbd22' lw 2 pt 2 ps 0.9    # stage 08
set linetype 9 lc rgb '#1f3f77' lw 2 pt 6 ps 0.9    # go
set linetype 10 lc rgb '#7f7f7f' lw 2 pt 4 ps 0.8   # baseline
set linetype 11 lc rgb '#4d4d4d' lw 2 pt 8 ps 0.8   # baseline
set linetype 12 lc rgb '#a0522d' lw 2 pt 10 ps 0.8  # baseline
series_lt(s) = (s eq 'go') ? 9 : (strstrt(s, 'gort-') == 1 ? int(substr(s, 6, 7)) : 10)
series_title(s) = (s eq 'go') ? 'Go' : (strstrt(s, 'gort-') == 1 ? 'gort stage '.substr(s, 6, 7) : s)
set key noenhanced

# Helpers for the lab scripts, which read TSV files whose first column is
# the series (and whose second, in some, the workload):
#   series_in(f)   the series of file f, in order of first appearance
#   rows(f, s, k)  a data source: the rows of f whose series is s and
#                  (unless k is '') whose second column is k; header dropped
series_in(f) = system(sprintf("awk -F'\t' 'NR>1 && !s[$1]++ {printf \"%%s \", $1}' '%s'", f))
rows(f, s, k) = sprintf("< awk -F'\t' 'NR>1 && $1==\"%s\" && (\"%s\"==\"\" || $2==\"%s\")' '%s'", s, k, k, f)
#   best_of(f, s, k, xc, yc, bc)
#                  a data source of two columns: each value of column xc
#                  among those rows (in order of first appearance), and
#                  column yc of the row, among those that share it, with
#                  the highest column bc. A lab that repeats each point and
#                  plots its best run (bc: throughput) shows the run least
#                  disturbed by other jobs on a shared machine: they can
#                  only slow a run down
best_of(f, s, k, xc, yc, bc) = sprintf("< awk -F'\t' 'NR>1 && $1==\"%s\" && (\"%s\"==\"\" || $2==\"%s\") { x=$%d; if (!(x in b)) o[++m]=x; if (!(x in b) || $%d+0 > b[x]) { b[x]=$%d+0; y[x]=$%d } } END { for (i=1; i<=m; i++) printf \"%%s\\t%%s\\n\", o[i], y[o[i]] }' '%s'", s, k, k, int(xc), int(bc), int(bc), int(yc), f)
