#!/usr/bin/env bash
# Turn bench/run.sh's measurements (one JSON object per line) into
# bench/results/latest.md (tables, ratios, targets) and latest.png.
#   report.sh RESULTS.jsonl OUTDIR CHAIN_MARKDOWN SLOTS SAT SECS QUICK WORKLOADS_MD
set -euo pipefail
res=$1 out=$2 chain=$3 slots=$4 sat=$5 secs=$6 quick=$7 wl=$8
ROOT=$(cd "$(dirname "$0")/.." && pwd)
get() { # variant workload conc field
  jq -r --arg v "$1" --arg w "$2" --arg c "$3" --arg f "$4" \
    'select(.variant == $v and .workload == $w and .conc == $c) | .[$f] // empty' "$res" | head -1
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
verdict() { awk -v ok="$1" 'BEGIN { print (ok ? "**met**" : "**missed**") }'; }
mib() { awk -v b="${1:-0}" 'BEGIN { printf "%.0f MiB", b / 1048576 }'; }
declare -A NAME=(
  [a]="a. bare workerd, fresh process per request"
  [b]="b. bare workerd, warm, code baked in"
  [c]="c. stack (nginx), process mode"
  [d]="d. stack (nginx), pool, new isolate"
  [e]="e. stack (nginx), pool, isolate reuse"
  [f]="f. sandbox call alone (pool slots in turn, no HTTP)"
)
workloads=$(jq -r .workload "$res" | awk '!seen[$0]++')
{
  echo "# Benchmark results"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet -- . ':!bench/results' 2>/dev/null || echo ' (with local changes)'),"
  echo "$(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), kernel $(uname -r), workerd $("$ROOT/node_modules/@cloudflare/workerd-linux-64/bin/workerd" --version | awk '{print $2}')."
  echo "${secs}s per measurement; concurrency 1 = one connection; saturation = $sat connections"
  echo "(load average when the report was written: $(cut -d' ' -f1-3 /proc/loadavg); anything else running on"
  echo "the machine shows up in the latencies and in CPU per request)"
  echo "($slots slots for the stack, $slots bare processes for a and b).$([ "$quick" = 1 ] && echo ' **Quick run** (make bench-quick): prime factors only.')"
  echo
  echo "Workloads:"
  echo
  cat "$wl"
  echo
  echo "CPU per request: the machine's busy CPU time during the measurement, less the"
  echo "load generator's own, divided by the requests (so nginx, the handlers and"
  echo "workerd are all in it). Peak memory per slot: the largest workerd RSS"
  echo "(a, b, d, e; VmHWM) or, for c whose workerds are gone, the slot cgroup's"
  echo "peak of its last run."
  echo
  echo "d and f run with the default pool_prepare = on: after a slot has run a code"
  echo "twice in a row, the isolate for its next request is made while the slot is"
  echo "idle (still one new isolate per request). At concurrency 1 the next request"
  echo "follows the reply at once, so that making (about 8 ms of workerd CPU) still"
  echo "competes with the requests for the 2 cores."
  for w in $workloads; do
    echo
    echo "## $w"
    echo
    echo "| variant | c=1 p50 ms | c=1 p99 ms | c=1 req/s | sat p50 ms | sat p99 ms | sat req/s | CPU ms/req (sat) | peak mem/slot | errors |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for v in a b c d e f; do
      [ -n "$(get "$v" "$w" 1 requests)" ] || continue
      e1=$(get "$v" "$w" 1 errors); es=$(get "$v" "$w" sat errors)
      errs=$(( ${e1:-0} + ${es:-0} ))
      printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "${NAME[$v]}" \
        "$(get "$v" "$w" 1 p50_ms)" "$(get "$v" "$w" 1 p99_ms)" "$(get "$v" "$w" 1 rps)" \
        "$(get "$v" "$w" sat p50_ms)" "$(get "$v" "$w" sat p99_ms)" "$(get "$v" "$w" sat rps)" \
        "$(get "$v" "$w" sat cpu_ms_per_req)$([ "$v" = f ] && get f "$w" 1 cpu_ms_per_req | sed 's/^/c=1: /')" \
        "$(mib "$(get "$v" "$w" 1 peak_bytes)")" "$errs"
    done
    echo
    echo "Ratios: c/a p50 $(ratio "$(get c "$w" 1 p50_ms)" "$(get a "$w" 1 p50_ms)"),"\
      "a/c throughput $(ratio "$(get a "$w" sat rps)" "$(get c "$w" sat rps)");"\
      "d/c throughput $(ratio "$(get d "$w" sat rps)" "$(get c "$w" sat rps)");"\
      "e/b throughput $(ratio "$(get e "$w" sat rps)" "$(get b "$w" sat rps)");"\
      "stack overhead d - f at p50: $(awk -v d="$(get d "$w" 1 p50_ms)" -v f="$(get f "$w" 1 p50_ms)" 'BEGIN { printf "%.2f ms", d - f }');"\
      "per request (latency less its own sandbox time, c=1): d p50 $(get d "$w" 1 overhead_p50_ms) ms, p99 $(get d "$w" 1 overhead_p99_ms) ms;"\
      "e p50 $(get e "$w" 1 overhead_p50_ms) ms, p99 $(get e "$w" 1 overhead_p99_ms) ms."
  done
  w=factors
  dp50=$(get d $w 1 p50_ms); cp50=$(get c $w 1 p50_ms); ap50=$(get a $w 1 p50_ms); fp50=$(get f $w 1 p50_ms)
  drps=$(get d $w sat rps); crps=$(get c $w sat rps); arps=$(get a $w sat rps)
  erps=$(get e $w sat rps); brps=$(get b $w sat rps)
  echo
  echo "## Targets (prime factors)"
  echo
  echo "| target | measured | |"
  echo "|---|---|---|"
  echo "| pool, new isolate, c=1: p50 through nginx <= 8 ms | $dp50 ms | $(verdict "$(awk -v x="$dp50" 'BEGIN { print (x <= 8) }')") |"
  echo "| pool at saturation >= 5x process mode req/s (d/c) | $(ratio "$drps" "$crps")x ($drps vs $crps req/s) | $(verdict "$(awk -v d="$drps" -v c="$crps" 'BEGIN { print (d >= 5 * c) }')") |"
  echo "| isolate reuse >= 40% of bare warm workerd req/s (e/b) | $(awk -v e="$erps" -v b="$brps" 'BEGIN { printf "%.0f%%", 100 * e / b }') ($erps vs $brps req/s) | $(verdict "$(awk -v e="$erps" -v b="$brps" 'BEGIN { print (e >= 0.4 * b) }')") |"
  echo "| process mode within 1.2x of the bare-process floor, c=1 p50 (c/a) | $(ratio "$cp50" "$ap50")x ($cp50 vs $ap50 ms) | $(verdict "$(awk -v c="$cp50" -v a="$ap50" 'BEGIN { print (c <= 1.2 * a) }')") |"
  echo "| process mode within 1.2x of the bare-process floor, saturation (a/c req/s) | $(ratio "$arps" "$crps")x ($arps vs $crps req/s) | $(verdict "$(awk -v c="$crps" -v a="$arps" 'BEGIN { print (a <= 1.2 * c) }')") |"
  dov=$(get d $w 1 overhead_p50_ms)
  echo "| stack overhead over the sandbox call < 1 ms at p50, per request (d: latency less its own Server-Timing sandbox time) | ${dov:-not measured} ms | $(verdict "$(awk -v o="${dov:-99}" 'BEGIN { print (o < 1) }')") |"
  echo "| the same from two runs (d p50 - f p50; d's run also has nginx, the handlers and wrk competing for the 2 cores) | $(awk -v d="$dp50" -v f="$fp50" 'BEGIN { printf "%.2f ms (%s vs %s)", d - f, d, f }') | $(verdict "$(awk -v d="$dp50" -v f="$fp50" 'BEGIN { print (d - f < 1) }')") |"
  if [ -n "$chain" ]; then
    echo
    echo "## Chain path"
    echo
    echo "$chain"
  fi
} >"$out/latest.md"

# Data for the plot: workload, then sat req/s and c=1 p50 for a..e.
{
  echo "# workload a b c d e (sat req/s) a b c d e (c=1 p50 ms)"
  for w in $workloads; do
    printf '%s' "$w"
    for v in a b c d e; do printf ' %s' "$(get "$v" "$w" sat rps || echo 0)"; done
    for v in a b c d e; do printf ' %s' "$(get "$v" "$w" 1 p50_ms || echo 0)"; done
    echo
  done
} >"$out/latest.dat"
gnuplot -e "datafile='$out/latest.dat'; outfile='$out/latest.png'" "$(dirname "$0")/plot.gp"
