#!/usr/bin/env bash
# Catalogue row 1: infinite loops and CPU burns (sync, async, in module
# top-level code, an exception loop, a microtask storm, a timer that fires
# after the deadline) are stopped at deadline_ms with a clear error
# (504 EXECUTION_TIMEOUT; the microtask storm may hit the memory limit
# first: 500 OUT_OF_MEMORY), never later; while one slot burns, requests on
# the other slot keep their latency.  On chain the same loop is error code 4
# with totalTime = deadline: tests/integration/t0300 (job "deadline").
. "$(dirname "$0")/lib.sh"
DL=2000 KINDS="sync async toplevel catch microtasks timer burn_math"
quick && DL=1000 KINDS="sync async toplevel microtasks"
adv_start slots=2 deadline_ms=$DL
fid=$(upload "$IT_ROOT/examples/factors.js")

declare -A SRC=(
  [sync]='export default { fetch() { while (true) {} } }'
  [async]='export default { async fetch(r) { await r.text(); for (;;) {} } }'
  [toplevel]='while (true) {}
export default { fetch() { return new Response("never"); } }'
  [catch]='export default { fetch() { for (;;) { try { throw new Error("x"); } catch (e) {} } } }'
  [microtasks]='export default { async fetch() { const f = () => Promise.resolve().then(f); f(); await new Promise((r) => setTimeout(r, 1e6)); } }'
  [timer]='export default { async fetch() { await new Promise((r) => setTimeout(r, 60000)); return new Response("late"); } }'
  [burn_math]='export default { fetch() { let x = 0; for (;;) x = Math.sqrt(x + Math.random()); } }'
)
worst=0
n=0
for k in $KINDS; do
  n=$((n + 1))
  id=$(upload "$(js "$k" "${SRC[$k]}")")
  t0=$(now_ms); run "$id" null; t=$(( $(now_ms) - t0 ))
  adv_attempt
  code=$(jq -r .error.code <<<"$BODY" 2>/dev/null || echo "?")
  if [ "$k" = microtasks ]; then
    mcode="$STATUS $code"
    check "$k: stopped with a clear error ($STATUS $code)" \
      bash -c "[ '$STATUS $code' = '504 EXECUTION_TIMEOUT' ] || [ '$STATUS $code' = '500 OUT_OF_MEMORY' ]"
  else
    eq "$k: 504 EXECUTION_TIMEOUT" "$STATUS $code" "504 EXECUTION_TIMEOUT"
    check "$k: not before the deadline (${t} ms)" test "$t" -ge "$DL"
  fi
  check "$k: stopped within deadline + 1.5 s (${t} ms)" test "$t" -lt $((DL + 1500))
  [ "$t" -gt "$worst" ] && worst=$t
  check "$k: message names the deadline" grep -q "deadline\|memory" <<<"$BODY"
done
adv_note "$n loop kinds stopped: 504 EXECUTION_TIMEOUT (microtask storm: $mcode), slowest answer ${worst} ms for a ${DL} ms deadline; chain code 4: t0300"

# The other slot's latency while one slot burns a core.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
lat() { local t0; for _ in $(seq 1 7); do t0=$(now_ms); run "$fid" '{"num":1001}'; echo $(( $(now_ms) - t0 )); done; }
base=$(lat | median)
burn=$(upload "$(js burn 'export default { fetch() { for (;;) {} } }')")
( curl -s -o /dev/null --max-time 10 "$URL/api/serverless" -d "{\"code_id\":\"$burn\"}" ) &
bpid=$!
busy() { [ "$(curl -s "$URL/healthz" | jq .slots.busy)" = 1 ]; }
_stack_wait "one slot burning" 100 busy || true
during=$(lat | median)
wait "$bpid" || true
adv_attempt
check "other slot's median latency kept (${base} ms idle, ${during} ms beside a burning slot)" \
  test "$during" -le $(( base * 3 > base + 50 ? base * 3 : base + 50 ))
adv_note "other slot p50 ${base} ms idle vs ${during} ms beside the burn"
adv_next 3
