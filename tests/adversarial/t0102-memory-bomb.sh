#!/usr/bin/env bash
# Catalogue row 2: memory bombs (JS arrays, typed arrays, a Map of objects,
# WebAssembly memory.grow executed inside a WASM module, and a
# WebAssembly.Memory grown from JS) are killed by the slot cgroup with a
# clear 500 OUT_OF_MEMORY; the host is unaffected: the other slot answers
# during the bomb, no handler or daemon process dies, the cgroup never
# goes past memory_limit, and the next request succeeds.
. "$(dirname "$0")/lib.sh"
LIMIT_MB=128
adv_start memory_limit=${LIMIT_MB}M deadline_ms=10000 slots=2
fid=$(upload "$IT_ROOT/examples/factors.js")
handlers0=$(adv_handlers)
inst=$(it_instance)

# bomb.wasm, assembled by hand (no wat2wasm here):
#   (module (memory 1)
#     (func (export "bomb") (result i32) (local $p i32)
#       (loop $l
#         (local.set $p (memory.grow (i32.const 16)))          ;; +1 MiB
#         (if (i32.eq (local.get $p) (i32.const -1)) (then (return (i32.const -1))))
#         (memory.fill (i32.shl (local.get $p) (i32.const 16)) (i32.const 1) (i32.const 1048576))
#         (br $l))
#       (i32.const 0)))
WASM_B64=AGFzbQEAAAABBQFgAAF/AwIBAAUDAQABBwgBBGJvbWIAAAorASkBAX8DQEEQQAAiAEF/RgRAQX8PCyAAQRB0QQFBgIDAAPwLAAwAC0EACw==
main='import m from "./bomb.wasm";
export default { fetch() { const r = new WebAssembly.Instance(m).exports.bomb(); return new Response("grow returned " + r); } }'
jq -n --arg main "$main" --arg wasm "$WASM_B64" '{main: "main.js", modules: [
  {name: "main.js", type: "esModule", content: $main},
  {name: "bomb.wasm", type: "wasm", content_base64: $wasm}]}' >"$IT_DIR/wasm-bomb.json"

declare -A SRC=(
  [arrays]='export default { fetch() { const a = []; for (;;) a.push(new Array(1e6).fill(7)); } }'
  [typed]='export default { fetch() { const a = []; for (;;) { const b = new Uint8Array(16 << 20); b.fill(1); a.push(b); } } }'
  [map]='export default { fetch() { const m = new Map(); for (let i = 0; ; i++) m.set(i, { i, s: "v" + i }); } }'
  [wasm_js_memory]='export default { fetch() { const m = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
    for (;;) { const old = m.grow(16); new Uint8Array(m.buffer, old * 65536, 16 * 65536).fill(1); } } }'
)
KINDS="arrays typed map wasm_js_memory wasm_memory_grow"
quick && KINDS="arrays wasm_js_memory wasm_memory_grow"

for k in $KINDS; do
  if [ "$k" = wasm_memory_grow ]; then
    id=$(upload "$IT_DIR/wasm-bomb.json" application/json)
  else
    id=$(upload "$(js "$k" "${SRC[$k]}")")
  fi
  check "$k: uploaded" grep -Eq '^0x[0-9a-f]{64}$' <<<"$id"
  # A legitimate request on the other slot while the bomb goes off.
  ( sleep 0.2; curl -s -o "$IT_DIR/side.out" -w '%{http_code}' --max-time 10 "$URL/api/serverless" \
      -d "{\"code_id\":\"$fid\",\"input\":{\"num\":77}}" >"$IT_DIR/side.status" ) &
  side=$!
  t0=$(now_ms); run "$id" null; t=$(( $(now_ms) - t0 ))
  wait "$side" || true
  adv_attempt
  eq "$k: 500 OUT_OF_MEMORY" "$STATUS $(jq -r .error.code <<<"$BODY" 2>/dev/null)" "500 OUT_OF_MEMORY"
  check "$k: killed well before the deadline (${t} ms)" test "$t" -lt 8000
  peak=$(header x-oyster-usage-memory-peak-bytes)
  check "$k: peak near the limit, not past it (${peak:-none} bytes)" \
    test "${peak:-0}" -gt $(( LIMIT_MB * 1024 * 1024 / 2 )) -a "${peak:-0}" -le $(( LIMIT_MB * 1024 * 1024 ))
  eq "$k: the other slot answered during the bomb" "$(cat "$IT_DIR/side.status") $(jq -c .factors "$IT_DIR/side.out" 2>/dev/null)" "200 [7,11]"
  adv_note "$k: 500 OUT_OF_MEMORY in ${t} ms, peak $(( ${peak:-0} >> 20 )) MiB of ${LIMIT_MB}"
done

eq "no handler died or was replaced" "$(adv_handlers)" "$handlers0"
check "master alive" kill -0 "$(cat "$IT_DIR/node/fcgi.pid")"
check "nginx alive" kill -0 "$(cat "$IT_DIR/node/nginx.pid")"
for f in /sys/fs/cgroup/memory/oyster/"$inst"/slot*/memory.max_usage_in_bytes; do
  check "$(basename "$(dirname "$f")"): cgroup high-water mark within memory_limit ($(cat "$f"))" \
    test "$(cat "$f")" -le $(( LIMIT_MB * 1024 * 1024 ))
done
eq "OOM kills counted in /metrics" "$(curl -s "$URL/metrics" | awk '/^oyster_limit_breaches_total\{kind="memory"\}/ {print $2}')" \
  "$(wc -w <<<"$KINDS")"
adv_next 3
