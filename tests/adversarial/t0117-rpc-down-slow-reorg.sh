#!/usr/bin/env bash
# Catalogue row 17: the RPC node down, slow, or reorging.
#   slow (here): every call goes through build/tests/adv_rpc_proxy, which
#     first delays them by 400 ms (under rpc_timeout_ms = 1000: everything
#     works, slower), then by 2.5 s (every attempt times out: the watcher
#     retries with backoff without hammering the node, a tx_hash execution
#     gets 503 RPC_UNAVAILABLE in bounded time, jobs created meanwhile
#     wait), then passes calls again: every job is answered exactly once
#     and one mined submit per job (a delayed call still reaches anvil
#     after the client gave up on it, so re-sends really happen);
#   down: tests/integration/t0350-rpc-outage.sh;
#   reorg: tests/integration/t0340-reorg.sh.
# The full form runs those two as well; the quick form refers to them
# (`make integration` runs them).
. "$(dirname "$0")/lib.sh"
it_chain
mode_file=$IT_DIR/rpc.mode
echo pass >"$mode_file"
adv_bg "$IT_DIR/proxy.out" "$ADV_BIN/adv_rpc_proxy" -u "${RPC##*:}" -m "$mode_file" -P "$IT_DIR/proxy.port" -L "$IT_DIR/proxy.log"
_stack_wait "proxy port" 100 test -s "$IT_DIR/proxy.port"
PROXY=http://127.0.0.1:$(cat "$IT_DIR/proxy.port")
adv_chain_node "rpc_url=$PROXY" rpc_timeout_ms=1000 poll_interval_ms=200 slots=2
factors=$(chain_save_code "$IT_DIR/chain" "$IT_ROOT/examples/factors.js")
cw=$(cat "$IT_DIR/node/cw.pid")
db=$IT_DIR/node/executor.db
calls() { grep -c . "$IT_DIR/proxy.log" || true; }
jobs=()

# 1. Slow but within the timeout.
echo "delay 400" >"$mode_file"
jobs+=("$(chain_create_job "$IT_DIR/chain" "$factors" "$(hexof_str '{"num":14}')" 30000)")
t0=$(now_ms)
st=$(curl -s -o "$IT_DIR/tx1.out" -w '%{http_code}' --max-time 30 "$URL/api/serverless" -d "{\"tx_hash\":\"$factors\",\"input\":{\"num\":6}}")
t=$(( $(now_ms) - t0 ))
adv_attempt 2
eq "400 ms RPC: tx_hash execution works" "$st $(jq -c .factors "$IT_DIR/tx1.out")" "200 [2,3]"
wait_response "${jobs[0]}" 60 || fail "job ${jobs[0]} not answered with a 400 ms RPC"
adv_note "RPC delayed 400 ms: tx_hash run ok in ${t} ms, job answered"

# 2. Slower than rpc_timeout_ms.
echo "delay 2500" >"$mode_file"
sleep 1
c0=$(calls); s0=$(date +%s)
jobs+=("$(chain_create_job "$IT_DIR/chain" "$factors" "$(hexof_str '{"num":15}')" 60000)")
tx2=0x$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
t0=$(now_ms)
st=$(curl -s -o "$IT_DIR/tx2.out" -w '%{http_code}' --max-time 30 "$URL/api/serverless" -d "{\"tx_hash\":\"$tx2\",\"input\":{}}")
t=$(( $(now_ms) - t0 ))
adv_attempt
eq "2.5 s RPC: tx_hash execution gets 503 RPC_UNAVAILABLE" "$st $(jq -r .error.code "$IT_DIR/tx2.out")" "503 RPC_UNAVAILABLE"
check "in bounded time (${t} ms: attempts of 1 s plus backoff)" test "$t" -lt 10000
sleep 4
rate=$(( ($(calls) - c0) * 10 / ($(date +%s) - s0) ))
check "the watcher backs off: $((rate / 10)).$((rate % 10)) calls/s to the slow node" test "$rate" -le 100
check "timeouts logged" grep -q 'Timeout\|timed out\|timeout' "$IT_DIR/node/chain-watcher.log"
check "chain watcher alive" kill -0 "$cw"
adv_attempt $(( $(calls) - c0 ))
adv_note "RPC delayed 2.5 s (> 1 s timeout): tx_hash 503 RPC_UNAVAILABLE in ${t} ms, watcher at $((rate / 10)).$((rate % 10)) calls/s"

# 3. Back to normal.
echo pass >"$mode_file"
for j in "${jobs[@]}"; do
  wait_response "$j" 60 || { fail "job $j never answered"; continue; }
  eq "job $j answered exactly once, by us" "$(chain_job_response "$IT_DIR/chain" "$j" | grep -c "^$ENCLAVE ")" 1
done
mined() { [ "$(sqlite3 "$db" "SELECT count(*) FROM txs WHERE kind = 'submit' AND state = 'mined'")" -ge "${#jobs[@]}" ]; }
_stack_wait "receipts recorded" 200 mined || true
eq "one mined submit per job" \
  "$(sqlite3 "$db" "SELECT count(*) FROM (SELECT job_id FROM txs WHERE kind = 'submit' AND state = 'mined' AND status = 1 GROUP BY job_id HAVING count(*) <> 1)")" 0
sends=$(grep -c 'eth_sendRawTransaction' "$IT_DIR/proxy.log" || true)
adv_note "after the slow phase: ${#jobs[@]} jobs answered exactly once ($sends raw-transaction sends through the proxy)"
adv_next 2

# Down and reorg: the integration tests (full form).
if quick; then
  adv_note "RPC down: tests/integration/t0350-rpc-outage; reorg: tests/integration/t0340-reorg (run by make integration)"
else
  for t in t0350-rpc-outage t0340-reorg; do
    rc=0
    bash "$IT_ROOT/tests/integration/$t.sh" >"$IT_DIR/$t.out" 2>&1 || rc=$?
    grep -E 'FAIL|PASSED|FAILED' "$IT_DIR/$t.out" | sed 's/^/  /' || true
    eq "$t passed" "$rc" 0
    adv_attempt
    adv_note "$t: $([ "$rc" = 0 ] && echo passed || echo FAILED)"
  done
fi
