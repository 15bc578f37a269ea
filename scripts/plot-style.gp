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
