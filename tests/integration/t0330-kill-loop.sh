#!/usr/bin/env bash
# Restart safety: while jobs flow, the chain watcher (master or any of its
# children: watcher, sender, runners) is SIGKILLed at random moments,
# KILLS times (default 20; the adversarial suite runs more).  Afterwards
# every job is answered exactly once on chain, the database passes
# integrity_check, and nothing is left claimed.
. "$(dirname "$0")/lib.sh"
KILLS=${KILLS:-20}
it_chain
it_chain_node poll_interval_ms=100 job_lease_ms=1000
factors=$(chain_save_code "$IT_DIR/chain" "$IT_ROOT/examples/factors.js")
slow=$(chain_save_code "$IT_DIR/chain" "$(js slow 'export default { async fetch(r) { const i = await r.json(); const t = Date.now(); while (Date.now() - t < 150) {} return Response.json(i); } }')")
node="$IT_DIR/node"
jobs=()
kills=0
cw_alive() { [ -f "$node/cw.pid" ] && kill -0 "$(cat "$node/cw.pid")" 2>/dev/null; }
for i in $(seq 1 "$KILLS"); do
  code=$factors; [ $((i % 2)) = 0 ] && code=$slow
  jobs+=("$(chain_create_job "$IT_DIR/chain" "$code" "$(hexof_str "{\"num\":$((i + 100))}")" 20000)")
  sleep "0.$((RANDOM % 8))"
  master=$(cat "$node/cw.pid")
  mapfile -t kids < <(pgrep -P "$master")
  if [ $((RANDOM % 4)) = 0 ] || [ ${#kids[@]} = 0 ]; then
    # the whole daemon at once, children included
    kill -KILL "${kids[@]}" "$master" 2>/dev/null || true
    _stack_wait "old chain watcher gone" 100 bash -c "! kill -0 $master 2>/dev/null"
    cw_start "$node"
  else
    kill -KILL "${kids[$((RANDOM % ${#kids[@]}))]}" 2>/dev/null || true
  fi
  kills=$((kills + 1))
done
it_log "$kills SIGKILLs while ${#jobs[@]} jobs were created"
check "chain watcher running after the kills" cw_alive

for id in "${jobs[@]}"; do
  wait_response "$id" 60 || { fail "job $id never answered"; continue; }
  n=$(chain_job_response "$IT_DIR/chain" "$id" | grep -c "^$ENCLAVE ")
  eq "job $id answered exactly once by us" "$n" 1
done
db="$node/executor.db"
eq "integrity_check" "$(sqlite3 "$db" 'PRAGMA integrity_check')" ok
all_final() { [ "$(sqlite3 "$db" "SELECT count(*) FROM jobs WHERE ours = 1 AND state NOT IN ('confirmed')")" = 0 ]; }
_stack_wait "every job confirmed in our queue" 200 all_final || true
eq "no job left seen/claimed/executed/submitted" \
  "$(sqlite3 "$db" "SELECT group_concat(job_id || ':' || state) FROM jobs WHERE ours = 1 AND state <> 'confirmed'")" ""
eq "one mined submit per job" \
  "$(sqlite3 "$db" "SELECT count(*) FROM (SELECT job_id FROM txs WHERE kind = 'submit' AND state = 'mined' AND status = 1 GROUP BY job_id HAVING count(*) <> 1)")" 0
