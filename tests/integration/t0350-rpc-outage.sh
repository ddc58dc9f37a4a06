#!/usr/bin/env bash
# RPC outage: the node is unreachable for a while (anvil stopped, its state
# kept).  The watcher backs off and logs it, then resumes from its cursor
# when the node is back and answers the job that was created before.
. "$(dirname "$0")/lib.sh"
it_chain --state "$IT_DIR/chain/state.json"
it_chain_node poll_interval_ms=200
factors=$(chain_save_code "$IT_DIR/chain" "$IT_ROOT/examples/factors.js")
port=${RPC##*:}

cw_stop "$IT_DIR/node"
j=$(chain_create_job "$IT_DIR/chain" "$factors" "$(hexof_str '{"num":22}')" 60000)
chain_stop "$IT_DIR/chain"           # anvil writes its state on the way out
cw_start "$IT_DIR/node"              # the watcher starts with the RPC node down
backing_off() { grep -q "eth_blockNumber\|Couldn't connect\|transport" "$IT_DIR/node/chain-watcher.log"; }
_stack_wait "watcher notices the outage" 200 backing_off || true
check "the outage is logged" backing_off
sleep 2  # stay down a little: the watcher keeps retrying with backoff meanwhile
check "chain watcher still running during the outage" kill -0 "$(cat "$IT_DIR/node/cw.pid")"
"$ANVIL" --host 127.0.0.1 --port "$port" --silent --state "$IT_DIR/chain/state.json" \
  >>"$IT_DIR/chain/anvil.log" 2>&1 &
echo $! >"$IT_DIR/chain/anvil.pid"
_stack_wait "anvil back" 200 "$CAST" chain-id --rpc-url "$RPC"
wait_response "$j" 60 || fail "job $j not answered after the outage"
read -r ex code out _ < <(chain_job_response "$IT_DIR/chain" "$j" | head -1)
eq "answered by us after the outage" "$ex" "$ENCLAVE"
eq "with the right output" "$out" "$(hexof_str '{"num":22,"factors":[2,11]}')"
