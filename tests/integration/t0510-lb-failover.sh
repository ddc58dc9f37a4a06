#!/usr/bin/env bash
# Two complete nodes (own config, sockets, database, slots) behind the
# load-balancer config of nginx/oyster-lb.conf.in, on one machine.  Under a
# steady load one node is SIGKILLed (its nginx and oyster-fcgi): only the
# requests in flight on it at that instant may fail, the survivor takes the
# rest (a POST whose connection was refused is retried there), and once the
# node is restarted it gets requests again.  Also: request ids cross the
# balancer, and the per-node admin API and /metrics are not served by it.
. "$(dirname "$0")/lib.sh"

SLOTS=2
# Both nodes trust the balancer's X-Forwarded-For (trusted_proxies), so
# their per-client limit and logs see the client, not the balancer.
it_start slots=$SLOTS trusted_proxies=127.0.0.1
A=$IT_DIR/node
B=$IT_DIR/node2
IT_EXTRA_NODES+=("$B")
stack_init "$B" slots=$SLOTS trusted_proxies=127.0.0.1
stack_start "$B"
pa=$(cat "$A/port") pb=$(cat "$B/port")

# The balancer: fail fast (a node that refuses once is left out for 2 s).
LBD=$IT_DIR/lb
mkdir -p "$LBD/tmp"
IT_EXTRA_NODES+=("$LBD")   # stack_stop stops its nginx (LBD/nginx.pid) at exit
lbport=$(_stack_pick_port)
"$IT_ROOT/scripts/render-lb.sh" -l "127.0.0.1:$lbport" -a "$LBD/access.log" -f 1 -F 2 -c 1 \
  -o "$LBD/site.conf" "127.0.0.1:$pa" "127.0.0.1:$pb"
sed -e "s|@NGINX_DIR@|$LBD|g" -e "s|@NGINX_USER@|$([ "$(id -u)" = 0 ] && echo 'user root;')|g" \
  "$IT_ROOT/nginx/nginx-standalone.conf.in" >"$LBD/nginx.conf"
check "balancer config valid" "$NGINX_BIN" -t -q -p "$LBD" -c "$LBD/nginx.conf" -e "$LBD/error.log"
"$NGINX_BIN" -p "$LBD" -c "$LBD/nginx.conf" -e "$LBD/error.log" -g 'daemon off;' >"$LBD/stdout.log" 2>&1 &
echo $! >"$LBD/nginx.pid"
LB=http://127.0.0.1:$lbport
_stack_wait "balancer" 200 curl -sf "$LB/healthz"

# Code is per node (each its own database): the same upload gives the same id.
URL=$(stack_url "$A"); ida=$(upload "$IT_ROOT/examples/factors.js")
URL=$(stack_url "$B"); idb=$(upload "$IT_ROOT/examples/factors.js")
eq "same code id on both nodes" "$ida" "$idb"
body="{\"code_id\":\"$ida\",\"input\":{\"num\":10}}"
want='{"num":10,"factors":[2,5]}'

