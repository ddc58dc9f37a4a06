#!/usr/bin/env bash
# Upload the shipped examples and run them with several inputs; code ids are
# content addresses (same code, same id, whatever the upload form).
. "$(dirname "$0")/lib.sh"
it_start

id=$(upload "$IT_ROOT/examples/factors.js")
check "code id is 0x + 64 hex" grep -Eq '^0x[0-9a-f]{64}$' <<<"$id"
eq "second upload gives the same id" "$(upload "$IT_ROOT/examples/factors.js")" "$id"
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/javascript' \
  --data-binary @"$IT_ROOT/examples/factors.js" "$URL/api/code")
eq "upload answers 201" "$STATUS" 201

# The same module as a one-module bundle is the same code.
"$IT_ROOT/examples/make-bundle.sh" "$IT_DIR/main.js" >/dev/null 2>&1 || true
cp "$IT_ROOT/examples/factors.js" "$IT_DIR/main.js"
"$IT_ROOT/examples/make-bundle.sh" "$IT_DIR/main.js" >"$IT_DIR/one.json"
eq "JS upload == equivalent bundle" "$(upload "$IT_DIR/one.json" application/json)" "$id"

got=$(curl -s "$URL/api/code/$id")
eq "GET /api/code/{id} returns the module" "$got" "$(cat "$IT_ROOT/examples/factors.js")"

for case in '10:[2,5]' '97:[97]' '360:[2,2,2,3,3,5]' '1000001:[101,9901]' '65536:[2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2]'; do
  n=${case%%:*} want=${case#*:}
  run "$id" "{\"num\":$n}"
  eq "factors of $n: status" "$STATUS" 200
  eq "factors of $n" "$(jq -c .factors <<<"$BODY")" "$want"
  eq "factors of $n: content type" "$(header content-type)" "application/json"
done
run "$id" '{"num":"x"}'
eq "worker's own 400 passes through" "$STATUS" 400
eq "worker's error body passes through" "$(jq -r .error <<<"$BODY")" "num must be an integer >= 2"

wid=$(upload "$IT_ROOT/examples/wasm-bundle.json" application/json)
check "wasm bundle id" grep -Eq '^0x[0-9a-f]{64}$' <<<"$wid"
for case in '2:40:42' '-5:5:0' '2147483647:1:-2147483648'; do
  IFS=: read -r a b want <<<"$case"
  run "$wid" "{\"a\":$a,\"b\":$b}"
  eq "wasm add($a,$b): status" "$STATUS" 200
  eq "wasm add($a,$b)" "$(jq -r .sum <<<"$BODY")" "$want"
done
# Module order in the bundle does not change the id.
jq '.modules |= reverse' "$IT_ROOT/examples/wasm-bundle.json" >"$IT_DIR/rev.json"
eq "bundle module order does not change the id" "$(upload "$IT_DIR/rev.json" application/json)" "$wid"
bundle=$(curl -s "$URL/api/code/$wid")
eq "GET of a bundle gives its main" "$(jq -r .main <<<"$bundle")" "wasm-main.js"
eq "GET of a bundle gives the wasm bytes" "$(jq -r '.modules[] | select(.type=="wasm") | .content_base64' <<<"$bundle")" \
  "$(base64 -w0 "$IT_ROOT/examples/add.wasm")"

# Text and JSON modules reach the worker too.
cat >"$IT_DIR/b.json" <<'B'
{"main":"m.js","modules":[
 {"name":"m.js","type":"esModule","content":"import t from './greet.txt'; import cfg from './cfg.json'; export default { async fetch(r) { const i = await r.json(); return new Response(t + ', ' + i.who + cfg.bang); } }"},
 {"name":"greet.txt","type":"text","content":"hello"},
 {"name":"cfg.json","type":"json","content":"{\"bang\":\"!\"}"}]}
B
bid=$(upload "$IT_DIR/b.json" application/json)
run "$bid" '{"who":"oyster"}'
eq "text+json modules" "$BODY" "hello, oyster!"

# The input reaches the worker as the client wrote it, not parsed and written
# again: spacing, number spellings, integers past 64 bits and duplicate keys
# inside it included.  No input is null.
raw=$(upload "$(js raw 'export default { async fetch(r) { return new Response(await r.text()); } };')")
in='{ "big": 123456789012345678901234567890, "r": 1.50e+3, "dup": {"k": 1, "k": 2}, "s": "\u00e9\ud83d\ude00" }'
run "$raw" "$in"
eq "input forwarded verbatim: status" "$STATUS" 200
eq "input forwarded verbatim" "$BODY" "$in"
eq "absent input is null" "$(curl -sS "$URL/api/serverless" -d "{\"code_id\":\"$raw\"}")" null
run "$raw" '{"a":[1,]}'
eq "invalid JSON in the input: 400" "$STATUS" 400
check "invalid JSON in the input: where and why" grep -q 'invalid JSON at line 1 column .*trailing comma' <<<"$BODY"
