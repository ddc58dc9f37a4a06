#!/usr/bin/env bash
# `make run`: start a whole node on loopback (anvil, nginx, oyster-fcgi,
# oyster-chain-watcher) and keep it in the foreground
# until Ctrl-C or SIGTERM, then stop everything: a local anvil chain with
# our contracts deployed, nginx, and oyster-fcgi configured for both.
#   OYSTER_LISTEN (default 127.0.0.1:8080)  where nginx listens
#   OYSTER_ANVIL_PORT (default 8545)        where anvil listens
#   OYSTER_RUN_DIR (default ./run)           config, keys, database and logs
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=stack-lib.sh
. "$ROOT/scripts/stack-lib.sh"

dir=${OYSTER_RUN_DIR:-$ROOT/run}
listen=${OYSTER_LISTEN:-127.0.0.1:8080}
mkdir -p "$dir"
# Slot sockets must fit in sun_path (108 bytes): keep the socket tree short.
sockdir=$(mktemp -d /tmp/oyster-run.XXXXXX)
# A fresh chain each run, so the database must not remember an old one.
rm -f "$dir/executor.db" "$dir/executor.db-wal" "$dir/executor.db-shm" "$dir/gas.key"
# One-second blocks make the contracts' timing rules real (deadlines, buffer).
CHAIN_PORT=${OYSTER_ANVIL_PORT:-8545} chain_start "$dir/chain" --block-time 1
# shellcheck disable=SC2046
stack_init "$dir" "http_listen=$listen" "run_dir=$sockdir" "log_level=info" \
  $(stack_chain_args "$dir/chain") poll_interval_ms=250

stopping=0
stop() {
  [ "$stopping" = 1 ] && return
  stopping=1
  echo; echo "stopping..."
  stack_stop "$dir" || true
  chain_stop "$dir/chain" || true
  rm -rf "$sockdir"
  echo "stopped."
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stack_start "$dir"
url=$(stack_url "$dir")
# Dev mode: do the operator's registration (README "Operating a node") now,
# with anvil's dev accounts 1 (owner) and 2 (gas).
stack_register "$dir" "$dir/chain" "$DEV_KEY1" "$DEV_KEY2"
cat <<MSG

Oyster serverless executor is running at $url
  config $dir/executor.conf   logs $dir/fcgi.log, $dir/chain-watcher.log, $dir/nginx/

Try it (upload the prime-factor example, then run it):
  id=\$(curl -s -H 'Content-Type: application/javascript' --data-binary @examples/factors.js $url/api/code | jq -r .code_id)
  curl -s $url/api/serverless -d "{\"code_id\":\"\$id\",\"input\":{\"num\":10}}"

Health: curl -s $url/healthz    Metrics: curl -s $url/metrics

Chain: anvil at $(chain_get "$dir/chain" rpc_url) (chain id $(chain_get "$dir/chain" chain_id))
  code contract      $(chain_get "$dir/chain" code_contract)
  Executors contract $(chain_get "$dir/chain" executors_contract)
  Jobs contract      $(chain_get "$dir/chain" jobs_contract)
  enclave            $("$OYSTERCTL" address "$dir/id.sec" | sed -n 's/enclave_address //p')
The node is registered (owner 0x7099…79c8, gas 0x3c44…93bc); the chain
watcher answers jobs: see "Answering jobs on chain" in README.md, e.g.
  tx=\$(node_modules/.bin/cast send --json --rpc-url $(chain_get "$dir/chain" rpc_url) --private-key $DEV_KEY3 \\
       $(chain_get "$dir/chain" code_contract) 'saveCodeInCallData(string,bytes)' "\$(cat examples/factors.js)" 0x | jq -r .transactionHash)
  node_modules/.bin/cast send --rpc-url $(chain_get "$dir/chain" rpc_url) --private-key $DEV_KEY3 \\
       $(chain_get "$dir/chain" jobs_contract) 'createJob(uint8,bytes32,bytes,uint256)' 1 \$tx \$(node_modules/.bin/cast from-utf8 '{"num":10}') 5000
  curl -s '$url/api/jobs?limit=1' | jq '.jobs[0] | {job_id, state, error_code, output_text}'
Press Ctrl-C to stop.
MSG
tail -n 0 -q -f "$dir/fcgi.log" "$dir/chain-watcher.log" &
tailpid=$!
wait "$(cat "$dir/fcgi.pid")" || true
kill "$tailpid" 2>/dev/null || true
