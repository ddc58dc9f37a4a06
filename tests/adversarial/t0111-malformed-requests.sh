#!/usr/bin/env bash
# Catalogue row 11: malformed HTTP, malformed API bodies, oversized bodies
# and malformed FastCGI records give 400/413-class answers (or a closed
# connection), never a crash or a hang: afterwards the FastCGI handlers are
# the same processes, /metrics counts no handler restart, and legitimate
# requests succeed.
#   HTTP: raw bytes into a TCP socket (bash /dev/tcp), through nginx;
#   API bodies: curl through nginx to the handlers;
#   FastCGI: records built here in hex and written straight to the slot
#     socket (fcgi.sock) and the control socket by build/tests/adv_fcgi_send
#     (bypassing nginx, as a local process with access to the sockets could).
. "$(dirname "$0")/lib.sh"
adv_start slots=2 max_request_bytes=64K deadline_ms=3000
port=$(cat "$IT_DIR/node/port")
run_dir=$IT_DIR/node/run
handlers0=$(adv_handlers)
fid=$(upload "$IT_ROOT/examples/factors.js")

# ---- 1. malformed HTTP -------------------------------------------------------
raw() { # raw 'bytes with \r\n escapes' -> first line of the answer ("closed" if none)
  local l
  l=$(timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; printf '%b' \"\$1\" >&3; IFS= read -r -t 1.5 l <&3; echo \"\$l\"" \
    _ "$1" 2>/dev/null | tr -d '\r')
  echo "${l:-closed}"
}
big() { head -c "$1" /dev/zero | tr '\0' "${2:-a}"; }
declare -a HTTP_CASES=(
  "garbage request line|GARBAGE\r\n\r\n|400"
  "HTTP/1.1 without Host|GET /healthz HTTP/1.1\r\n\r\n|400"
  "negative Content-Length|POST /api/serverless HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n|400"
  "non-numeric Content-Length|POST /api/serverless HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n|400"
  "Content-Length and chunked (smuggling)|POST /api/serverless HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n|400"
  "bad chunk size|POST /api/serverless HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n|400"
  "unknown transfer coding|POST /api/serverless HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n|400|501"
  "20 KB header|GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: $(big 20000)\r\n\r\n|400|494"
  "40 KB URI|GET /$(big 40000) HTTP/1.1\r\nHost: x\r\n\r\n|414|closed"
  "unknown method|FOO /api/serverless HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n|405|400"
  "HTTP/2 preface on HTTP/1|PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n|400"
  "path traversal|GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n|400"
  "NUL in a header|GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n|400|closed"
  "3 GB body announced|POST /api/serverless HTTP/1.1\r\nHost: x\r\nContent-Length: 3000000000\r\n\r\n|413"
  "100 KB body announced with Expect|POST /api/serverless HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n|413"
  "two Host headers|POST /api/serverless HTTP/1.1\r\nHost: x\r\nHost: y\r\nContent-Length: 0\r\n\r\n|400"
  "HTTP/9.9|GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n|505|400"
  "truncated chunked body|POST /api/serverless HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc|400|408|closed"
  "control characters in the URI|GET /api/code/\x01\x02 HTTP/1.1\r\nHost: x\r\n\r\n|400"
)
hn=0
for c in "${HTTP_CASES[@]}"; do
  IFS='|' read -r what req want <<<"$c"
  want=${c#*|}; want=${want#*|}   # all accepted answers after the request
  got=$(raw "$req")
  code=$(awk '{print $2}' <<<"$got"); [ "$got" = closed ] && code=closed
  # nginx may reset a connection it refused while our bytes were still unread,
  # which can discard its answer on our side: "closed" is a refusal too.
  check "HTTP $what: $got" grep -Eqx "${want}|closed" <<<"$code"
  hn=$((hn + 1)); adv_attempt
done
adv_note "$hn malformed HTTP requests: 400/405/413/414/505 from nginx"

# ---- 2. malformed API bodies ---------------------------------------------------
api() { # api WANT_REGEX DESCRIPTION CURL_ARGS...
  local want=$1 what=$2; shift 2
  local st
  st=$(curl -s -o "$IT_DIR/api.out" -w '%{http_code}' --max-time 10 "$@") || st=000
  check "API $what: $st $(head -c 100 "$IT_DIR/api.out")" \
    bash -c "grep -Eqx '$want' <<<'$st' && jq -e '.error.code' '$IT_DIR/api.out' >/dev/null"
  adv_attempt
}
S=$URL/api/serverless
api 400 "not JSON" "$S" -d 'not json'
api 400 "JSON array" "$S" -d '[1,2]'
api 400 "60 000 levels of nesting" "$S" --data-binary @<(big 60000 '[')
api 400 "duplicate keys" "$S" -d '{"code_id":"0x00","code_id":"0x01"}'
api 400 "NUL byte" "$S" --data-binary $'{"code_id":"0x\x01"}'
api 400 "invalid UTF-8" "$S" --data-binary $'{"code_id":"\xff\xfe"}'
api 400 "wrong type" "$S" -d '{"code_id":5}'
api 400 "huge number" "$S" -d '{"code_id":"0x1234","input":1e999999}'
api 400 "unknown field" "$S" -d "{\"code_id\":\"$fid\",\"input\":null,\"extra\":1}"
api 400 "empty body" "$S" -d ''
api 400 "short code id" "$S" -d '{"code_id":"0x12"}'
api 413 "body over max_request_bytes" "$S" --data-binary @<(big 70000 ' ')
api 400 "binary as a JS module" -H 'Content-Type: application/javascript' "$URL/api/code" --data-binary @"$PROBE"
api 415 "unknown content type" -H 'Content-Type: image/png' "$URL/api/code" -d x
api 400 "bundle: bad base64" -H 'Content-Type: application/json' "$URL/api/code" \
  -d '{"main":"a.js","modules":[{"name":"a.js","type":"wasm","content_base64":"!!!!"}]}'
api 400 "bundle: main missing" -H 'Content-Type: application/json' "$URL/api/code" \
  -d '{"main":"b.js","modules":[{"name":"a.js","type":"esModule","content":"export default {}"}]}'
api 400 "bundle: module name escaping" -H 'Content-Type: application/json' "$URL/api/code" \
  -d '{"main":"../../x.js","modules":[{"name":"../../x.js","type":"esModule","content":"export default {}"}]}'
api 413 "code over max_code_bytes" -H 'Content-Type: application/javascript' "$URL/api/code" --data-binary @<(big 70000 ' ')
api 400 "bad code id in the path" "$URL/api/code/0xzz"
api 405 "wrong method" -X DELETE "$URL/api/code"
api 400 "absurd paging" "$URL/api/jobs?limit=-1&offset=99999999999999999999"
adv_note "21 malformed API bodies: 400/405/413/415 JSON errors"

# ---- 3. malformed FastCGI records, straight to the sockets ---------------------
hx() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
zx() { [ "$1" -gt 0 ] && head -c "$1" /dev/zero | od -An -v -tx1 | tr -d ' \n'; return 0; }
rec() { # rec TYPE ID CONTENT_HEX [PAD [VERSION]] -> one record, hex
  local n=$(( ${#3} / 2 ))
  printf '%02x%02x%04x%04x%02x00%s%s' "${5:-1}" "$1" "$2" "$n" "${4:-0}" "$3" "$(zx "${4:-0}")"
}
len() { if [ "$1" -lt 128 ]; then printf '%02x' "$1"; else printf '%08x' $(( $1 | 0x80000000 )); fi; }
nv() { local n v; n=$(hx "$1"); v=$(hx "$2"); printf '%s%s%s%s' "$(len $(( ${#n} / 2 )))" "$(len $(( ${#v} / 2 )))" "$n" "$v"; }
begin() { rec 1 "${1:-1}" "$(printf '%04x%02x0000000000' "${2:-1}" "${3:-0}")"; }
params() { local c="" a; for a in "$@"; do c+=$(nv "${a%%=*}" "${a#*=}"); done; rec 4 1 "$c"; rec 4 1 ""; }
HEALTHZ=$(begin; params REQUEST_METHOD=GET DOCUMENT_URI=/healthz REQUEST_URI=/healthz; rec 5 1 "")
exec_req() { # a /api/serverless request whose body is $1
  local b; b=$(hx "$1")
  begin; params REQUEST_METHOD=POST DOCUMENT_URI=/api/serverless REQUEST_URI=/api/serverless \
    CONTENT_TYPE=application/json "CONTENT_LENGTH=$(( ${#b} / 2 ))"; rec 5 1 "$b"; rec 5 1 ""
}
fcgi() { # fcgi SOCKET DESCRIPTION WANT_REGEX HEX... [-h HOLD]: send, judge the reply line
  local sock=$1 what=$2 want=$3; shift 3
  local line t0 t a args=()
  # one argument may not pass 128 KiB (execve): cut long hex into pieces
  for a in "$@"; do
    while [ ${#a} -gt 100000 ]; do args+=("${a:0:100000}"); a=${a:100000}; done
    args+=("$a")
  done
  t0=$(now_ms)
  line=$("$ADV_BIN/adv_fcgi_send" -t 8000 "${args[@]}" 2>&1 | tail -1)
  t=$(( $(now_ms) - t0 ))
  check "FastCGI $(basename "$sock") $what: $line" grep -Eq "$want" <<<"$line"
  check "FastCGI $(basename "$sock") $what: answered or closed at once (${t} ms)" test "$t" -lt 3000
  adv_attempt
}
ok_or_closed='reply [0-9]+ (eof|reset)'
big_value=$(big 70000 v)
many_params=$(for i in $(seq 1 300); do printf "\\x$(printf %02x $((${#i} + 1)))\\x01P%sv" "$i"; done | od -An -v -tx1 | tr -d ' \n')
for sock in "$run_dir/fcgi.sock" "$run_dir/control.sock"; do
  fcgi "$sock" "control: a valid /healthz" 'status 200' "$sock" "$HEALTHZ"
  fcgi "$sock" "random bytes" "$ok_or_closed" "$sock" "$(od -An -v -tx1 -N64 /dev/urandom | tr -d ' \n')"
  fcgi "$sock" "version 2 record" "$ok_or_closed" "$sock" "$(rec 1 1 0001000000000000 0 2)"
  fcgi "$sock" "unknown role" "records 3:8" "$sock" "$(begin 1 99)"
  fcgi "$sock" "name length 0x7fffffff (CVE-2025-23016 shape)" "$ok_or_closed" "$sock" \
    "$(begin)$(rec 4 1 "ffffffff01$(hx AAAA)")$(rec 4 1 "")"
  fcgi "$sock" "pair longer than its record" "$ok_or_closed" "$sock" "$(begin)$(rec 4 1 "7f01$(hx abc)")$(rec 4 1 "")"
  fcgi "$sock" "params over 64 KiB" "$ok_or_closed" "$sock" \
    "$(begin)$(rec 4 1 "$(nv X "$(big 65000 p)")")$(rec 4 1 "$(nv Y "$(big 65000 q)")")$(rec 4 1 "")"
  fcgi "$sock" "300 params" "$ok_or_closed" "$sock" "$(begin)$(rec 4 1 "$many_params")$(rec 4 1 "")"
  fcgi "$sock" "STDIN before BEGIN_REQUEST" "$ok_or_closed" "$sock" "$(rec 5 1 "$(hx '{}')")"
  fcgi "$sock" "record promising 65535 bytes, 10 sent" "$ok_or_closed" "$sock" "$(begin)01040001ffff0000$(zx 10)"
  fcgi "$sock" "3 bytes of a header" "$ok_or_closed" "$sock" 010100
  fcgi "$sock" "GET_VALUES management record" "records 10:" "$sock" "$(rec 9 0 "$(nv FCGI_MAX_CONNS "")$(nv FCGI_MPXS_CONNS "")")"
  fcgi "$sock" "unknown management record type" "records 11:8" "$sock" "$(rec 99 0 "")"
  fcgi "$sock" "second BEGIN_REQUEST (multiplexing)" "$ok_or_closed" "$sock" "$(begin 1)$(begin 2)$(params REQUEST_METHOD=GET DOCUMENT_URI=/healthz)$(rec 5 1 "")"
  fcgi "$sock" "ABORT_REQUEST mid-request" "$ok_or_closed" "$sock" "$(begin)$(rec 2 1 "")"
  fcgi "$sock" "maximal padding" "$ok_or_closed" "$sock" "$(begin)$(rec 4 1 "$(nv A b)" 255)$(rec 4 1 "")$(rec 5 1 "")"
  fcgi "$sock" "NUL bytes in names and values" "$ok_or_closed" "$sock" "$(begin)$(rec 4 1 "0303610062${ZERO:-00}6300")$(rec 4 1 "")$(rec 5 1 "")"
  fcgi "$sock" "a 70 KB value split over records" "$ok_or_closed" "$sock" \
    "$(begin)$(rec 4 1 "$(len 3)$(len 70000)$(hx URI)$(hx "${big_value:0:60000}")")$(rec 4 1 "$(hx "${big_value:60000}")")$(rec 4 1 "")$(rec 5 1 "")"
  fcgi "$sock" "STDIN longer than CONTENT_LENGTH" "$ok_or_closed" "$sock" \
    "$(begin; params REQUEST_METHOD=POST DOCUMENT_URI=/api/serverless CONTENT_LENGTH=2; rec 5 1 "$(hx "$(big 5000 x)")"; rec 5 1 "")"
  fcgi "$sock" "STDIN over max_request_bytes" "status 413|$ok_or_closed" "$sock" \
    "$(begin; params REQUEST_METHOD=POST DOCUMENT_URI=/api/serverless CONTENT_TYPE=application/json CONTENT_LENGTH=80000
       for i in 1 2; do rec 5 1 "$(zx 40000)"; done; rec 5 1 "")"
done
# Held open half-way for a while: the other slot serves meanwhile; then it goes.
( "$ADV_BIN/adv_fcgi_send" -h 1500 -t 8000 "$run_dir/fcgi.sock" "$(begin)01040001ffff0000$(zx 10)" >"$IT_DIR/held.out" ) &
held=$!
sleep 0.3
adv_next 1
wait "$held"
adv_attempt
check "a record held half-sent: closed once the peer goes ($(cat "$IT_DIR/held.out"))" grep -Eq "$ok_or_closed" "$IT_DIR/held.out"
fcgi "$run_dir/fcgi.sock" "control: a valid execution afterwards" 'status 200' "$run_dir/fcgi.sock" \
  "$(exec_req "{\"code_id\":\"$fid\",\"input\":{\"num\":6}}")"
adv_note "$(( 2 * 20 + 2 )) raw FastCGI exchanges (bad versions, roles, lengths, truncation, multiplexing, 70 KB params, oversized STDIN) on both sockets: error answers or closed, none hung"

eq "no handler crashed or was replaced" "$(adv_handlers)" "$handlers0"
eq "no handler restart in /metrics" "$(adv_restarts)" 0
check "master alive" kill -0 "$(cat "$IT_DIR/node/fcgi.pid")"
adv_next 3
