#!/usr/bin/env bash
# Catalogue row 14: the workerd running a request is SIGKILLed (as the
# kernel's OOM killer or an operator would), in pool mode and in process
# mode: the client gets 502 WORKER_CRASHED at once (not at the deadline),
# the slot is restored (a new warm workerd in pool mode, the cgroup empty
# in process mode) and serves the next requests.  In pool mode the idle
# warm workerds are killed too: the next requests still succeed.
. "$(dirname "$0")/lib.sh"
DL=8000
slow_src='export default { fetch() { const t = Date.now(); while (Date.now() - t < 4000) {} return new Response("done"); } }'
for mode in pool process; do
  if [ "$mode" = process ]; then stack_stop "$IT_DIR/node"; fi
  adv_start sandbox_mode=$mode slots=2 deadline_ms=$DL
  slow=$(upload "$(js slow "$slow_src")")
  for round in 1 2; do
    ( curl -s -o "$IT_DIR/k.out" -w '%{http_code}' --max-time 20 "$URL/api/serverless" \
        -d "{\"code_id\":\"$slow\",\"input\":null}" >"$IT_DIR/k.status" ) &
    cpid=$!
    busy() { [ "$(curl -s "$URL/healthz" | jq .slots.busy)" = 1 ]; }
    _stack_wait "a slot busy" 100 busy || true
    sleep 0.3
    wk=$(busy_workerd)
    t0=$(now_ms)
    kill -KILL "$wk"
    wait "$cpid" || true
    t=$(( $(now_ms) - t0 ))
    adv_attempt
    eq "$mode #$round: 502 WORKER_CRASHED" "$(cat "$IT_DIR/k.status") $(jq -r .error.code "$IT_DIR/k.out" 2>/dev/null)" \
      "502 WORKER_CRASHED"
    check "$mode #$round: at once, not at the deadline (${t} ms)" test "$t" -lt 1500
    free() { [ "$(curl -s "$URL/healthz" | jq .slots.free)" = 2 ]; }
    _stack_wait "slots free" 100 free || true
    eq "$mode #$round: both slots free again" "$(curl -s "$URL/healthz" | jq .slots.free)" 2
    adv_next 2
  done
  if [ "$mode" = pool ]; then
    warm() { [ "$(stack_workerd_pids "$IT_DIR/node" | wc -l)" = 2 ]; }
    _stack_wait "two warm workerds" 100 warm || true
    eq "pool: each slot has its warm workerd again" "$(stack_workerd_pids "$IT_DIR/node" | wc -l)" 2
    # Idle warm workerds killed behind the handlers' backs.
    idle=$(stack_workerd_pids "$IT_DIR/node" | tr '\n' ' ')
    # shellcheck disable=SC2086
    kill -KILL $idle
    adv_attempt 2
    adv_next 4
    adv_note "pool: 2 busy workerds SIGKILLed -> 502 WORKER_CRASHED in ${t} ms (last), 2 idle warm ones killed: next requests fine"
  else
    # What is left in the slots is only the next runs' spares (jailed, not yet workerd).
    left() { echo $(( $(cat /sys/fs/cgroup/pids/oyster/"$(it_instance)"/*/cgroup.procs | wc -l) - $(stack_spare_pids "$IT_DIR/node" | wc -l) )); }
    _stack_wait "no workerd left" 100 bash -c "[ \"\$(cat /sys/fs/cgroup/pids/oyster/$(it_instance)/*/cgroup.procs | wc -l)\" = \"\$(. '$IT_ROOT/scripts/stack-lib.sh'; stack_spare_pids '$IT_DIR/node' | wc -l)\" ]" || true
    eq "process: no workerd left in the slot cgroups after the kills (only spares)" "$(left)" 0
    adv_note "process: 2 workerds SIGKILLed mid-request -> 502 WORKER_CRASHED in ${t} ms (last), slots restored"
  fi
done
