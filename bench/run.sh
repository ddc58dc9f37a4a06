#!/usr/bin/env bash
# The benchmark: the same workloads through five ways of running them, at
# concurrency 1 and at saturation, in one run on this machine, side by side.
#
#   a  bare workerd, a fresh process per request (the original's floor):
#      bench/oyster-bench spawn, no nginx, no cgroup
#   b  bare workerd kept warm with the code baked in (the upper bound):
#      SLOTS workerd processes sharing one listening socket, wrk in front
#   c  our stack through nginx, sandbox_mode = process
#   d  our stack through nginx, sandbox_mode = pool, a new isolate per request
#      (prepared while the slot is idle: pool_prepare is on by default)
#   e  our stack through nginx, pool mode, code uploaded with ?isolate=reuse
#   f  the sandbox call itself (sb_run on SLOTS pool slots taken in turn, as
#      the stack's handlers take connections, no HTTP): d minus f is what
#      nginx + FastCGI + the handler add
# and for d and e, per request: each request's latency less its own sandbox
# time (the Server-Timing header), one connection (oyster-bench http)
#
# Workloads: the prime-factor example, a 1 MB JSON echo, about 50 ms of CPU,
# and the WASM example.  Figures: p50/p99 latency and requests/s (wrk or
# oyster-bench), CPU per request (the whole machine's busy time over the
# run, less the load generator's own, per request), peak memory per slot.
# Then the chain path (bench/chain.sh).  Writes bench/results/latest.md,
# latest.dat and latest.png (gnuplot).
#
#   BENCH_QUICK=1   prime factors only, short runs, no chain: under a minute
#   BENCH_SECONDS   whole seconds per measurement (default 5, quick 2)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/stack-lib.sh"
BENCH=$ROOT/bench
TOOL=${OYSTER_BENCH:-$ROOT/build/bin/oyster-bench}
QUICK=${BENCH_QUICK:-0}
SECS=${BENCH_SECONDS:-$([ "$QUICK" = 1 ] && echo 2 || echo 5)}  # whole seconds (wrk)
SLOTS=${BENCH_SLOTS:-4}
SAT=$((SLOTS * 2))          # connections at saturation
OUT=$BENCH/results
HZ=$(getconf CLK_TCK)
mkdir -p "$OUT"
W=$(mktemp -d /tmp/oyster-bench.XXXXXX)
BARE_PIDS=()
cleanup() {
  set +e
  for p in "${BARE_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  for n in "$W"/node-*; do [ -d "$n" ] && stack_stop "$n"; done
  rm -rf "$W"
}
trap cleanup EXIT
for t in wrk gnuplot jq; do command -v $t >/dev/null || { echo "bench: $t missing (make bench installs it)" >&2; exit 1; }; done

# ---- workloads: name, code, worker input, expected answer (jq filter) ----
awk 'BEGIN { printf "{\"items\":["; for (i = 0; i < 21000; i++) printf "%s{\"id\":%d,\"name\":\"item-%06d\",\"tags\":[\"a\",\"b\"]}", (i ? "," : ""), i, i; print "]}" }' >"$W/echo-input.json"
declare -A CODE INPUT CHECK DESC
CODE[factors]=$ROOT/examples/factors.js; INPUT[factors]='{"num":1000001}'; CHECK[factors]='.factors == [101,9901]'
DESC[factors]="prime factors of 1000001"
CODE[echo1m]=$BENCH/workloads/echo.js; INPUT[echo1m]=@$W/echo-input.json; CHECK[echo1m]='.items | length == 21000'
DESC[echo1m]="echo of a $(($(stat -c %s "$W/echo-input.json") / 1024)) KiB JSON body"
CODE[cpu50]=$BENCH/workloads/cpu.js; INPUT[cpu50]='{"n":8000000}'; CHECK[cpu50]='.x >= 0'
DESC[cpu50]="8M iterations of integer arithmetic (about 50 ms of CPU)"
CODE[wasm]=$ROOT/examples/wasm-bundle.json; INPUT[wasm]='{"a":2,"b":40}'; CHECK[wasm]='.sum == 42'
DESC[wasm]="JS calling a WebAssembly export"
WORKLOADS=(factors echo1m cpu50 wasm)
[ "$QUICK" = 1 ] && WORKLOADS=(factors)

input_file() { # workload -> file with the worker's input
  local v=${INPUT[$1]}
  if [ "${v:0:1}" = @ ]; then echo "${v:1}"; else printf '%s' "$v" >"$W/in-$1.json"; echo "$W/in-$1.json"; fi
}
stack_body() { # workload code_id -> file with the /api/serverless body
  { printf '{"code_id":"%s","input":' "$2"; cat "$(input_file "$1")"; printf '}'; } >"$W/body-$1-$2.json"
  echo "$W/body-$1-$2.json"
}

