#!/usr/bin/env bash
# Every way a request can be wrong gets its own status and error code.
. "$(dirname "$0")/lib.sh"
it_start max_code_bytes=4K max_request_bytes=64K

err() { jq -r .error.code <<<"$1"; }
post() { # post PATH CTYPE DATA -> sets STATUS BODY
  local out="$IT_DIR/p.out"
  STATUS=$(curl -sS -o "$out" -w '%{http_code}' -H "Content-Type: $2" --data-binary "$3" "$URL$1")
  BODY=$(cat "$out")
}

bad=$(js bad 'export default { fetch() { return new Response("x" }')
id=$(upload "$bad")
run "$id" null
eq "syntax error: 422" "$STATUS" 422
eq "syntax error: code" "$(err "$BODY")" CODE_LOAD_FAILED
check "syntax error: workerd's message" grep -q "SyntaxError: missing ) after argument list" <<<"$BODY"

noexp=$(js noexp 'export const x = 1;')
run "$(upload "$noexp")" null
check "module without a fetch handler is an error, not a 200 ($STATUS)" test "$STATUS" -ge 400

run 0x$(printf '%064d' 7) null
eq "unknown code: 404" "$STATUS" 404
eq "unknown code: code" "$(err "$BODY")" CODE_NOT_FOUND
run 0x1234 null
eq "malformed code id: 400" "$STATUS" 400

post /api/serverless application/json '{"code_id": '
eq "bad JSON: 400" "$STATUS" 400
eq "bad JSON: code" "$(err "$BODY")" BAD_REQUEST
post /api/serverless application/json '[1,2]'
eq "non-object: 400" "$STATUS" 400
post /api/serverless application/json '{"input": 1}'
eq "missing code_id: 400" "$STATUS" 400
post /api/serverless application/json '{"code_id":"0x00","code_id":"0x01"}'
eq "duplicate keys: 400" "$STATUS" 400
post /api/serverless application/json '{"code_id":"0x00","inptu":1}'
eq "unknown field: 400" "$STATUS" 400
check "unknown field is named" grep -q inptu <<<"$BODY"

head -c 5000 /dev/zero | tr '\0' 'a' | sed 's/^/export default {};\/\//' >"$IT_DIR/big.js"
post /api/code application/javascript @"$IT_DIR/big.js"
eq "code over max_code_bytes: 413" "$STATUS" 413
eq "code over max_code_bytes: code" "$(err "$BODY")" CODE_TOO_LARGE
head -c 70000 /dev/zero | tr '\0' 'a' >"$IT_DIR/huge.txt"
post /api/serverless application/json @"$IT_DIR/huge.txt"
eq "body over max_request_bytes: 413 from nginx" "$STATUS" 413
eq "body over max_request_bytes: JSON code" "$(err "$BODY")" REQUEST_TOO_LARGE
post /api/code text/plain 'export default {}'
eq "unsupported media type: 415" "$STATUS" 415
post /api/code application/json '{"main":"a.js","modules":[]}'
eq "invalid bundle: 400" "$STATUS" 400
eq "invalid bundle: code" "$(err "$BODY")" INVALID_CODE

STATUS=$(curl -s -o "$IT_DIR/g" -w '%{http_code}' "$URL/api/serverless")
eq "GET /api/serverless: 405" "$STATUS" 405
STATUS=$(curl -s -o "$IT_DIR/g" -w '%{http_code}' "$URL/nope")
eq "unknown path: 404" "$STATUS" 404
eq "unknown path: JSON code" "$(jq -r .error.code "$IT_DIR/g")" NOT_FOUND

# The node is still healthy afterwards.
fid=$(upload "$IT_ROOT/examples/factors.js")
run "$fid" '{"num":6}'
eq "next request succeeds" "$(jq -c .factors <<<"$BODY")" "[2,3]"
