#!/usr/bin/env bash
# Catalogue row 18: concurrent writers on the shared SQLite file.  At the
# same time: parallel code uploads (every one a new row), parallel
# executions, readers of /api/jobs and /api/code, and the chain watcher
# storing, claiming and submitting jobs created meanwhile.  No SQLITE_BUSY
# reaches a user: every upload 201, every execution 200, every read 200,
# every job answered exactly once; no "database is locked" in any log;
# PRAGMA integrity_check ok and every upload stored.
. "$(dirname "$0")/lib.sh"
W=4 N=40 J=8
quick && N=15 J=4
it_chain
adv_chain_node slots=2 poll_interval_ms=100 queue_timeout_ms=30000 max_code_uploads_per_minute=0
factors=$(chain_save_code "$IT_DIR/chain" "$IT_ROOT/examples/factors.js")
fid=$(upload "$IT_ROOT/examples/factors.js")
db=$IT_DIR/node/executor.db

uploader() { local w=$1 i; for i in $(seq 1 "$N"); do
  printf 'export default { fetch() { return new Response("w%s-%s"); } }' "$w" "$i" |
    curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/javascript' --data-binary @- "$URL/api/code"
done; }
executor() { local i; for i in $(seq 1 "$N"); do
  curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 "$URL/api/serverless" -d "{\"code_id\":\"$fid\",\"input\":{\"num\":$((i + 10))}}"
done; }
reader() { local i; for i in $(seq 1 "$N"); do
  curl -s -o /dev/null -w '%{http_code}\n' "$URL/api/jobs?limit=20"
  curl -s -o /dev/null -w '%{http_code}\n' "$URL/api/code/$fid"
done; }
pids=()
for w in $(seq 1 "$W"); do
  uploader "$w" >"$IT_DIR/up.$w" & pids+=($!)
  executor >"$IT_DIR/ex.$w" & pids+=($!)
done
reader >"$IT_DIR/rd" & pids+=($!)
jobs=()
for j in $(seq 1 "$J"); do
  jobs+=("$(chain_create_job "$IT_DIR/chain" "$factors" "$(hexof_str "{\"num\":$((j + 40))}")" 30000)")
done
wait "${pids[@]}"
tally() { cat "$@" | sort | uniq -c | awk '{printf "%s x %s, ", $1, $2}' | sed 's/, $//'; }
ups=$(cat "$IT_DIR"/up.* | wc -l); exs=$(cat "$IT_DIR"/ex.* | wc -l); rds=$(wc -l <"$IT_DIR/rd")
adv_attempt $((ups + exs + rds + J))
eq "every upload 201 ($(tally "$IT_DIR"/up.*))" "$(grep -vcx 201 "$IT_DIR"/up.* | awk -F: '{s += $2} END {print s}')" 0
eq "every execution 200 ($(tally "$IT_DIR"/ex.*))" "$(grep -vcx 200 "$IT_DIR"/ex.* | awk -F: '{s += $2} END {print s}')" 0
eq "every read 200 ($(tally "$IT_DIR/rd"))" "$(grep -vcx 200 "$IT_DIR/rd")" 0
for j in "${jobs[@]}"; do
  wait_response "$j" 60 || { fail "job $j not answered"; continue; }
  eq "job $j answered exactly once" "$(chain_job_response "$IT_DIR/chain" "$j" | grep -c "^$ENCLAVE ")" 1
done
eq "every upload stored" "$(sqlite3 "$db" "SELECT count(*) FROM code WHERE instr(CAST(body AS TEXT), 'new Response(\"w') > 0")" $((W * N))
eq "integrity_check" "$(sqlite3 "$db" 'PRAGMA integrity_check')" ok
eq "no 'database is locked' / SQLITE_BUSY in the logs" \
  "$(grep -ciE 'database is locked|SQLITE_BUSY|database table is locked' "$IT_DIR/node/fcgi.log" "$IT_DIR/node/chain-watcher.log" | awk -F: '{s += $2} END {print s}')" 0
eq "no 5xx in nginx's access log" "$(grep -c '"status":5' "$IT_DIR/node/nginx/access.log" || true)" 0
adv_note "$ups uploads, $exs executions, $rds reads and $J chain jobs at once: 0 errors, 0 'database is locked', integrity ok"
adv_next 2
