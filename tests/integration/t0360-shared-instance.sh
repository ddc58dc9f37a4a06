#!/usr/bin/env bash
# oyster-fcgi and oyster-chain-watcher share one instance (one cgroup tree
# oyster/<instance>, as the packaged config has it).  Stopping or
# restarting oyster-fcgi while a chain job runs must not touch the chain
# watcher's job<i> groups: the job finishes and is answered on chain, and
# the instance group goes only when the last daemon stops.
. "$(dirname "$0")/lib.sh"
it_chain
it_chain_node poll_interval_ms=200 job_capacity=1
inst=$(it_instance)
slow=$(chain_save_code "$IT_DIR/chain" "$(js slow 'export default { async fetch(r) { const t = Date.now(); while (Date.now() - t < 2500) {} return new Response("done " + (await r.text())); } }')")

groups() { # the instance's groups in the memory hierarchy (v1) or the unified one (v2)
  local d
  for d in /sys/fs/cgroup/memory/oyster/"$inst" /sys/fs/cgroup/oyster/"$inst"; do
    [ -d "$d" ] && find "$d" -mindepth 1 -maxdepth 1 -type d -printf '%f\n'
  done | sort | tr '\n' ' '
}
job_state() { sqlite3 "$(_stack_conf_get "$IT_DIR/node" db_path)" "SELECT state FROM jobs WHERE job_id = '$1'"; }
check "both daemons' groups live in one instance ($(groups))" bash -c "grep -q job0 <<<'$(groups)' && grep -q slot0 <<<'$(groups)'"

j=$(chain_create_job "$IT_DIR/chain" "$slow" "$(hexof_str 'x')" 20000)
_stack_wait "job $j claimed" 200 bash -c "[ \"\$(sqlite3 '$(_stack_conf_get "$IT_DIR/node" db_path)' \"SELECT state FROM jobs WHERE job_id = '$j'\")\" = claimed ]" \
  || fail "job $j was not claimed"
# oyster-fcgi stops (SIGTERM, as systemctl stop/restart) while the job runs.
_stack_kill_wait "$IT_DIR/node/fcgi.pid" TERM
eq "oyster-fcgi's slot groups are gone, the job group is not" "$(groups)" "job0 "
eq "the job is still running" "$(job_state "$j")" claimed
wait_response "$j" 30 || fail "job $j not answered after oyster-fcgi stopped"
read -r ex code out _ < <(chain_job_response "$IT_DIR/chain" "$j" | head -1)
eq "answered by us" "$ex" "$ENCLAVE"
eq "error code 0 (the run was not killed)" "$code" 0
eq "with the function's output" "$out" "$(hexof_str 'done x')"

# oyster-fcgi back: serves again beside the chain watcher.
"$OYSTER_FCGI" -c "$IT_DIR/node/executor.conf" >>"$IT_DIR/node/fcgi.log" 2>&1 &
echo $! >"$IT_DIR/node/fcgi.pid"
_stack_wait "oyster-fcgi back" 200 curl -sf "$URL/healthz" || fail "oyster-fcgi did not come back"
fid=$(upload "$IT_ROOT/examples/factors.js")
run "$fid" '{"num":10}'
eq "executions work again" "$BODY" '{"num":10,"factors":[2,5]}'

# The chain watcher stops first this time: the instance stays for oyster-fcgi.
cw_stop "$IT_DIR/node"
check "job group gone, slot groups kept ($(groups))" bash -c "! grep -q job0 <<<'$(groups)' && grep -q slot0 <<<'$(groups)'"
run "$fid" '{"num":12}'
eq "executions still work" "$BODY" '{"num":12,"factors":[2,2,3]}'
# The teardown stops oyster-fcgi and fails the test if the instance group is left.
