#!/usr/bin/env bash
# SIGTERM drains: a request in flight completes, then the master exits and
# removes its sockets and cgroups.
. "$(dirname "$0")/lib.sh"
it_start slots=2

slow=$(upload "$(js slow 'export default { fetch() { const t = Date.now(); while (Date.now() - t < 1000) {} return new Response("finished"); } }')")
master=$(cat "$IT_DIR/node/fcgi.pid")
( curl -s -o "$IT_DIR/d.out" -w '%{http_code}' "$URL/api/serverless" -d "{\"code_id\":\"$slow\"}" >"$IT_DIR/d.status" ) &
cpid=$!
_stack_wait "slot busy" 100 bash -c "[ \"\$(curl -s $URL/healthz | jq .slots.busy)\" = 1 ]"
kill -TERM "$master"
wait "$cpid"
eq "in-flight request finished during drain" "$(cat "$IT_DIR/d.status") $(cat "$IT_DIR/d.out")" "200 finished"
_stack_wait "master exit" 200 bash -c "! kill -0 $master"
check "master exited" bash -c "! kill -0 $master"
check "exec socket removed" test ! -e "$IT_DIR/node/run/fcgi.sock"
check "cgroups removed" bash -c "! ls -d /sys/fs/cgroup/*/oyster/$(it_instance) 2>/dev/null | grep -q ."
rm -f "$IT_DIR/node/fcgi.pid"
