#!/usr/bin/env bash
# Catalogue row 13: a flood at 10x capacity (10 x slots concurrent clients,
# closed loop, one request per connection, loopback only) for 60 s (15 s in
# the quick form).  The overflow gets fast 503s (nginx's max_connections
# at once, the handlers' queue_timeout_ms at most), nothing else fails,
# memory stays bounded (RSS of oyster-fcgi and nginx sampled every 0.5 s),
# there is no fork storm (handlers, workerds and nginx workers counted),
# and afterwards the node recovers fully: idle slots, no handler restart,
# the same handler processes, normal latency.
. "$(dirname "$0")/lib.sh"
SLOTS=2 QT=1000
SECS=60; quick && SECS=15
adv_start slots=$SLOTS max_connections=$((3 * SLOTS)) queue_timeout_ms=$QT deadline_ms=2000
port=$(cat "$IT_DIR/node/port")
master=$(cat "$IT_DIR/node/fcgi.pid") ngx=$(cat "$IT_DIR/node/nginx.pid")
handlers0=$(adv_handlers)
burn=$(upload "$(js burn 'export default { async fetch(r) { const { ms } = await r.json(); const t = Date.now(); while (Date.now() - t < ms) {} return Response.json({ ok: true }); } }')")
fid=$(upload "$IT_ROOT/examples/factors.js")
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
lat() { local t0; for _ in $(seq 1 7); do t0=$(now_ms); run "$fid" '{"num":1001}'; echo $(( $(now_ms) - t0 )); done; }
base=$(lat | median)

sum_rss() { local p s=0; for p in "$@"; do s=$((s + $(rss_kb "$p"))); done; echo "$s"; }
sample() { # one line: fcgi_rss_kb nginx_rss_kb handlers workerds nginx_workers
  local hs ws ns
  hs=$(pgrep -P "$master" | tr '\n' ' '); ns=$(pgrep -P "$ngx" | tr '\n' ' ')
  ws=$(stack_workerd_pids "$IT_DIR/node" | wc -l)
  # shellcheck disable=SC2086
  echo "$(sum_rss "$master" $hs) $(sum_rss "$ngx" $ns) $(wc -w <<<"$hs") $ws $(wc -w <<<"$ns")"
}
read -r rss_f0 rss_n0 _ <<<"$(sample)"

( while :; do sample; sleep 0.5; done ) >"$IT_DIR/samples" &
sampler=$!
"$ADV_BIN/adv_flood" 127.0.0.1 "$port" /api/serverless "{\"code_id\":\"$burn\",\"input\":{\"ms\":30}}" \
  $((10 * SLOTS)) "$SECS" >"$IT_DIR/flood.out"
kill "$sampler"; wait "$sampler" 2>/dev/null || true
cat "$IT_DIR/flood.out"
count() { awk -v s="$1" '$1 == "status" && $2 == s {print $4}' "$IT_DIR/flood.out"; }
field() { awk -v s="$1" -v f="$2" '$1 == "status" && $2 == s {for (i = 1; i < NF; i++) if ($i == f) print $(i + 1)}' "$IT_DIR/flood.out"; }
total=$(awk '$1 == "total" {print $2}' "$IT_DIR/flood.out")
ok=$(count 200) busy=$(count 503)
adv_attempt "${total:-0}"
others=$(awk '$1 == "status" && $2 != "200" && $2 != "503" {printf "%s:%s ", $2, $4}' "$IT_DIR/flood.out")
eq "every answer is 200 or 503 (others: ${others:-none})" "$others" ""
check "work got done under the flood (${ok:-0} executions in ${SECS} s)" test "${ok:-0}" -ge $((SECS * 5))
check "the overflow was refused (${busy:-0} x 503)" test "${busy:-0}" -gt 0
check "503s are fast (p99 $(field 503 p99_ms) ms, max $(field 503 max_ms) ms; queue_timeout_ms $QT)" \
  test "$(field 503 p99_ms)" -le $((QT + 500))
check "503s are mostly immediate (p50 $(field 503 p50_ms) ms)" test "$(field 503 p50_ms)" -le 100
check "successes wait at most queue + run (p99 $(field 200 p99_ms) ms)" test "$(field 200 p99_ms)" -le $((QT + 1500))
read -r mf mn mh mw mx < <(awk '{for (i = 1; i <= 5; i++) if ($i > m[i]) m[i] = $i} END {print m[1], m[2], m[3], m[4], m[5]}' "$IT_DIR/samples")
check "oyster-fcgi memory bounded ($((rss_f0 / 1024)) MiB idle, peak $((mf / 1024)) MiB)" test "$mf" -le $((rss_f0 + 64 * 1024))
check "nginx memory bounded ($((rss_n0 / 1024)) MiB idle, peak $((mn / 1024)) MiB)" test "$mn" -le $((rss_n0 + 64 * 1024))
check "no fork storm: handlers at most slots + 1 ($mh)" test "$mh" -le $((SLOTS + 1))
check "no fork storm: workerds at most 2 per slot ($mw)" test "$mw" -le $((2 * SLOTS))
check "no fork storm: nginx workers unchanged ($mx)" test "$mx" -le 2
adv_note "$((10 * SLOTS)) clients x ${SECS} s: $ok x 200 (p99 $(field 200 p99_ms) ms), $busy x 503 (p50 $(field 503 p50_ms) ms, p99 $(field 503 p99_ms) ms), other 0; peak RSS fcgi $((mf / 1024)) MiB, nginx $((mn / 1024)) MiB; <= $mh handlers, $mw workerds"

# Recovery.
idle() { [ "$(curl -s "$URL/healthz" | jq .slots.busy)" = 0 ]; }
_stack_wait "slots idle" 40 idle || true
eq "slots idle at once after the flood" "$(curl -s "$URL/healthz" | jq .slots.busy)" 0
after=$(lat | median)
check "latency back to normal (${base} ms before, ${after} ms after)" test "$after" -le $(( base * 3 > base + 50 ? base * 3 : base + 50 ))
eq "same handler processes" "$(adv_handlers)" "$handlers0"
eq "no handler restart" "$(adv_restarts)" 0
adv_note "recovered: p50 ${base} ms before, ${after} ms after; same handlers"
adv_next 3
