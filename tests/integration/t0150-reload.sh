#!/usr/bin/env bash
# SIGHUP while requests flow: the config is re-read, handlers are replaced,
# and no request is lost.  An invalid config on SIGHUP is refused and the
# node keeps running on the old one.
. "$(dirname "$0")/lib.sh"
# All 30 requests come from one address: let it hold every place (the
# per-client limit is not what this test is about).
it_start slots=3 queue_timeout_ms=20000 max_connections=48 max_connections_per_client=48

fid=$(upload "$IT_ROOT/examples/factors.js")
slow=$(upload "$(js slow 'export default { async fetch(r) { const i = await r.json(); const t = Date.now(); while (Date.now() - t < 300) {} return Response.json(i); } }')")
master=$(cat "$IT_DIR/node/fcgi.pid")
handlers_before=$(pgrep -P "$master" | sort | tr '\n' ' ')

pids=()
for i in $(seq 1 30); do
  id=$fid; [ $((i % 3)) = 0 ] && id=$slow
  ( curl -sS -o "$IT_DIR/r.$i" -w '%{http_code}' --max-time 60 "$URL/api/serverless" \
      -d "{\"code_id\":\"$id\",\"input\":{\"num\":$((i + 10))}}" >"$IT_DIR/s.$i" || echo 000 >"$IT_DIR/s.$i" ) &
  pids+=($!)
  [ "$i" = 10 ] && { sed -i 's/^slots = .*/slots = 2/' "$IT_DIR/node/executor.conf"; kill -HUP "$master"; }
  [ "$i" = 20 ] && kill -HUP "$master"
done
wait "${pids[@]}"
lost=0
for i in $(seq 1 30); do
  s=$(cat "$IT_DIR/s.$i")
  if [ "$s" != 200 ] || [ "$(jq -r .num "$IT_DIR/r.$i")" != $((i + 10)) ]; then
    lost=$((lost + 1)); it_log "request $i: $s $(head -c 200 "$IT_DIR/r.$i")"
  fi
done
eq "no request lost across two reloads" "$lost" 0
handlers_after=$(pgrep -P "$master" | sort | tr '\n' ' ')
check "handlers were replaced" test "$handlers_before" != "$handlers_after"
eq "new slot count applied" "$(curl -s "$URL/healthz" | jq .slots.total)" 2

echo "slots = banana" >>"$IT_DIR/node/executor.conf"
kill -HUP "$master"
_stack_wait "rejection logged" 100 grep -q "new configuration rejected" "$IT_DIR/node/fcgi.log"
check "bad config rejected in the log" grep -q "new configuration rejected" "$IT_DIR/node/fcgi.log"
run "$fid" '{"num":21}'
eq "still serving after a rejected reload" "$(jq -c .factors <<<"$BODY")" "[3,7]"
check "master still running" kill -0 "$master"
