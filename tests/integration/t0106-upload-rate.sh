#!/usr/bin/env bash
# Code uploads per client address are limited (max_code_uploads_per_minute,
# a quarter of them at once): past it nginx answers 429 TOO_MANY_UPLOADS at
# once, without the handler; other addresses and executions are unaffected.
. "$(dirname "$0")/lib.sh"
# 8 a minute: one, plus a burst of 2 at once, then one every 7.5 s.
it_start max_code_uploads_per_minute=8

up() { # up N [curl args...] -> status
  local n=$1; shift
  printf 'export default { fetch() { return new Response("u%s"); } }' "$n" |
    curl -s -o "$IT_DIR/up.$n" -D "$IT_DIR/uph.$n" -w '%{http_code}' "$@" \
      -H 'Content-Type: application/javascript' --data-binary @- "$URL/api/code"
}
got=""
for i in 1 2 3 4 5 6; do got="$got $(up "$i")"; done
eq "three at once are taken, then 429" "$got" " 201 201 201 429 429 429"
eq "TOO_MANY_UPLOADS" "$(jq -r .error.code "$IT_DIR/up.6")" TOO_MANY_UPLOADS
check "with Retry-After" grep -qi '^retry-after: 60' "$IT_DIR/uph.6"
check "refused by nginx: the handler never saw them" \
  test "$(grep -c '"route":"code_post"' "$IT_DIR/node/fcgi.log")" -eq 3
eq "another address may still upload" "$(up 7 --interface 127.0.0.2)" 201
fid=$(jq -r .code_id "$IT_DIR/up.1")
run "$fid" null
eq "executions are not limited by it" "$STATUS $BODY" "200 u1"