busy_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# measure LABEL CMD... : run CMD (which prints one JSON line, possibly
# prefixed "BENCH "), add cpu_ms_per_req from the machine's busy time less
# the command's own CPU (children of the subshell), print the JSON.
measure() {
  local b0 b1 line self
  b0=$(busy_jiffies)
  line=$( ( "$@" | sed -n 's/^BENCH //; /^{/p'; times ) 2>/dev/null)
  b1=$(busy_jiffies)
  # `times`: second line = children user and system time (e.g. 0m1.230s 0m0.410s)
  self=$(sed -n '$p' <<<"$line" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] } print t * 1000 }')
  line=$(grep '^{' <<<"$line" | head -1)
  [ -n "$line" ] || { echo '{"requests":0,"errors":1,"rps":0,"p50_ms":0,"p99_ms":0,"cpu_ms_per_req":0}'; return; }
  jq -c --argjson busy "$(( (b1 - b0) * 1000 / HZ ))" --argjson self "$self" '
    . as $r | ($r.self_cpu_ms // 0) as $tool |
    # oyster-bench counts its own CPU (self) apart from workerd (children)
    ($busy - (if $r.child_cpu_ms then $tool else $self end)) as $server |
    $r + { cpu_ms_per_req: (if $r.requests > 0 then ($server / $r.requests * 100 | round / 100) else 0 end) }' <<<"$line"
}

RESULTS=$W/results.jsonl
record() { # variant workload conc json
  jq -c --arg v "$1" --arg w "$2" --arg c "$3" '. + { variant: $v, workload: $w, conc: $c }' <<<"$4" >>"$RESULTS"
  printf '  %-2s %-8s %-4s %s\n' "$1" "$2" "$3" "$(jq -r '"p50 \(.p50_ms) ms  p99 \(.p99_ms) ms  \(.rps) req/s  cpu \(.cpu_ms_per_req) ms/req  errors \(.errors)"' <<<"$4")"
}

wrk_run() { # url body conns
  local t=1; [ "$3" -gt 1 ] && t=2
  BENCH_BODY=$2 BENCH_PATH=${4:-/} wrk -t"$t" -c"$3" -d"${SECS}s" --timeout 30s -s "$BENCH/wrk.lua" "$1"
}

peak_rss() { # pids... -> largest VmHWM in bytes
  local p m=0 v
  for p in "$@"; do
    v=$(awk '/^VmHWM:/ { print $2 * 1024 }' "/proc/$p/status" 2>/dev/null || echo 0)
    [ "${v:-0}" -gt "$m" ] && m=$v
  done
  echo "$m"
}

echo "bench: $(nproc) CPUs, $SLOTS slots, saturation = $SAT connections, ${SECS}s per measurement"

# ---- a, b: bare workerd ----------------------------------------------------
# Each is measured right before the stack variant it is compared with (a
# before c, b before e), and f right after d: this machine's speed drifts
# by up to 30% over minutes, and a ratio of two figures taken minutes
# apart measured the drift as much as the stack.
bare_a() { # workload
  local w=$1 in
  "$TOOL" prepare "${CODE[$w]}" "$W/bare-$w"
  in=$(input_file "$w")
  echo "[$w] a: bare workerd, fresh process per request"
  record a "$w" 1 "$(measure "$TOOL" spawn "$OYSTER_WORKERD" "$W/bare-$w" "$in" 1 "$SECS")"
  record a "$w" sat "$(measure "$TOOL" spawn "$OYSTER_WORKERD" "$W/bare-$w" "$in" "$SLOTS" "$SECS")"
}

bare_b() { # workload
  local w=$1 in port url wpids r1 rs pk
  "$TOOL" prepare "${CODE[$w]}" "$W/bare-$w"
  in=$(input_file "$w")
  echo "[$w] b: bare workerd, warm, code baked in"
  port=$(_stack_pick_port)
  # One listening socket shared by SLOTS warm workerds (fd 3 each).
  "$TOOL" warm "$OYSTER_WORKERD" "$W/bare-$w" "$port" "$SLOTS" &
  BARE_PIDS=($!)
  url=http://127.0.0.1:$port
  _stack_wait "bare workerd" 200 curl -sf -o /dev/null "$url/" -d @"$in"
  curl -sf "$url/" -d @"$in" | jq -e "${CHECK[$w]}" >/dev/null || echo "bench: $w: unexpected answer from bare workerd" >&2
  wpids=$(pgrep -P "${BARE_PIDS[0]}" || true)
  r1=$(measure wrk_run "$url" "$in" 1)
  rs=$(measure wrk_run "$url" "$in" "$SAT")
  # shellcheck disable=SC2086
  pk=$(peak_rss $wpids)
  record b "$w" 1 "$(jq -c --argjson p "$pk" '. + {peak_bytes: $p}' <<<"$r1")"
  record b "$w" sat "$(jq -c --argjson p "$pk" '. + {peak_bytes: $p}' <<<"$rs")"
  kill "${BARE_PIDS[0]}"; wait "${BARE_PIDS[0]}" 2>/dev/null || true
  BARE_PIDS=()
}

