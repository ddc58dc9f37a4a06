#!/usr/bin/env bash
# With every slot busy, a request waits up to queue_timeout_ms and then gets
# 503 BUSY: never a hang.  /healthz still answers meanwhile.
. "$(dirname "$0")/lib.sh"
it_start slots=1 queue_timeout_ms=300 deadline_ms=3000

slow=$(upload "$(js slow 'export default { fetch() { const t = Date.now(); while (Date.now() - t < 1500) {} return new Response("done"); } }')")
fid=$(upload "$IT_ROOT/examples/factors.js")
( curl -s -o "$IT_DIR/slow.out" -w '%{http_code}' "$URL/api/serverless" -d "{\"code_id\":\"$slow\"}" >"$IT_DIR/slow.status" ) &
spid=$!
_stack_wait "slot busy" 100 bash -c "[ \"\$(curl -s $URL/healthz | jq .slots.busy)\" = 1 ]"
t0=$(now_ms)
hz=$(curl -s --max-time 2 "$URL/healthz")
eq "healthz answers while saturated" "$(jq .slots.busy <<<"$hz")" 1
check "healthz fast while saturated" test $(( $(now_ms) - t0 )) -lt 500
run "$fid" '{"num":4}'
t=$(( $(now_ms) - t0 ))
eq "queued past queue_timeout: 503" "$STATUS" 503
eq "queued past queue_timeout: BUSY" "$(jq -r .error.code <<<"$BODY")" BUSY
check "Retry-After given" test -n "$(header retry-after)"
check "answered soon after the slot freed (${t} ms)" test "$t" -lt 2500
wait "$spid"
eq "the slow request completed" "$(cat "$IT_DIR/slow.out")" done
run "$fid" '{"num":4}'
eq "served again once free" "$STATUS" 200
check "queue rejects counted" bash -c "curl -s $URL/metrics | grep -q '^oyster_queue_rejects_total 1'"
