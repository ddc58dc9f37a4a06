#!/usr/bin/env bash
# Responses over max_response_bytes are refused with RESPONSE_TOO_LARGE,
# endless streamed output is cut as soon as it passes the cap (not at the
# deadline), and a response of exactly the cap passes.
. "$(dirname "$0")/lib.sh"
it_start max_response_bytes=64K deadline_ms=5000

big=$(upload "$(js big 'export default { fetch() { return new Response("x".repeat(65537)); } }')")
exact=$(upload "$(js exact 'export default { fetch() { return new Response("y".repeat(65536)); } }')")
endless=$(upload "$(js endless 'export default { fetch() {
  const chunk = new TextEncoder().encode("z".repeat(16384));
  const body = new ReadableStream({ pull(c) { c.enqueue(chunk); } });
  return new Response(body); } }')")
run "$big" null
eq "65537 bytes: 502" "$STATUS" 502
eq "65537 bytes: code" "$(jq -r .error.code <<<"$BODY")" RESPONSE_TOO_LARGE
run "$exact" null
eq "65536 bytes: 200" "$STATUS" 200
eq "65536 bytes: body intact" "${#BODY}" 65536
t0=$(now_ms)
run "$endless" null
t=$(( $(now_ms) - t0 ))
eq "endless stream: 502" "$STATUS" 502
eq "endless stream: code" "$(jq -r .error.code <<<"$BODY")" RESPONSE_TOO_LARGE
check "cut early, not at the deadline (${t} ms)" test "$t" -lt 2500
fid=$(upload "$IT_ROOT/examples/factors.js")
run "$fid" '{"num":9}'
eq "next request succeeds" "$(jq -c .factors <<<"$BODY")" "[3,3]"
