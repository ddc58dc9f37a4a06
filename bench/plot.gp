# bench/report.sh: requests/s at saturation and p50 at concurrency 1, per
# workload, for the five variants (a..e), log scales.
set terminal pngcairo size 1200,520 font "sans,10"
set output outfile
set multiplot layout 1,2
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set grid ytics
set key top left font ",9"
set xtics nomirror
set title "requests/s at saturation (higher is better)"
set ylabel "req/s"
plot datafile using 2:xtic(1) title "a bare, fresh process", \
     '' using 3 title "b bare, warm", \
     '' using 4 title "c stack, process", \
     '' using 5 title "d stack, pool", \
     '' using 6 title "e stack, pool reuse"
set title "p50 latency at concurrency 1 (lower is better)"
set ylabel "ms"
plot datafile using 7:xtic(1) title "a bare, fresh process", \
     '' using 8 title "b bare, warm", \
     '' using 9 title "c stack, process", \
     '' using 10 title "d stack, pool", \
     '' using 11 title "e stack, pool reuse"
unset multiplot
