#!/usr/bin/env bash
# Host-subdomain mode: <base32(txhash)>.<subdomain> runs that transaction's
# code with the whole request forwarded (method, path, query, headers, body)
# and the worker's status and headers mirrored; signed like every execution.
. "$(dirname "$0")/lib.sh"
it_chain
it_start "rpc_url=$RPC" "code_contract=$CODE_CONTRACT" subdomain=oyster.localhost
read -r _ ENCLAVE < <("$OYSTERCTL" address "$IT_DIR/node/id.sec" | grep enclave_address)

echo_js=$(js echo 'export default { async fetch(r) {
  const u = new URL(r.url);
  const body = await r.text();
  return new Response(JSON.stringify({ method: r.method, path: u.pathname, query: u.search,
    probe: r.headers.get("x-probe"), ctype: r.headers.get("content-type"), body }),
    { status: 201, headers: { "content-type": "application/json", "x-worker": "yes", "set-cookie": "a=1",
      "server-timing": "sandbox;dur=0.001", "x-oyster-signature": "0xforged" } });
} }')
tx=$(chain_save_code "$IT_DIR/chain" "$echo_js")
label=$(printf '%s' "${tx#0x}" | sed 's/../\\x&/g' | xargs -0 printf '%b' | base32 -w0 | tr -d '=' | tr 'A-Z' 'a-z')
eq "label is 52 base32 chars" "${#label}" 52
host="$label.oyster.localhost"
printf 'hello body' >"$IT_DIR/req"
STATUS=$(curl -sS -o "$IT_DIR/resp" -D "$IT_DIR/hdr" -w '%{http_code}' -X PUT -H "Host: $host" \
  -H 'X-Probe: 42' -H 'Content-Type: text/plain' --data-binary @"$IT_DIR/req" "$URL/some/path?x=1&y=2")
BODY=$(cat "$IT_DIR/resp"); HEADERS=$(cat "$IT_DIR/hdr")
eq "worker status mirrored" "$STATUS" 201
eq "method forwarded" "$(jq -r .method <<<"$BODY")" PUT
eq "path forwarded" "$(jq -r .path <<<"$BODY")" /some/path
eq "query forwarded" "$(jq -r .query <<<"$BODY")" '?x=1&y=2'
eq "headers forwarded" "$(jq -r .probe <<<"$BODY")" 42
eq "content type forwarded" "$(jq -r .ctype <<<"$BODY")" text/plain
eq "body forwarded" "$(jq -r .body <<<"$BODY")" "hello body"
eq "worker header mirrored" "$(header x-worker)" yes
eq "worker cookie mirrored" "$(header set-cookie)" a=1
eq "the worker's own Server-Timing is dropped: one, ours" "$(header server-timing | wc -l) $(header server-timing | grep -c '^sandbox;dur=0.001$')" "1 0"
eq "and it cannot forge the signature header" "$(header x-oyster-signature | wc -l)" 1
check "signed (cast verifies)" verify_signed PUT '/some/path?x=1&y=2' "$host" "$IT_DIR/req" "$IT_DIR/resp" "$HEADERS" "$ENCLAVE"
# HEAD: the worker's status and headers, no body.
read -r STATUS size < <(curl -sS -o /dev/null -D "$IT_DIR/hdr" -w '%{http_code} %{size_download}\n' -I \
  -H "Host: $host" "$URL/head?q=1")
HEADERS=$(cat "$IT_DIR/hdr")
eq "HEAD: worker status mirrored" "$STATUS" 201
eq "HEAD: worker header mirrored" "$(header x-worker)" yes
eq "HEAD: no body" "$size" 0
upper=$(tr 'a-z' 'A-Z' <<<"$label")
s=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $upper.oyster.localhost" "$URL/")
eq "base32 label is case-insensitive" "$s" 201
s=$(curl -s -o "$IT_DIR/nf" -w '%{http_code}' -H "Host: $(printf 'a%.0s' $(seq 52)).oyster.localhost" "$URL/")
eq "unknown tx behind a valid label: 404" "$s" 404
s=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: nothex.oyster.localhost" "$URL/x")
eq "not a tx label: falls to the default server's 404" "$s" 404
s=$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")
eq "the main site is unaffected" "$s" 200

# unregister.<subdomain> (the original's): admin addresses only; then every
# execution answers 410 while one already running finishes.
s=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 -H "Host: unregister.oyster.localhost" "$URL/")
eq "unregister from a non-admin address: 403" "$s" 403
eq "so the node still runs code" "$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $host" "$URL/")" 201
# nginx picks the server block by an absolute request line's host, whatever
# Host says: that must not reach unregister from outside admin_allow.
s=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 --request-target "http://127.0.0.1/healthz" \
  -H "Host: unregister.oyster.localhost" "$URL/")
eq "absolute request line + Host unregister.*: served as plain /healthz" "$s" 200
eq "and the node still runs code" "$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $host" "$URL/")" 201
slow=$(upload "$(js slow 'export default { fetch() { const t = Date.now(); while (Date.now() - t < 1000) {} return new Response("finished"); } }')")
( curl -s -o "$IT_DIR/slow.out" -w '%{http_code}' "$URL/api/serverless" -d "{\"code_id\":\"$slow\"}" >"$IT_DIR/slow.status" ) &
spid=$!
_stack_wait "a slot busy with the slow run" 100 bash -c "[ \"\$(curl -s $URL/healthz | jq .slots.busy)\" = 1 ]"
s=$(curl -s -o "$IT_DIR/unreg" -w '%{http_code}' -H "Host: unregister.oyster.localhost" "$URL/anything")
eq "unregister from an admin address: 200" "$s" 200
eq "with the original's words" "$(cat "$IT_DIR/unreg")" "successfully set server in draining state"
wait "$spid"
eq "the run in flight finished" "$(cat "$IT_DIR/slow.status") $(cat "$IT_DIR/slow.out")" "200 finished"
s=$(curl -s -o "$IT_DIR/gone" -w '%{http_code}' -H "Host: $host" "$URL/x")
eq "a subdomain execution now: 410" "$s" 410
eq "UNREGISTERED" "$(jq -r .error.code "$IT_DIR/gone")" UNREGISTERED
run "$slow" null
eq "/api/serverless now: 410" "$STATUS" 410
check "still signed" test -n "$(header x-oyster-signature)"
hz=$(curl -s -w '\n%{http_code}' "$URL/healthz")
eq "healthz: 503, so balancers take the node out" "$(tail -1 <<<"$hz")" 503
check "healthz names it" grep -q unregistered <<<"$(head -1 <<<"$hz" | jq -r '.problems[]')"
check "metrics: oyster_unregistered 1" grep -q '^oyster_unregistered 1$' <<<"$(curl -s "$URL/metrics")"
eq "code uploads still work" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/javascript' \
  --data-binary @"$IT_ROOT/examples/factors.js" "$URL/api/code")" 201
check "logged, with who asked" grep -q 'unregistered by 127.0.0.1' "$IT_DIR/node/fcgi.log"
