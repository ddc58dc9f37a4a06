#!/usr/bin/env bash
# Catalogue row 15: a handler or the master is SIGKILLed.
#   a slot handler mid-request: 502 UPSTREAM_UNAVAILABLE at once, its
#     workerd dies with it, the master starts a new handler (counted);
#   the control handler: replaced, /healthz answers again;
#   the master mid-request: its handlers die with it (PDEATHSIG) and take
#     their workerds with them; nothing keeps running; a new master starts,
#     takes the sockets and cgroups over, and serves;
#   the master and every handler at once (an OOM kill of the whole group):
#     the workerds die with their handlers; the slot cgroups are left; the
#     next master takes them over ("left by an earlier run") and serves.
# The final stop leaves nothing behind (checked by the teardown).
. "$(dirname "$0")/lib.sh"
adv_start slots=2 deadline_ms=6000
node=$IT_DIR/node
inst=$(it_instance)
loop=$(upload "$(js loop 'export default { fetch() { const t = Date.now(); while (Date.now() - t < 3000) {} return new Response("done"); } }')")
master=$(cat "$node/fcgi.pid")
inflight() { # inflight NAME: a 3 s request in the background, status in $IT_DIR/NAME.status
  ( curl -s -o "$IT_DIR/$1.out" -w '%{http_code}' --max-time 20 "$URL/api/serverless" \
      -d "{\"code_id\":\"$loop\",\"input\":null}" >"$IT_DIR/$1.status" ) &
}
busy1() { [ "$(curl -s "$URL/healthz" | jq .slots.busy)" = 1 ]; }
cgroups_left() { local d n=0; for d in /sys/fs/cgroup/*/oyster/"$inst"/slot*; do [ -d "$d" ] && n=$((n + 1)); done; echo "$n"; }
start_master() {
  "$OYSTER_FCGI" -c "$node/executor.conf" >>"$node/fcgi.log" 2>&1 &
  echo $! >"$node/fcgi.pid"
  ADV_DAEMONS+=($!)
  ok() { curl -sf "$URL/healthz" >/dev/null; }
  _stack_wait "new master serving" 200 ok || true
}

# 1. A slot handler mid-request.
inflight h; cpid=$!
_stack_wait "a slot busy" 100 busy1 || true
sleep 0.3
wk=$(busy_workerd); owner=$(ps -o ppid= -p "$wk" | tr -d ' ')
t0=$(now_ms); kill -KILL "$owner"; wait "$cpid" || true; t=$(( $(now_ms) - t0 ))
adv_attempt
eq "handler killed mid-request: 502 UPSTREAM_UNAVAILABLE" "$(cat "$IT_DIR/h.status") $(jq -r .error.code "$IT_DIR/h.out")" \
  "502 UPSTREAM_UNAVAILABLE"
check "at once (${t} ms)" test "$t" -lt 1500
_stack_wait "its workerd gone" 100 proc_dead "$wk" || true
check "its workerd died with it" proc_dead "$wk"
adv_next 2
eq "the restart is counted" "$(adv_restarts)" 1
adv_note "slot handler SIGKILLed mid-request: 502 in ${t} ms, its workerd gone, handler replaced"

# 2. The control handler.
curl -sf "$URL/healthz" >/dev/null   # the control handler logs it with its pid
ctl=$(grep '"comp":"fcgi-control"' "$node/fcgi.log" | tail -1 | jq -r .pid)
check "control handler found ($ctl)" grep -qx "$ctl" <(pgrep -P "$master")
kill -KILL "$ctl"
adv_attempt
hz() { curl -sf "$URL/healthz" >/dev/null; }
_stack_wait "healthz back" 100 hz || true
check "control handler killed: /healthz answers again" hz
eq "both restarts counted" "$(adv_restarts)" 2
adv_note "control handler SIGKILLed: replaced, /healthz back"

# 3. The master mid-request.
handlers=$(pgrep -P "$master" | tr '\n' ' ')
workerds=$(stack_workerd_pids "$node" | tr '\n' ' ')
inflight m; cpid=$!
_stack_wait "a slot busy" 100 busy1 || true
kill -KILL "$master"
adv_attempt
wait "$cpid" || true
check "the in-flight request got an answer, no hang ($(cat "$IT_DIR/m.status"))" grep -Eqx '200|502' "$IT_DIR/m.status"
gone() { local p; for p in $handlers $workerds; do proc_dead "$p" || return 1; done; }
_stack_wait "handlers and workerds gone" 200 gone || true
check "handlers and their workerds died with the master" gone
st=$(curl -s -o "$IT_DIR/down.out" -w '%{http_code}' --max-time 5 "$URL/api/serverless" -d '{"code_id":"0x00"}')
eq "while no master runs: nginx answers 502 at once" "$st $(jq -r .error.code "$IT_DIR/down.out" 2>/dev/null)" "502 UPSTREAM_UNAVAILABLE"
left1=$(cgroups_left)
start_master
master=$(cat "$node/fcgi.pid")
adv_next 2
adv_note "master SIGKILLed mid-request: handlers + workerds gone, $left1 slot cgroup dirs left, new master served"

# 4. The master and all its handlers at once.
handlers=$(pgrep -P "$master" | tr '\n' ' ')
workerds=$(stack_workerd_pids "$node" | tr '\n' ' ')
# shellcheck disable=SC2086
kill -KILL "$master" $handlers
adv_attempt
_stack_wait "workerds gone" 60 gone || true
still=$(for p in $workerds; do proc_dead "$p" || echo "$p"; done | wc -l)
gone_note() { [ "$still" = 0 ] && echo "died with their handlers" || echo "NOT dead 3 s later ($still of $(wc -w <<<"$workerds") still running, reparented to init)"; }
check "every workerd died with its handler ($(gone_note))" test "$still" = 0
left2=$(cgroups_left)
check "the slot cgroups are left behind ($left2)" test "$left2" -gt 0
start_master
check "the new master adopted the cgroups left behind" grep -q 'left by an earlier run' "$node/fcgi.log"
adv_next 3
adv_note "master + handlers SIGKILLed together: workerds $(gone_note), $left2 slot cgroup dirs left and taken over by the next master"
