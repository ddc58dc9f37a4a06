#!/usr/bin/env bash
# `make run`: start a whole node on loopback and keep it in the foreground
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
CHAIN_PORT=${OYSTER_ANVIL_PORT:-8545} chain_start "$dir/chain"
stack_init "$dir" "http_listen=$listen" "run_dir=$sockdir" "log_level=info" \
  "rpc_url=$(chain_get "$dir/chain" rpc_url)" "code_contract=$(chain_get "$dir/chain" code_contract)"

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
cat <<MSG

Oyster serverless executor is running at $url
  config $dir/executor.conf   logs $dir/fcgi.log, $dir/nginx/

Try it (upload the prime-factor example, then run it):
  id=\$(curl -s -H 'Content-Type: application/javascript' --data-binary @examples/factors.js $url/api/code | jq -r .code_id)
  curl -s $url/api/serverless -d "{\"code_id\":\"\$id\",\"input\":{\"num\":10}}"

Health: curl -s $url/healthz    Metrics: curl -s $url/metrics

Chain: anvil at $(chain_get "$dir/chain" rpc_url) (chain id $(chain_get "$dir/chain" chain_id))
  code contract      $(chain_get "$dir/chain" code_contract)
  Executors contract $(chain_get "$dir/chain" executors_contract)
  Jobs contract      $(chain_get "$dir/chain" jobs_contract)
  enclave            $("$OYSTERCTL" address "$dir/id.sec" | sed -n 's/enclave_address //p')
See "Operating a node" in README.md for the admin flow (owner, gas key, registration).
Press Ctrl-C to stop.
MSG
tail -n 0 -f "$dir/fcgi.log" &
tailpid=$!
wait "$(cat "$dir/fcgi.pid")" || true
kill "$tailpid" 2>/dev/null || true
