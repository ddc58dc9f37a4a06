#!/usr/bin/env bash
# Catalogue row 12: malformed JSON and hostile RPC answers.  A node and its
# chain watcher talk to the chain through build/tests/adv_rpc_proxy, which
# passes calls to anvil or answers them in a hostile way: 100 000 levels of
# nesting, duplicate keys, a 40-digit id and a 5000-digit result, 100 MB
# replies, an endless chunked reply, wrong types, truncated bodies, HTML,
# HTTP 500, a 1 MB error message, closed connections.  For each, a tx_hash
# execution (eth_getTransactionByHash through the proxy) gets a clear error
# (a JSON error code, 4xx or 503 RPC_UNAVAILABLE, never 500) in bounded
# time, transport-like failures are retried (the proxy counts the calls),
# and meanwhile the chain watcher gets the same answers.  Memory stays
# bounded (peak RSS of every handler and watcher process), nothing
# crashes, and once the proxy passes calls again a tx_hash execution and a
# chain job both succeed.
. "$(dirname "$0")/lib.sh"
it_chain
mode_file=$IT_DIR/rpc.mode
echo pass >"$mode_file"
adv_bg "$IT_DIR/proxy.out" "$ADV_BIN/adv_rpc_proxy" -u "${RPC##*:}" -m "$mode_file" -P "$IT_DIR/proxy.port" -L "$IT_DIR/proxy.log"
_stack_wait "proxy port" 100 test -s "$IT_DIR/proxy.port"
PROXY=http://127.0.0.1:$(cat "$IT_DIR/proxy.port")
adv_chain_node "rpc_url=$PROXY" rpc_timeout_ms=1000 poll_interval_ms=200 slots=2
factors_tx=$(chain_save_code "$IT_DIR/chain" "$IT_ROOT/examples/factors.js")
handlers0=$(adv_handlers)
cw_master=$(cat "$IT_DIR/node/cw.pid")
cw_procs() { echo "$cw_master"; pgrep -P "$cw_master" || true; }
calls() { grep -c "$1" "$IT_DIR/proxy.log" || true; }

MODES="deep dupkeys hugenum huge wrongtypes truncated garbage http500 rpcerror close endless hang"
quick && MODES="deep dupkeys hugenum huge wrongtypes truncated http500 endless"
for m in $MODES; do
  echo "$m" >"$mode_file"
  c0=$(calls "$m \"eth_getTransactionByHash\"")
  tx=0x$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')   # never cached: a new hash each time
  t0=$(now_ms)
  st=$(curl -s -o "$IT_DIR/tx.out" -w '%{http_code}' --max-time 60 "$URL/api/serverless" \
    -d "{\"tx_hash\":\"$tx\",\"input\":{\"num\":6}}") || st=000
  t=$(( $(now_ms) - t0 ))
  adv_attempt
  code=$(jq -r .error.code "$IT_DIR/tx.out" 2>/dev/null || echo "not JSON")
  n=$(( $(calls "$m \"eth_getTransactionByHash\"") - c0 ))
  check "$m: tx_hash gets a clear error ($st $code: $(jq -r .error.message "$IT_DIR/tx.out" 2>/dev/null | cut -c1-80))" \
    bash -c "grep -Eqx '400|404|413|502|503' <<<'$st' && [ '$code' != 'not JSON' ] && [ -n '$code' ]"
  check "$m: answered in bounded time (${t} ms, $n call(s) to the RPC)" test "$t" -lt 15000
  case $m in http500|close|truncated|hang) check "$m: retried ($n calls)" test "$n" -ge 2;; esac
  sleep 0.6   # the chain watcher polls every 200 ms: it gets this too
  adv_attempt $(( $(calls "^[0-9]* $m ") - n ))
  check "$m: chain watcher alive" kill -0 "$cw_master"
  adv_note "$m: $st $code in ${t} ms ($n calls)"
done
echo pass >"$mode_file"

eq "no handler crashed" "$(adv_handlers)" "$handlers0"
eq "chain watcher: same master, children alive" "$(kill -0 "$cw_master" && pgrep -P "$cw_master" | wc -l)" \
  "$(pgrep -P "$cw_master" | wc -l)"
max=0 who=""
for p in $(pgrep -P "$(cat "$IT_DIR/node/fcgi.pid")") $(cw_procs); do
  h=$(hwm_kb "$p"); [ "${h:-0}" -gt "$max" ] && { max=$h; who=$(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-40); }
done
check "bounded memory: the largest peak RSS of a handler or watcher process is $((max / 1024)) MiB ($who)" \
  test "$max" -lt $((96 * 1024))
check "the watcher logged the hostile answers as errors" grep -q 'eth_rpc' "$IT_DIR/node/chain-watcher.log"
adv_note "peak RSS of any handler/watcher process $((max / 1024)) MiB (replies capped, 100 MB never read)"

# Everything works again through the proxy once it passes calls.
run_tx() { curl -s --max-time 30 "$URL/api/serverless" -d "{\"tx_hash\":\"$factors_tx\",\"input\":{\"num\":6}}"; }
eq "tx_hash execution through the proxy" "$(run_tx | jq -c .factors)" "[2,3]"
j=$(chain_create_job "$IT_DIR/chain" "$factors_tx" "$(hexof_str '{"num":33}')" 20000)
wait_response "$j" 60 || fail "job $j not answered after the hostile answers"
read -r ex code out _ < <(chain_job_response "$IT_DIR/chain" "$j" | head -1)
eq "a chain job is answered by us afterwards" "$ex $code" "$ENCLAVE 0"
eq "with the right output" "$out" "$(hexof_str '{"num":33,"factors":[3,11]}')"
adv_next 2
