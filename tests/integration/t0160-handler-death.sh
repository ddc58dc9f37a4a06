#!/usr/bin/env bash
# A killed handler (idle or mid-request) is replaced; its slot is cleaned
# and serves again; the restart shows in /metrics.
. "$(dirname "$0")/lib.sh"
it_start slots=2 deadline_ms=5000

fid=$(upload "$IT_ROOT/examples/factors.js")
loop=$(upload "$(js loop 'export default { fetch() { while (true) {} } }')")
master=$(cat "$IT_DIR/node/fcgi.pid")

# Kill an idle handler.
victim=$(pgrep -P "$master" | head -1)
kill -KILL "$victim"
_stack_wait "handler replaced" 100 bash -c "[ \$(pgrep -P $master | wc -l) -ge 3 ] && ! kill -0 $victim"
check "idle handler replaced" test "$(pgrep -P "$master" | wc -l)" -ge 3

# Kill the handler running a request: nginx answers 502 at once, the slot's workerd dies with it.
( curl -s -o "$IT_DIR/k.out" -w '%{http_code}' --max-time 20 "$URL/api/serverless" \
    -d "{\"code_id\":\"$loop\",\"input\":null}" >"$IT_DIR/k.status" ) &
cpid=$!
has_workerd() { [ -n "$(stack_workerd_pids "$IT_DIR/node")" ]; }
_stack_wait "workerd running" 100 has_workerd
wk=$(busy_workerd)
owner=$(ps -o ppid= -p "$wk" | tr -d ' ')
t0=$(now_ms)
kill -KILL "$owner"
wait "$cpid"
t=$(( $(now_ms) - t0 ))
eq "in-flight request gets 502" "$(cat "$IT_DIR/k.status")" 502
eq "as JSON" "$(jq -r .error.code "$IT_DIR/k.out")" UPSTREAM_UNAVAILABLE
check "at once, not at the deadline (${t} ms)" test "$t" -lt 2000
_stack_wait "orphan workerd gone" 100 bash -c "! kill -0 $wk"
check "the dead handler's workerd is gone" bash -c "! kill -0 $wk"

for i in 1 2 3 4; do
  run "$fid" '{"num":77}'
  eq "request $i after the kills" "$(jq -c .factors <<<"$BODY")" "[7,11]"
done
restarts=$(curl -s "$URL/metrics" | awk '/^oyster_handler_restarts_total/ {print $2}')
eq "restarts counted" "$restarts" 2