sandbox_f() { # workload: the sandbox call itself (pool slots, no HTTP)
  echo "[$1] f: sb_run on $SLOTS pool slots in turn, no HTTP"
  record f "$1" 1 "$(OYSTER_BENCH_JAIL=$(_stack_conf_get "$W/node-d" sandbox_user) OYSTER_BENCH_SLOTS=$SLOTS \
    measure "$TOOL" sandbox "$OYSTER_WORKERD" pool "${CODE[$1]}" "$(input_file "$1")" "$SECS")"
}

# ---- c, d, e: our stack through nginx ----------------------------------------
stack_variant() { # variant mode isolate(new|reuse)
  local v=$1 mode=$2 iso=$3 node=$W/node-$1 url id body q=""
  stack_init "$node" sandbox_mode="$mode" slots="$SLOTS" log_level=warn queue_timeout_ms=30000 \
    deadline_ms=20000 max_connections=1000 >/dev/null
  stack_start "$node"
  url=$(stack_url "$node")
  [ "$iso" = reuse ] && q="?isolate=reuse"
  for w in "${WORKLOADS[@]}"; do
    case ${CODE[$w]} in *.json) ct=application/json;; *) ct=application/javascript;; esac
    id=$(curl -sf -H "Content-Type: $ct" --data-binary @"${CODE[$w]}" "$url/api/code$q" | jq -r .code_id)
    body=$(stack_body "$w" "$id")
    curl -sf "$url/api/serverless" -d @"$body" | jq -e "${CHECK[$w]}" >/dev/null ||
      echo "bench: $w: unexpected answer from variant $v" >&2
    case $v in c) bare_a "$w";; e) bare_b "$w";; esac
    echo "[$w] $v: stack, $mode mode, $iso isolate"
    local r1 rs pk=0 p
    r1=$(measure wrk_run "$url" "$body" 1 /api/serverless)
    rs=$(measure wrk_run "$url" "$body" "$SAT" /api/serverless)
    if [ "$mode" = pool ]; then
      # Each request's latency less its own sandbox time (Server-Timing),
      # one connection: what nginx, FastCGI and the handler add to it.
      echo "[$w] $v: per-request overhead (oyster-bench http)"
      ov=$("$TOOL" http "${url##*:}" /api/serverless "$body" "$SECS" | sed -n 's/^BENCH-OVERHEAD //p')
      [ -n "$ov" ] && r1=$(jq -c --argjson o "$ov" '. + $o' <<<"$r1")
      jq -r '"  per request: overhead p50 \(.overhead_p50_ms // "?") ms  p99 \(.overhead_p99_ms // "?") ms"' <<<"$r1"
    fi
    if [ "$mode" = pool ]; then
      # shellcheck disable=SC2046
      pk=$(peak_rss $(stack_workerd_pids "$node"))
    else
      # process mode: the workerds are gone; the slots' cgroup peak of their last run
      for p in /sys/fs/cgroup/memory/oyster/"$(sed -n 's/^instance = //p' "$node/executor.conf")"/slot*/memory.max_usage_in_bytes; do
        [ -f "$p" ] && [ "$(cat "$p")" -gt "$pk" ] && pk=$(cat "$p")
      done
    fi
    record "$v" "$w" 1 "$(jq -c --argjson p "$pk" '. + {peak_bytes: $p}' <<<"$r1")"
    record "$v" "$w" sat "$(jq -c --argjson p "$pk" '. + {peak_bytes: $p}' <<<"$rs")"
    if [ "$v" = d ]; then sandbox_f "$w"; fi
  done
  stack_stop "$node"
}
stack_variant c process new
stack_variant d pool new
stack_variant e pool reuse

# ---- chain path ---------------------------------------------------------------
CHAIN_MD=""
if [ "$QUICK" != 1 ] && [ "${BENCH_CHAIN:-1}" = 1 ]; then
  echo "[chain] JobCreated available -> submitOutput sent"
  CHAIN_MD=$("$BENCH/chain.sh" "${BENCH_CHAIN_JOBS:-15}") || CHAIN_MD="chain measurement failed"
fi

# ---- report -------------------------------------------------------------------
for w in "${WORKLOADS[@]}"; do echo "- $w: ${DESC[$w]}"; done >"$W/workloads.md"
"$BENCH/report.sh" "$RESULTS" "$OUT" "$CHAIN_MD" "$SLOTS" "$SAT" "$SECS" "$QUICK" "$W/workloads.md"
cat "$OUT/latest.md"
echo "bench: wrote $OUT/latest.md and $OUT/latest.png"
