#!/usr/bin/env bash
# Jobs created on chain are answered on chain: the watcher sees JobCreated,
# a runner executes the code from its calldata with codeInputs, the enclave
# signs, the sender submits, and the contract accepts.  Every error code of
# PROTOCOL.md section 4 is produced by a real case.
. "$(dirname "$0")/lib.sh"
it_chain
it_chain_node poll_interval_ms=200

code_tx() { chain_save_code "$IT_DIR/chain" "$1"; }
factors=$(code_tx "$IT_ROOT/examples/factors.js")
syntax=$(code_tx "$(js syntax 'export default { fetch() { return new Response("x" }')")
loop=$(code_tx "$(js loop 'export default { fetch() { while (true) {} } }')")
big=$(code_tx "$(js big 'export default { fetch() { return new Response("x".repeat(20481)); } }')")
exact=$(code_tx "$(js exact 'export default { fetch() { return new Response("y".repeat(20480)); } }')")
other=$("$CAST" send --json --rpc-url "$RPC" --private-key "$DEV_KEY3" "$JOBS" \
  "saveCodeInCallData(string,bytes)" "export default {}" 0x --gas-limit 200000 | jq -r .transactionHash)
garbage=0xff7cdaf3$(printf '%064x' 32)$(printf '%064x' 1000)$(printf '%064x' 0)
badcd=$("$CAST" send --json --rpc-url "$RPC" --private-key "$DEV_KEY3" "$CODE_CONTRACT" "$garbage" \
  --gas-limit 200000 | jq -r .transactionHash)

declare -A JOB WANT_CODE WANT_OUT
mk() { # mk NAME CODE_TX INPUT DEADLINE WANT_CODE WANT_OUTPUT
  JOB[$1]=$(chain_create_job "$IT_DIR/chain" "$2" "$(hexof_str "$3")" "$4")
  WANT_CODE[$1]=$5 WANT_OUT[$1]=$6
}
mk ten "$factors" '{"num":10}' 5000 0 '{"num":10,"factors":[2,5]}'
mk big360 "$factors" '{"num":360}' 5000 0 '{"num":360,"factors":[2,2,2,3,3,5]}'
mk invalid "$factors" '{"num":"x"}' 5000 0 '{"error":"num must be an integer >= 2"}'
mk missing "0x$(printf '%064d' 42)" '{}' 5000 1 ''
mk wrongcontract "$other" '{}' 5000 1 ''
mk badcalldata "$badcd" '{}' 5000 2 ''
mk syntax "$syntax" '{}' 5000 3 ''
mk deadline "$loop" '{}' 2000 4 ''
mk toolarge "$big" '{}' 5000 5 ''
mk exact "$exact" '{}' 5000 0 "$(printf 'y%.0s' $(seq 20480))"

for name in "${!JOB[@]}"; do
  id=${JOB[$name]}
  wait_response "$id" 60 || { fail "$name (job $id): no response on chain"; continue; }
  read -r ex code out total count < <(chain_job_response "$IT_DIR/chain" "$id" | head -1)
  eq "$name: answered by our enclave" "$ex" "$ENCLAVE"
  eq "$name: error code" "$code" "${WANT_CODE[$name]}"
  want_hex=$(hexof_str "${WANT_OUT[$name]}")
  eq "$name: output on chain" "$out" "$want_hex"
  j=$(curl -s "$URL/api/jobs/$id")
  _stack_wait "job $id confirmed" 100 bash -c "curl -s $URL/api/jobs/$id | jq -e '.state==\"confirmed\"' >/dev/null"
  eq "$name: /api/jobs state" "$(curl -s "$URL/api/jobs/$id" | jq -r .state)" confirmed
  eq "$name: /api/jobs error code" "$(jq -r .error_code <<<"$j")" "${WANT_CODE[$name]}"
  if [ "$name" = deadline ]; then eq "deadline: totalTime = deadline" "$total" 2000; fi
  if [ "$name" != deadline ]; then check "$name: totalTime below the deadline ($total)" test "$total" -lt 5000; fi
done
eq "the worker's own status is recorded" "$(curl -s "$URL/api/jobs/${JOB[invalid]}" | jq .worker_status)" 400
eq "list filter by state" "$(curl -s "$URL/api/jobs?state=confirmed&limit=100" | jq '.jobs | length')" "${#JOB[@]}"
eq "paging" "$(curl -s "$URL/api/jobs?limit=3" | jq -c '[(.jobs | length), .next_offset]')" "[3,3]"
eq "unknown job: 404" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/jobs/999999")" 404
eq "bad state filter: 400" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/jobs?state=nope")" 400

# Retention: a job over for longer than job_retention_days is deleted by the
# watcher (at its start, then hourly) with its transactions; others stay.
db=$IT_DIR/node/executor.db
old=${JOB[big360]}
# As it stands 31 days on: the sender settled its slash check after the
# deadline (everyone answered), and nothing has touched it since.
sqlite3 "$db" "UPDATE jobs SET slash_state = 'done', updated = updated - 31 * 86400000 WHERE job_id = '$old'"
eq "the backdated job has transactions" "$(sqlite3 "$db" "SELECT count(*) > 0 FROM txs WHERE job_id = '$old'")" 1
cw_stop "$IT_DIR/node"
cw_start "$IT_DIR/node"
_stack_wait "the watcher deletes the job over for 31 days" 100 \
  bash -c "[ \"\$(sqlite3 '$db' \"SELECT count(*) FROM jobs WHERE job_id = '$old'\")\" = 0 ]"
eq "its transactions went with it" "$(sqlite3 "$db" "SELECT count(*) FROM txs WHERE job_id = '$old'")" 0
eq "/api/jobs no longer knows it" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/jobs/$old")" 404
eq "every other job is kept" "$(curl -s "$URL/api/jobs?state=confirmed&limit=100" | jq '.jobs | length')" "$((${#JOB[@]} - 1))"
check "the deletion is logged" grep -q "cw_prune: deleted 1 jobs" "$IT_DIR/node/chain-watcher.log"
