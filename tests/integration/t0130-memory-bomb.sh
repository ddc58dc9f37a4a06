#!/usr/bin/env bash
# Memory bombs (JS arrays, WebAssembly memory.grow) are killed by the slot
# cgroup with OUT_OF_MEMORY; the host and the next request are unaffected.
. "$(dirname "$0")/lib.sh"
it_start memory_limit=128M deadline_ms=10000 slots=2

arr=$(upload "$(js arr 'export default { fetch() { const a = []; for (;;) a.push(new Array(1e6).fill(7)); } }')")
buf=$(upload "$(js buf 'export default { fetch() { const a = []; for (;;) { const b = new Uint8Array(16 << 20); b.fill(1); a.push(b); } } }')")
fid=$(upload "$IT_ROOT/examples/factors.js")
for bomb in "$arr" "$buf"; do
  run "$bomb" null
  eq "memory bomb: 500" "$STATUS" 500
  eq "memory bomb: code" "$(jq -r .error.code <<<"$BODY")" OUT_OF_MEMORY
  peak=$(header x-oyster-usage-memory-peak-bytes)
  check "peak memory reported near the 128 MiB limit ($peak)" test "${peak:-0}" -gt $((64 << 20))
  run "$fid" '{"num":49}'
  eq "next request succeeds" "$(jq -c .factors <<<"$BODY")" "[7,7]"
done
