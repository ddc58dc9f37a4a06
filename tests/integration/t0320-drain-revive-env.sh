#!/usr/bin/env bash
# Registration state drives what the node runs: while drained or
# deregistered it runs no job, revived it runs jobs again; jobs for env 2
# are ignored.  A second, silent executor (a key we hold, no node) gives
# the contract someone else to select.
. "$(dirname "$0")/lib.sh"
it_chain
it_chain_node poll_interval_ms=200
factors=$(chain_save_code "$IT_DIR/chain" "$IT_ROOT/examples/factors.js")

# register_fake ENV: an executor whose enclave key is a fresh cast wallet.
register_fake() {
  local env=$1 w key pub addr ts sig
  w=$("$CAST" wallet new --json); key=$(jq -r '.[0].private_key' <<<"$w")
  addr=$(jq -r '.[0].address' <<<"$w" | tr 'A-F' 'a-f')
  pub=$("$CAST" wallet public-key --private-key "$key")
  ts=$(( $("$CAST" block latest -f timestamp --rpc-url "$RPC") ))
  cat >"$IT_DIR/reg.json" <<JSON
{"types":{"EIP712Domain":[{"name":"name","type":"string"},{"name":"version","type":"string"}],
 "Register":[{"name":"owner","type":"address"},{"name":"jobCapacity","type":"uint256"},{"name":"env","type":"uint8"},{"name":"signTimestamp","type":"uint256"}]},
 "primaryType":"Register","domain":{"name":"marlin.oyster.Executors","version":"1"},
 "message":{"owner":"$DEV_ADDR1","jobCapacity":1,"env":$env,"signTimestamp":$ts}}
JSON
  sig=$("$CAST" wallet sign --private-key "$key" --data --from-file "$IT_DIR/reg.json")
  "$CAST" send --rpc-url "$RPC" --private-key "$DEV_KEY1" "$EXECUTORS" \
    "registerExecutor(bytes,uint256,uint256,bytes,uint256,uint8)" "$pub" 1 "$ts" "$sig" 0 "$env" >/dev/null
  echo "$addr"
}
state_of() { curl -s "$URL/api/jobs/$1" | jq -r .state; }
seen_by_node() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/jobs/$1")" = 200 ]; }
owner_send() { "$CAST" send --rpc-url "$RPC" --private-key "$DEV_KEY1" "$EXECUTORS" "$@" >/dev/null; }
job() { chain_create_job "$IT_DIR/chain" "$factors" "$(hexof_str '{"num":6}')" 3000 "${1:-1}"; }
selected() { "$CAST" call --rpc-url "$RPC" "$JOBS" "getSelectedExecutors(uint256)(address[])" "$1" | tr 'A-F' 'a-f'; }

a=$(job)
wait_response "$a" 30 || fail "first job not answered"
eq "active: job answered" "$(chain_job_response "$IT_DIR/chain" "$a" | awk '{print $1}')" "$ENCLAVE"

fake=$(register_fake 1)
owner_send "drainExecutor(address)" "$ENCLAVE"
drained=()
for _ in 1 2 3; do drained+=("$(job)"); done
for id in "${drained[@]}"; do
  check "drained: job $id selects only the other executor" grep -q "$fake" <<<"$(selected "$id")"
  _stack_wait "watcher saw job $id" 200 seen_by_node "$id" || true
  eq "drained: job $id is not ours (observed)" "$(state_of "$id")" observed
done

owner_send "reviveExecutor(address)" "$ENCLAVE"
ours=""
for _ in 1 2 3 4; do
  id=$(job)
  if grep -q "$ENCLAVE" <<<"$(selected "$id")"; then ours=$id; break; fi
done
check "revived: the contract selects us again" test -n "$ours"
wait_response "$ours" 30 || fail "revived: job $ours not answered"
eq "revived: job $ours answered by us" "$(chain_job_response "$IT_DIR/chain" "$ours" | awk '{print $1}')" "$ENCLAVE"

register_fake 2 >/dev/null
e2=$(job 2)
e1=$(job)   # a later env-1 job proves the watcher has passed the env-2 one
_stack_wait "watcher passed job $e1" 200 seen_by_node "$e1" || true
eq "env 2 job is ignored (not in our queue)" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/jobs/$e2")" 404

owner_send "drainExecutor(address)" "$ENCLAVE"
owner_send "deregisterExecutor(address)" "$ENCLAVE"
d=$(job)
_stack_wait "watcher saw job $d" 200 seen_by_node "$d" || true
eq "deregistered: job not ours" "$(state_of "$d")" observed
no_resp() { ! chain_job_response "$IT_DIR/chain" "$d" | grep -q "$ENCLAVE"; }
check "deregistered: no response from us" no_resp
