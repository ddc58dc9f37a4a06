#!/usr/bin/env bash
# Catalogue row 4: huge or endless output is cut at max_response_bytes
# (502 RESPONSE_TOO_LARGE, a small error body, at once rather than at the
# deadline), huge or countless response headers too, and nginx never
# spools: the answer the client gets is bounded, nothing is written to
# nginx's temp directory (fastcgi_max_temp_file_size 0), nginx's memory
# stays small, even for a slow reader of a response of exactly the cap.
# On chain the cap is 20 KiB with error code 5: tests/integration/t0300
# (job "toolarge", and "exact" at 20480 bytes).
. "$(dirname "$0")/lib.sh"
CAP=1048576
adv_start max_response_bytes=$CAP deadline_ms=8000 slots=2
ngx_tmp=$IT_DIR/node/nginx/tmp
tmp_bytes() { find "$ngx_tmp" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
tmp_files() { find "$ngx_tmp" -type f | wc -l; }
ngx_rss() { local p s=0; for p in $(pgrep -P "$(cat "$IT_DIR/node/nginx.pid")"); do s=$((s + $(rss_kb "$p"))); done; echo "$s"; }

declare -A SRC=(
  [one_body]="export default { fetch() { return new Response(\"x\".repeat($CAP + 1)); } }"
  [endless]='export default { fetch() {
    const chunk = new TextEncoder().encode("z".repeat(65536));
    return new Response(new ReadableStream({ pull(c) { c.enqueue(chunk); } })); } }'
  [endless_1m_chunks]='export default { fetch() {
    const chunk = new Uint8Array(1 << 20).fill(65);
    return new Response(new ReadableStream({ pull(c) { c.enqueue(chunk); } })); } }'
  [huge_header]="export default { fetch() { return new Response(\"ok\", { headers: { \"x-big\": \"h\".repeat($CAP + 1) } }); } }"
  [many_headers]='export default { fetch() { const h = new Headers(); for (let i = 0; i < 20000; i++) h.append("x-h" + i, "v".repeat(50)); return new Response("ok", { headers: h }); } }'
)
KINDS="one_body endless endless_1m_chunks huge_header many_headers"
quick && KINDS="one_body endless_1m_chunks huge_header many_headers"
max_tmp=0 max_rss=0
for k in $KINDS; do
  id=$(upload "$(js "$k" "${SRC[$k]}")")
  ( while :; do echo "$(tmp_bytes) $(ngx_rss)"; sleep 0.1; done ) >"$IT_DIR/samples.$k" &
  sampler=$!
  t0=$(now_ms)
  out=$(curl -s -o "$IT_DIR/out.$k" -w '%{http_code} %{size_download} %{size_header}' --max-time 20 \
    "$URL/api/serverless" -d "{\"code_id\":\"$id\"}") || out="000 0 0"
  t=$(( $(now_ms) - t0 ))
  kill "$sampler"; wait "$sampler" 2>/dev/null || true
  adv_attempt
  read -r st size hsize <<<"$out"
  eq "$k: 502" "$st" 502
  ecode=$(jq -r .error.code "$IT_DIR/out.$k" 2>/dev/null || echo none)
  # Heads past the parser's limits (64 KiB, 100 lines) count as too large too.
  eq "$k: RESPONSE_TOO_LARGE" "$ecode" RESPONSE_TOO_LARGE
  check "$k: the client got a small answer ($size body + $hsize header bytes)" test "$((size + hsize))" -lt 4096
  check "$k: cut at once, not at the deadline (${t} ms)" test "$t" -lt 4000
  # A fast answer can beat the sampler's first line: no sample is no spool.
  read -r mt mr < <(sort -n -k1 "$IT_DIR/samples.$k" | tail -1) || mt=0
  [ "${mt:-0}" -gt "$max_tmp" ] && max_tmp=$mt
  mr=$(awk '{print $2}' "$IT_DIR/samples.$k" | sort -n | tail -1)
  [ "${mr:-0}" -gt "$max_rss" ] && max_rss=$mr
  adv_note "$k: $st $ecode in ${t} ms, $((size + hsize)) bytes to the client"
done
check "nothing spooled to nginx's temp dir during the attacks (peak $max_tmp bytes)" test "$max_tmp" = 0
check "nginx workers' memory stayed small (peak $max_rss KiB)" test "$max_rss" -lt $((64 * 1024))

# Exactly the cap passes; read slowly by many clients, it is never spooled.
exact=$(upload "$(js exact "export default { fetch() { return new Response(\"y\".repeat($CAP)); } }")")
out=$(curl -s -o "$IT_DIR/exact.out" -w '%{http_code} %{size_download}' "$URL/api/serverless" -d "{\"code_id\":\"$exact\"}")
eq "exactly the cap: 200 and all of it" "$out" "200 $CAP"
n=20; quick && n=10
( while :; do echo "$(tmp_bytes) $(tmp_files) $(ngx_rss)"; sleep 0.2; done ) >"$IT_DIR/samples.slow" &
sampler=$!
"$ADV_BIN/adv_slow" -m read -n "$n" -d 4 -i 100 -b "{\"code_id\":\"$exact\"}" 127.0.0.1 "$(cat "$IT_DIR/node/port")" \
  >"$IT_DIR/slow.out"
kill "$sampler"; wait "$sampler" 2>/dev/null || true
adv_attempt "$n"
cat "$IT_DIR/slow.out"
eq "slow readers of a cap-sized answer: nothing spooled" "$(awk '$1 > m {m = $1} END {print m + 0}' "$IT_DIR/samples.slow")" 0
check "slow readers: nginx memory bounded ($(awk '$3 > m {m = $3} END {print m + 0}' "$IT_DIR/samples.slow") KiB for $n x 1 MiB answers)" \
  test "$(awk '$3 > m {m = $3} END {print m + 0}' "$IT_DIR/samples.slow")" -lt $(( (n * 1024 + 64 * 1024) ))
adv_note "cap-sized answer to $n slow readers: 0 bytes spooled; chain code 5: t0300"
check "no slot stays busy" test "$(curl -s "$URL/healthz" | jq .slots.busy)" = 0
adv_next 3
