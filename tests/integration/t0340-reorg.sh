#!/usr/bin/env bash
# Reorg: a job that was seen and executed, but not yet submitted (the gas
# account cannot pay yet), disappears in a reorg (anvil_reorg).  The node
# drops it and never submits it; the job id is reused by a new job in the
# replacement chain, which is run and answered exactly once, with the new
# job's input.
. "$(dirname "$0")/lib.sh"
it_chain
# shellcheck disable=SC2046
it_start $(stack_chain_args "$IT_DIR/chain") poll_interval_ms=200
poor=$("$CAST" wallet new --json | jq -r '.[0].private_key')
poor_addr=$("$CAST" wallet address "$poor")
stack_register "$IT_DIR/node" "$IT_DIR/chain" "$DEV_KEY1" "$poor" || { fail "registration"; exit 1; }
ENCLAVE=$("$OYSTERCTL" address "$IT_DIR/node/id.sec" | sed -n 's/enclave_address //p')
factors=$(chain_save_code "$IT_DIR/chain" "$IT_ROOT/examples/factors.js")
state_of() { curl -s "$URL/api/jobs/$1" | jq -r .state; }

j=$(chain_create_job "$IT_DIR/chain" "$factors" "$(hexof_str '{"num":6}')" 20000)
created_block=$("$CAST" block-number --rpc-url "$RPC")
is_executed() { [ "$(state_of "$j")" = executed ]; }
_stack_wait "job $j executed (sender cannot pay)" 400 is_executed || true
eq "job $j executed, waiting for gas" "$(state_of "$j")" executed
eq "the first output was computed" "$(curl -s "$URL/api/jobs/$j" | jq -r .output_text)" '{"num":6,"factors":[2,3]}'

head=$("$CAST" block-number --rpc-url "$RPC")
depth=$((head - created_block + 1))
"$CAST" rpc --rpc-url "$RPC" anvil_reorg "$depth" '[]' >/dev/null
is_dropped() { [ "$(state_of "$j")" = dropped ]; }
_stack_wait "reorged job dropped" 200 is_dropped || true
eq "reorged job is dropped" "$(state_of "$j")" dropped
check "the reorg is logged" grep -q reorg "$IT_DIR/node/chain-watcher.log"

# Now the gas account gets funds; the dropped job must not be submitted.
"$CAST" send --rpc-url "$RPC" --private-key "$DEV_KEY0" "$poor_addr" --value 1ether >/dev/null
# The same job id is taken by a new job on the new chain.
k=$(chain_create_job "$IT_DIR/chain" "$factors" "$(hexof_str '{"num":35}')" 20000)
eq "the new job reuses the reorged job's id" "$k" "$j"
wait_response "$k" 60 || fail "new job $k not answered"
resp=$(chain_job_response "$IT_DIR/chain" "$k")
eq "answered exactly once" "$(wc -l <<<"$resp")" 1
read -r ex code out _ < <(head -1 <<<"$resp")
eq "answered by us" "$ex" "$ENCLAVE"
eq "with the NEW job's output" "$out" "$(hexof_str '{"num":35,"factors":[5,7]}')"
mined_submits() { sqlite3 "$IT_DIR/node/executor.db" "SELECT count(*) FROM txs WHERE job_id = '$k' AND kind = 'submit' AND state = 'mined'"; }
one_mined() { [ "$(mined_submits)" = 1 ]; }
_stack_wait "receipt recorded" 200 one_mined || true
eq "one mined submit for the id" \
  "$(sqlite3 "$IT_DIR/node/executor.db" "SELECT count(*) FROM txs WHERE job_id = '$k' AND kind = 'submit' AND state = 'mined'")" 1
