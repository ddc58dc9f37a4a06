#!/usr/bin/env bash
# Chain path latency on the dev chain (anvil, automine: a transaction is
# mined as it is sent): for N jobs (default 15) one after another, the time
# from a job's JobCreated log being available (createJob sent with
# `cast send --async` has returned, so its block exists) to our
# submitOutput being sent (txs.sent_at), and where it goes, from the job
# and transaction rows and the runner's log line:
#   poll       watcher: log available -> job stored (seen_at); poll_interval_ms
#   claim      runner picks the job up (idle runners look every 50 ms)
#   fetch      code from the tx_code cache (first job: from the RPC node)
#   sandbox    the run in the slot (pool mode: the function's own run time)
#   sign       EIP-712 digest signed with the enclave key
#   store      the rest of the runner's step (result row, SQLite commit)
#   prepare    sender picks the result up, fees, eth_estimateGas, signs,
#              records the transaction
#   send       eth_sendRawTransaction
# Prints a markdown section on stdout (progress on stderr).
#   POLL_MS      the watcher's poll_interval_ms (default 50)
#   SANDBOX_MODE pool (default) or process
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/stack-lib.sh"
n=${1:-15}
poll=${POLL_MS:-50}
dir=$(mktemp -d /tmp/oyster-bench-chain.XXXXXX)
trap 'stack_stop "$dir/node" >/dev/null 2>&1; chain_stop "$dir/chain"; rm -rf "$dir"' EXIT
chain_start "$dir/chain" >&2
# shellcheck disable=SC2046
stack_init "$dir/node" $(stack_chain_args "$dir/chain") poll_interval_ms="$poll" \
  sandbox_mode="${SANDBOX_MODE:-pool}" slots=1 job_capacity=2 log_level=info >/dev/null
stack_start "$dir/node" >&2
stack_register "$dir/node" "$dir/chain" "$DEV_KEY1" "$DEV_KEY2" >&2
rpc=$(chain_get "$dir/chain" rpc_url)
jobs=$(chain_get "$dir/chain" jobs_contract)
db=$dir/node/executor.db
tx=$(chain_save_code "$dir/chain" "$ROOT/examples/factors.js")
input=$("$CAST" from-utf8 '{"num":1000001}')
sql() { sqlite3 -separator ' ' "$db" "$1"; }
now_ms() { date +%s%3N; }

rows=$dir/rows
for i in $(seq 0 "$n"); do # job 0 warms up (code fetched over RPC, cached)
  "$CAST" send --async --rpc-url "$rpc" --private-key "$DEV_KEY3" "$jobs" \
    "createJob(uint8,bytes32,bytes,uint256)" 1 "$tx" "$input" 10000 >/dev/null
  t0=$(now_ms)
  for _ in $(seq 1 1000); do
    [ -n "$(sql "SELECT sent_at FROM txs WHERE job_id = '$i' AND kind = 'submit' AND sent_at IS NOT NULL")" ] && break
    sleep 0.01
  done
  [ "$i" = 0 ] && continue
  line=$(grep -h "job $i executed:" "$dir/node/chain-watcher.log" | tail -1)
  read -r fetch sandbox_us sign_us < <(sed -n 's/.*(code fetch \([0-9]*\) ms, sandbox \([0-9]*\) us of which start wait [0-9]* ms, signing \([0-9]*\) us).*/\1 \2 \3/p' <<<"$line")
  sql "SELECT j.seen_at, j.started_at, j.finished_at, t.created, t.sent_at FROM jobs j JOIN txs t ON t.job_id = j.job_id AND t.kind = 'submit' WHERE j.job_id = '$i' ORDER BY t.id LIMIT 1" |
    awk -v t0="$t0" -v f="${fetch:-0}" -v s="${sandbox_us:-0}" -v g="${sign_us:-0}" '{
      run = $3 - $2; sb = s / 1000; sg = g / 1000
      printf "%d %d %d %.2f %.2f %.2f %.2f %d %d\n", $5 - t0, $1 - t0, $2 - $1, f, sb, sg, run - f - sb - sg, $4 - $3, $5 - $4 }' >>"$rows"
  echo "chain: job $i: $(tail -1 "$rows" | cut -d' ' -f1) ms" >&2
done

med() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m }'; }
p90() { sort -n | awk '{ v[NR] = $1 } END { i = int(NR * 0.9 + 0.5); if (i < 1) i = 1; print v[i] }'; }
col() { awk -v c="$1" '{ print $c }' "$rows"; }
total=$(col 1 | med)
sandbox=$(col 5 | med)
echo "$n jobs of the prime-factor function on anvil (automine), one at a time, node in ${SANDBOX_MODE:-pool} mode,"
echo "poll_interval_ms = $poll. From JobCreated available (createJob sent and mined) to our submitOutput sent:"
echo
echo "| | p50 ms | p90 ms |"
echo "|---|---:|---:|"
echo "| **total: log available -> submitOutput sent** | $total | $(col 1 | p90) |"
names=("" "" "poll: watcher stores the job" "claim: a runner takes it" "code fetch (tx_code cache)" "sandbox run (the function)" "signing (EIP-712)" "result row + commit" "sender: pick up, fees, estimateGas, sign, record" "eth_sendRawTransaction")
for c in 2 3 4 5 6 7 8 9; do
  echo "| ${names[$c]} | $(col "$c" | med) | $(col "$c" | p90) |"
done
echo
ok=$(awk -v t="$total" -v s="$sandbox" 'BEGIN { print (t - s < 150) }')
echo "Target: p50 under 150 ms plus the function's own run time: $total ms total, $(awk -v t="$total" -v s="$sandbox" 'BEGIN { printf "%.1f", t - s }') ms without the sandbox run: $([ "$ok" = 1 ] && echo '**met**' || echo '**missed**')."
