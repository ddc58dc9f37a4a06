#!/usr/bin/env bash
# Catalogue row 10: slowloris and slow bodies against nginx are timed out
# and legitimate clients are served meanwhile.
#   headers: many connections that trickle header lines or stall mid
#     request line: closed at client_header_timeout;
#   bodies: more connections than max_connections (from another loopback
#     address, 127.0.0.2) that stall mid body, or trickle one body byte a
#     second: beyond max_connections_per_client refused at once, stalled
#     ones closed at client_body_timeout, and executions from 127.0.0.1
#     must be served all along (the per-client limit keeps the attacker
#     from holding every place of max_connections).
# The site's timeouts are 10 s (checked); the quick form renders the node's
# nginx with 2 s instead so the attack stays short.  Bounded: at most a few
# hundred loopback connections for about two timeouts.
. "$(dirname "$0")/lib.sh"
adv_start slots=2 deadline_ms=5000
site=$IT_DIR/node/nginx/site.conf
check "the site times headers out at 10 s" grep -q 'client_header_timeout 10s;' "$site"
check "the site times bodies out at 10 s" grep -q 'client_body_timeout 10s;' "$site"
T=10 NH=500
if quick; then
  T=2 NH=200
  sed -i "s/client_header_timeout 10s;/client_header_timeout ${T}s;/; s/client_body_timeout 10s;/client_body_timeout ${T}s;/" "$site"
  "$NGINX_BIN" -p "$IT_DIR/node/nginx" -c "$IT_DIR/node/nginx/nginx.conf" -e "$IT_DIR/node/nginx/error.log" -s reload
  sleep 0.5
fi
port=$(cat "$IT_DIR/node/port")
maxc=$(_stack_conf_get "$IT_DIR/node" max_connections)
NB=$((maxc + 8))
fid=$(upload "$IT_ROOT/examples/factors.js")

legit_loop() { # legit_loop SECONDS OUT: one execution every 0.25 s, "status ms" lines
  local end=$(( $(date +%s) + $1 ))
  while [ "$(date +%s)" -lt "$end" ]; do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 5 "$URL/api/serverless" \
      -d "{\"code_id\":\"$fid\",\"input\":{\"num\":91}}" || echo "000 5"
    sleep 0.25
  done >"$2"
}
served() { # served FILE -> "ok/total"
  echo "$(awk '$1 == 200 && $2 < 1.5' "$1" | wc -l)/$(wc -l <"$1")"
}
closed_at_timeout() { # closed_at_timeout LINE: all closed by the server between T-0.5 s and T+3 s
  local opened closed first last still
  opened=$(awk '{for (i = 1; i < NF; i++) if ($i == "opened") print $(i + 1)}' <<<"$1")
  closed=$(awk '{for (i = 1; i < NF; i++) if ($i == "closed") print $(i + 1)}' <<<"$1")
  first=$(awk '{for (i = 1; i < NF; i++) if ($i == "first_close_ms") print $(i + 1)}' <<<"$1")
  last=$(awk '{for (i = 1; i < NF; i++) if ($i == "last_close_ms") print $(i + 1)}' <<<"$1")
  [ "$opened" -gt 0 ] && [ "$closed" = "$opened" ] && [ "$first" -ge $((T * 1000 - 500)) ] && [ "$last" -le $((T * 1000 + 3000)) ]
}

# 1. Slow headers: trickled and stalled.
D=$((T + 4))
adv_bg "$IT_DIR/h1.out" "$ADV_BIN/adv_slow" -m header -n "$NH" -d "$D" -i 500 127.0.0.1 "$port"
adv_bg "$IT_DIR/h2.out" "$ADV_BIN/adv_slow" -m header-stall -n "$NH" -d "$D" 127.0.0.1 "$port"
sleep 0.5
legit_loop "$T" "$IT_DIR/legit1.out"
wait "${ADV_BG[@]}" 2>/dev/null || true
adv_attempt $((2 * NH))
h1=$(cat "$IT_DIR/h1.out"); h2=$(cat "$IT_DIR/h2.out")
it_log "$h1"; it_log "$h2"
check "trickled headers: all $NH closed at client_header_timeout (${T} s)" closed_at_timeout "$h1"
check "stalled request lines: all $NH closed at client_header_timeout" closed_at_timeout "$h2"
s1=$(served "$IT_DIR/legit1.out")
eq "executions served during the header attack (200 in < 1.5 s)" "${s1%/*}" "${s1#*/}"
adv_note "$((2 * NH)) slow-header connections closed after ${T} s; legitimate $s1 served meanwhile"

# 2. Slow bodies from 127.0.0.2, more than max_connections ($maxc).
ADV_BG=()
adv_bg "$IT_DIR/b1.out" "$ADV_BIN/adv_slow" -m body-stall -n "$NB" -d "$D" -s 127.0.0.2 127.0.0.1 "$port"
adv_bg "$IT_DIR/b2.out" "$ADV_BIN/adv_slow" -m body -n "$NB" -d "$D" -i 1000 -s 127.0.0.2 127.0.0.1 "$port"
sleep 0.5
legit_loop "$T" "$IT_DIR/legit2.out"
wait "${ADV_BG[@]}" 2>/dev/null || true
adv_attempt $((2 * NB))
b1=$(cat "$IT_DIR/b1.out"); b2=$(cat "$IT_DIR/b2.out")
it_log "$b1"; it_log "$b2"
check "stalled bodies: closed at client_body_timeout (${T} s) or refused at once" \
  bash -c "[ \$(awk '{for (i = 1; i < NF; i++) if (\$i == \"still_open\") print \$(i + 1)}' <<<'$b1') = 0 ]"
s2=$(served "$IT_DIR/legit2.out")
eq "executions from another address served during the slow-body attack" "${s2%/*}" "${s2#*/}"
still=$(awk '{for (i = 1; i < NF; i++) if ($i == "still_open") print $(i + 1)}' <<<"$b2")
adv_note "$NB stalled + $NB trickled bodies (max_connections $maxc) from 127.0.0.2: stalled closed after ${T} s, $still trickled still open after $D s; legitimate $s2 served meanwhile"
perc=$(_stack_conf_get "$IT_DIR/node" max_connections_per_client)
check "the site limits executions per client address ($perc of $maxc)" \
  grep -q "limit_conn oyster_exec_client $perc;" "$site"
# The per-client limit cannot be dodged with a forged X-Forwarded-For: only
# addresses in trusted_proxies (none here) may name another client.
curl -s -o /dev/null -H 'X-Request-ID: forged-xff-1' -H 'X-Forwarded-For: 10.9.9.9' "$URL/api/serverless" \
  -d "{\"code_id\":\"$fid\",\"input\":{\"num\":91}}"
check "a forged X-Forwarded-For is ignored without trusted_proxies" \
  bash -c "grep '\"request_id\":\"forged-xff-1\"' '$IT_DIR/node/nginx/access.log' | grep -q '\"remote_addr\":\"127.0.0.1\"'"
check "no slot was held by the slow clients" test "$(curl -s "$URL/healthz" | jq .slots.busy)" = 0
adv_next 3
