#!/usr/bin/env bash
# Pool mode: the slot's warm workerd is replaced (and the old one reaped)
# after a timeout, an OOM, a crash or kill from outside, after
# pool_recycle_requests requests and on memory growth; never reused after
# running code past its deadline.  Usage headers stay meaningful.
. "$(dirname "$0")/lib.sh"
it_start sandbox_mode=pool slots=1 deadline_ms=1500 memory_limit=128M \
  pool_recycle_requests=4 pool_recycle_memory=16M

wpid() { # the slot's one workerd, once its replacement is up
  local p
  for _ in $(seq 1 100); do
    p=$(stack_workerd_pids "$IT_DIR/node")
    [ "$(wc -w <<<"$p")" = 1 ] && { echo "$p"; return; }
    sleep 0.05
  done
  echo "none: $p"
}
# Zombie workerds whose parent is one of this node's handlers (other suites
# running on the machine have their own, which must not count).
zombies() {
  local hs
  hs=" $(pgrep -P "$(cat "$IT_DIR/node/fcgi.pid")" | tr '\n' ' ') "
  ps -eo stat=,ppid=,comm= | awk -v hs="$hs" '$1 ~ /^Z/ && $3 == "workerd" && index(hs, " " $2 " ")' | wc -l
}

fid=$(upload "$IT_ROOT/examples/factors.js")
loop=$(upload "$(js loop 'export default { fetch() { for (;;) {} } }')")
bomb=$(upload "$(js bomb 'export default { fetch() { const a = []; for (;;) a.push(new Array(1e6).fill(7)); } }')")
z0=0

p0=$(wpid)
run "$fid" '{"num":6}'
eq "warm: answer" "$(jq -c .factors <<<"$BODY")" "[2,3]"
check "warm: cpu usage header" grep -Eq '^[0-9]+$' <<<"$(header x-oyster-usage-cpu-ms)"
check "warm: peak memory header > 0" test "$(header x-oyster-usage-memory-peak-bytes)" -gt 0
eq "same workerd after a normal request" "$(wpid)" "$p0"

run "$loop" null
eq "timeout: 504" "$STATUS" 504
eq "timeout: code" "$(jq -r .error.code <<<"$BODY")" EXECUTION_TIMEOUT
p1=$(wpid)
check "workerd replaced after the timeout ($p0 -> $p1)" test "$p1" != "$p0"
check "the timed-out workerd is gone" bash -c "! kill -0 $p0 2>/dev/null"
run "$fid" '{"num":10}'
eq "next request on the new workerd" "$(jq -c .factors <<<"$BODY")" "[2,5]"

run "$bomb" null
eq "oom: code" "$(jq -r .error.code <<<"$BODY")" OUT_OF_MEMORY
p2=$(wpid)
check "workerd replaced after the OOM ($p1 -> $p2)" test "$p2" != "$p1"
run "$fid" '{"num":14}'
eq "next request after the OOM" "$(jq -c .factors <<<"$BODY")" "[2,7]"

kill -KILL "$p2"
sleep 0.2
run "$fid" '{"num":15}'
eq "a workerd killed while idle is replaced before the next request" "$(jq -c .factors <<<"$BODY")" "[3,5]"
p3=$(wpid)
check "new pid ($p2 -> $p3)" test "$p3" != "$p2"

# pool_recycle_requests=4: the 4th answered request of a workerd replaces it.
for i in 1 2 3 4; do run "$fid" '{"num":21}'; done
p4=$(wpid)
check "replaced after 4 requests ($p3 -> $p4)" test "$p4" != "$p3"

# Memory growth: an opted-in isolate that keeps 8 MiB per request.
cat >"$IT_DIR/grow.js" <<'J'
const keep = []; export default { fetch() { keep.push(new Uint8Array(8 << 20).fill(1)); return new Response(String(keep.length)); } }
J
grow=$(curl -sS -H 'Content-Type: application/javascript' --data-binary @"$IT_DIR/grow.js" "$URL/api/code?isolate=reuse" | jq -r .code_id)
p5=$(wpid)
run "$grow" null
eq "growing isolate, 1st request" "$BODY" 1
run "$grow" null
run "$grow" null
run "$grow" null
p6=$(wpid)
check "replaced on memory growth over 16M ($p5 -> $p6)" test "$p6" != "$p5"
run "$grow" null
check "its state went with it (${BODY})" test "$BODY" -lt 4

eq "recycled workerds were reaped (no zombies)" "$(zombies)" "$z0"
eq "one workerd for the one slot" "$(stack_workerd_pids "$IT_DIR/node" | wc -l)" 1
