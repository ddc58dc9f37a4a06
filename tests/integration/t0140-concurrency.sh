#!/usr/bin/env bash
# 40 concurrent requests against 4 slots: every one completes correctly or
# gets 503 BUSY, none hangs, and nothing is left behind afterwards.
. "$(dirname "$0")/lib.sh"
it_start slots=4 queue_timeout_ms=5000

fid=$(upload "$IT_ROOT/examples/factors.js")

# One at a time, requests go round the idle handlers (each joins the
# socket's queue again after a request), not all to the first one.
for i in $(seq 1 8); do run "$fid" '{"num":6}'; done
slots=$(grep '"route":"serverless"' "$IT_DIR/node/fcgi.log" | tail -8 | jq -r .slot | sort -u | wc -l)
check "8 requests one at a time went to $slots of 4 slots (at least 3)" test "$slots" -ge 3

pids=()
t0=$(now_ms)
for i in $(seq 1 40); do
  n=$((1000 + i))
  ( code=$(curl -sS -o "$IT_DIR/c.$i" -w '%{http_code}' --max-time 30 "$URL/api/serverless" \
      -d "{\"code_id\":\"$fid\",\"input\":{\"num\":$n}}") || code=000
    echo "$code" >"$IT_DIR/s.$i" ) &
  pids+=($!)
done
wait "${pids[@]}"
t=$(( $(now_ms) - t0 ))
ok=0 busy=0 bad=0
for i in $(seq 1 40); do
  n=$((1000 + i)); s=$(cat "$IT_DIR/s.$i")
  if [ "$s" = 200 ] && [ "$(jq -r .num "$IT_DIR/c.$i")" = "$n" ]; then
    ok=$((ok + 1))
  elif [ "$s" = 503 ] && [ "$(jq -r .error.code "$IT_DIR/c.$i")" = BUSY ]; then
    busy=$((busy + 1))
  else
    bad=$((bad + 1)); it_log "request $i: status $s body $(head -c 200 "$IT_DIR/c.$i")"
  fi
done
it_log "40 concurrent: $ok ok, $busy busy, $bad wrong, ${t} ms"
eq "no wrong or hung answers" "$bad" 0
check "most requests executed ($ok)" test "$ok" -ge 20
check "all done within 30 s" test "$t" -lt 30000
hz=$(curl -s "$URL/healthz")
eq "all slots free again" "$(jq .slots.busy <<<"$hz")" 0
if [ "$(it_mode)" = pool ]; then
  eq "one warm workerd per slot between requests" "$(stack_workerd_pids "$IT_DIR/node" | wc -l)" 4
else
  check "no workerd running between requests" test -z "$(stack_workerd_pids "$IT_DIR/node")"
  # Each slot keeps the next run's process ready: jailed, in the slot
  # cgroup, not yet workerd (sb_slot_finish).
  spares=$(stack_spare_pids "$IT_DIR/node")
  eq "one spare per slot between requests" "$(wc -w <<<"$spares")" 4
  for p in $spares; do
    eq "spare $p: the sandbox uid, no capabilities, seccomp" \
      "$(awk '/^Uid:/ {print $2} /^CapEff:/ {print $2} /^Seccomp:/ {print $2}' "/proc/$p/status" | tr '\n' ' ')" \
      "$(_stack_conf_get "$IT_DIR/node" sandbox_user | cut -d: -f1) 0000000000000000 2 "
  done
fi