# Request ids: the balancer's id reaches the node's logs and comes back.
rid=$(curl -s -D - -o /dev/null "$LB/api/serverless" -d "$body" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-request-id" {print $2}')
check "balancer returns a request id ($rid)" grep -Eq '^[0-9a-f]{32}$' <<<"$rid"
check "the node logged the balancer's request id" \
  bash -c "cat '$A/fcgi.log' '$B/fcgi.log' | grep '\"route\":\"serverless\"' | grep -q '\"request_id\":\"$rid\"'"
check "and so did the node's nginx" bash -c "cat '$A/nginx/access.log' '$B/nginx/access.log' | grep -q '\"request_id\":\"$rid\"'"
out=$(curl -s -H 'X-Request-ID: client-chosen.id-1' -D "$IT_DIR/lbh" "$LB/api/serverless" -d "$body")
eq "answer through the balancer" "$out" "$want"
check "a client's X-Request-ID is kept end to end" \
  bash -c "grep -qi '^x-request-id: client-chosen.id-1' '$IT_DIR/lbh' && grep -q '\"request_id\":\"client-chosen.id-1\"' '$A/fcgi.log' '$B/fcgi.log'"
# The client's address crosses the balancer (X-Forwarded-For, realip).
curl -s -o /dev/null -H 'X-Request-ID: xff-check-1' -H 'X-Forwarded-For: 10.9.9.9' "$LB/api/serverless" -d "$body"
check "the node sees the client's address behind the balancer (trusted_proxies)" \
  bash -c "cat '$A/nginx/access.log' '$B/nginx/access.log' | grep '\"request_id\":\"xff-check-1\"' | grep -q '\"remote_addr\":\"10.9.9.9\"'"
for p in /executor-details /metrics /immutable-config /; do
  eq "balancer does not serve $p" "$(curl -s -o /dev/null -w '%{http_code}' "$LB$p")" 404
done
s=$(curl -s -o "$IT_DIR/unreg" -w '%{http_code}' -H 'Host: unregister.oyster.localhost' "$LB/x")
eq "balancer answers unregister.* itself, never forwards it" "$s $(jq -r .error.message "$IT_DIR/unreg")" \
  "404 per-node endpoint: ask the node itself"
check "no node saw it" bash -c "! grep -qh 'unregister' '$A/nginx/access.log' '$B/nginx/access.log'"

# ---- steady load; kill A; restart A ---------------------------------------------
ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
WORKERS=6
load_worker() { # ID END_MS: one request after another until END_MS
  local id=$1 end=$2 n=0 s e code
  while :; do
    s=$(ms); [ "$s" -lt "$end" ] || break
    n=$((n + 1))
    code=$(curl -s -o "$IT_DIR/out.$id" -w '%{http_code}' --max-time 30 -H "X-Request-ID: lb-$id-$n" \
           "$LB/api/serverless" -d "$body") || code=000
    [ "$code" != 200 ] || cmp -s "$IT_DIR/out.$id" <(printf '%s' "$want") || code=BAD
    e=$(ms)
    echo "$s $e $code lb-$id-$n"
  done >"$IT_DIR/load.$id"
}
served() { grep -c '"uri":"/api/serverless"' "$1/nginx/access.log" || true; }

t_start=$(ms)
t_end=$((t_start + 13000))
loaders=()
for i in $(seq 1 $WORKERS); do load_worker "$i" "$t_end" & loaders+=($!); done
sleep 3
a_before=$(served "$A")

# A crashes: nginx (master and workers), then oyster-fcgi (master and handlers).
ngx=$(cat "$A/nginx.pid") fcgi=$(cat "$A/fcgi.pid")
victims="$ngx $(pgrep -P "$ngx" | tr '\n' ' ') $fcgi $(pgrep -P "$fcgi" | tr '\n' ' ')"
disown "$ngx" "$fcgi" 2>/dev/null || true  # no "Killed" job notices from this shell
t_kill0=$(ms)
kill -KILL $ngx $(pgrep -P "$ngx") 2>/dev/null
kill -KILL $fcgi $(pgrep -P "$fcgi") 2>/dev/null
t_kill1=$(ms)
rm -f "$A/nginx.pid" "$A/fcgi.pid"
it_log "killed node A ($victims) at +$((t_kill0 - t_start)) ms"
_stack_wait "A's processes gone" 100 bash -c "for p in $victims; do kill -0 \$p 2>/dev/null && exit 1; done; exit 0"
a_at_kill=$(served "$A")
# A workerd running for a killed handler may outlive it; the restarted node
# must clean its slots (checked after the restart).
orphans=$(stack_workerd_pids "$A" | tr '\n' ' ')
b_at_kill=$(served "$B")
sleep 3
b_after_outage=$(served "$B")
a_dead=$(served "$A")

t_restart0=$(ms)
stack_start "$A"
t_restart=$(ms)
a_restarted=$(served "$A")
it_log "restarted node A at +$((t_restart - t_start)) ms (took $((t_restart - t_restart0)) ms)"
gone() { local p; for p in $orphans; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
check "the restarted node cleaned the killed one's workerd (${orphans:-none})" _stack_wait "orphans gone" 100 gone
wait "${loaders[@]}"
a_end=$(served "$A")

# ---- what the clients saw ------------------------------------------------------
cat "$IT_DIR"/load.* | sort -n >"$IT_DIR/load.all"
total=$(wc -l <"$IT_DIR/load.all")
failed=$(awk '$3 != 200' "$IT_DIR/load.all" | wc -l)
it_log "$total requests, $failed failed; per phase: $(awk -v k="$t_kill0" -v r="$t_restart" \
  '{p = $1 < k ? "before" : ($1 < r ? "outage" : "after"); n[p]++; if ($3 != 200) f[p]++}
   END {for (p in n) printf "%s %d (%d failed) ", p, n[p], f[p]}' "$IT_DIR/load.all")"
check "steady load: at least 150 requests ($total)" test "$total" -ge 150
# In flight at the kill: started before it ended, finished after it began.
stray=$(awk -v k0="$t_kill0" -v k1="$t_kill1" '$3 != 200 && !($1 <= k1 && $2 >= k0)' "$IT_DIR/load.all")
eq "every failed request was in flight at the kill" "$stray" ""
check "failures at most the in-flight requests on A ($failed <= $SLOTS + $WORKERS / 2)" \
  test "$failed" -le $((SLOTS + WORKERS / 2))
awk '$3 != 200' "$IT_DIR/load.all" | sed "s/^/[$IT_NAME]   failed: /"
during=$(awk -v k="$t_kill1" -v r="$t_restart0" '$1 > k && $2 < r && $3 == 200' "$IT_DIR/load.all" | wc -l)
check "requests kept succeeding during the outage ($during)" test "$during" -ge 20
check "A was serving before the kill ($a_before)" test "$a_before" -ge 10
eq "A served nothing while dead" "$a_dead" "$a_at_kill"
check "the survivor took the load (B +$((b_after_outage - b_at_kill)) in 3 s)" \
  test $((b_after_outage - b_at_kill)) -ge $((during / 2))

# The balancer's log says where each request went.
retried=$(jq -r 'select(.uri == "/api/serverless" and .status == 200) | .upstream' "$LBD/access.log" |
          grep -c "^127.0.0.1:$pa, 127.0.0.1:$pb\$" || true)
check "POSTs refused by the dead node were retried on the survivor ($retried)" test "$retried" -ge 1
jq -r --arg a "127.0.0.1:$pa" 'select(.uri == "/api/serverless" and .status == 200 and .upstream == $a) | .request_id' \
  "$LBD/access.log" | sort >"$IT_DIR/on_a"
awk -v r="$t_restart" '$1 > r {print $4}' "$IT_DIR/load.all" | sort >"$IT_DIR/after_restart"
after_on_a=$(comm -12 "$IT_DIR/on_a" "$IT_DIR/after_restart" | wc -l)
check "A rejoined: it served again after its restart ($a_restarted -> $a_end)" test "$a_end" -gt "$a_restarted"
check "the balancer sends to A again ($after_on_a of $(wc -l <"$IT_DIR/after_restart") after the restart)" \
  test "$after_on_a" -gt 0
after_fail=$(awk -v r="$t_restart" '$1 > r && $3 != 200' "$IT_DIR/load.all" | wc -l)
eq "no failure after the restart" "$after_fail" 0

# ---- the second node leaves nothing behind ------------------------------------------
stack_stop "$B"
instb=$(sed -n 's/^instance = //p' "$B/executor.conf")
left=$({ ls -d /sys/fs/cgroup/*/oyster/"$instb" 2>/dev/null || true; } | wc -l)
left=$((left + $(stack_workerd_pids "$B" | wc -l) + $(pgrep -f -c "oyster-fcgi -c $B/" || true)))
eq "node B left no process or cgroup" "$left" 0
