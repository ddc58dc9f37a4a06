#!/usr/bin/env bash
# Two executor nodes, jobs select both (N = 2).  With both up, both answer.
# With one stopped, the other still answers, and after deadline + buffer the
# slash transaction for the silent one is mined exactly once.
. "$(dirname "$0")/lib.sh"
CHAIN_DEPLOY_ARGS="2 3" it_chain    # N = 2 executors per job, 3 s execution buffer
it_chain_node poll_interval_ms=200
mnemonic="test test test test test test test test test test test junk"
GAS2=$("$CAST" wallet private-key --mnemonic "$mnemonic" --mnemonic-index 4)
N2="$IT_DIR/node2"
# shellcheck disable=SC2046
stack_init "$N2" $(stack_chain_args "$IT_DIR/chain") poll_interval_ms=200
stack_start "$N2"
IT_EXTRA_NODES+=("$N2")
stack_register "$N2" "$IT_DIR/chain" "$DEV_KEY1" "$GAS2" || fail "node 2 registration"
E2=$("$OYSTERCTL" address "$N2/id.sec" | sed -n 's/enclave_address //p')
factors=$(chain_save_code "$IT_DIR/chain" "$IT_ROOT/examples/factors.js")

j1=$(chain_create_job "$IT_DIR/chain" "$factors" "$(hexof_str '{"num":6}')" 3000)
two_responses() { [ "$(chain_job_response "$IT_DIR/chain" "$j1" | wc -l)" -ge 2 ]; }
_stack_wait "two responses" 600 two_responses || true
resp=$(chain_job_response "$IT_DIR/chain" "$j1")
check "both executors answered job $j1" test "$(wc -l <<<"$resp")" -eq 2
check "node 1 answered" grep -q "^$ENCLAVE 0 " <<<"$resp"
check "node 2 answered" grep -q "^$E2 0 " <<<"$resp"

# Node 2 goes down; a new job still selects it.
stack_stop "$N2"
t_create=$(date +%s)
j2=$(chain_create_job "$IT_DIR/chain" "$factors" "$(hexof_str '{"num":15}')" 2000)
wait_response "$j2" 30 || fail "node 1 did not answer job $j2"
resp=$(chain_job_response "$IT_DIR/chain" "$j2")
eq "only node 1 answered job $j2" "$(awk '{print $1}' <<<"$resp")" "$ENCLAVE"
slash_topic=$("$CAST" keccak "SlashedOnExecutionTimeout(uint256,address)")
slashes() {
  "$CAST" logs --json --rpc-url "$RPC" --address "$JOBS" --from-block "$(chain_get "$IT_DIR/chain" deploy_block)" \
    "$slash_topic" "$("$CAST" to-uint256 "$j2")" | jq -r '.[].topics[2]'
}
has_slash() { [ -n "$(slashes)" ]; }
_stack_wait "slash of the silent executor" 400 has_slash || true
s=$(slashes)
eq "one slash, for node 2" "$s" "0x000000000000000000000000${E2#0x}"
# Not before deadline (2 s) + buffer (3 s): the contract would have refused it.
check "slash came after deadline + buffer" test $(( $(date +%s) - t_create )) -ge 5
slash_done() { [ "$(curl -s "$URL/api/jobs/$j2" | jq -r .slash_state)" = done ]; }
_stack_wait "slash receipt recorded" 200 slash_done || true
eq "our record: slash done" "$(curl -s "$URL/api/jobs/$j2" | jq -r .slash_state)" done
sleep 3 # give a second, mistaken slash the chance to appear (proving absence needs time)
eq "still exactly one slash" "$(slashes | wc -l)" 1
# Job 1 was fully answered: nobody slashes it.
eq "no slash for a fully answered job" "$("$CAST" logs --json --rpc-url "$RPC" --address "$JOBS" \
  --from-block "$(chain_get "$IT_DIR/chain" deploy_block)" "$slash_topic" "$("$CAST" to-uint256 "$j1")" | jq length)" 0
