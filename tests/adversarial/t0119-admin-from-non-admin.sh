#!/usr/bin/env bash
# Catalogue row 19: the admin endpoints (/, /immutable-config,
# /mutable-config, /executor-details, /signed-registration-message) and
# /metrics, asked from a non-admin address (127.0.0.2; admin_allow is
# 127.0.0.1 ::1), are refused by nginx with 403, whatever the spelling of
# the path (double slashes, dot segments, percent-encoding, a query
# string), the method, or forwarded-for headers; spellings nginx does not
# normalise to an admin location end in 404.  Through the host-subdomain
# server (every path goes to the slot handlers there) an admin path is
# never the admin API.  Nothing was configured by any of it; the public
# API still serves 127.0.0.2, and the admin API still serves 127.0.0.1.
. "$(dirname "$0")/lib.sh"
adv_start slots=2 subdomain=oyster.localhost
ZERO=0x0000000000000000000000000000000000000000
from2() { # from2 METHOD PATH [curl args] -> status
  local m=$1 p=$2; shift 2
  curl -s -o "$IT_DIR/a.out" -w '%{http_code}' --max-time 5 --interface 127.0.0.2 -X "$m" --path-as-is "$@" "$URL$p" || true
}
body='{"owner_address_hex":"0x1111111111111111111111111111111111111111","gas_key_hex":"0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"}'
declare -a CASES=(
  "GET /" "GET /executor-details" "GET /signed-registration-message" "GET /metrics"
  "POST /immutable-config" "POST /mutable-config"
  "POST //immutable-config" "POST /./immutable-config" "POST /api/../immutable-config"
  "POST /%69mmutable-config" "POST /immutable-config?x=1" "GET /metrics?format=text"
  "HEAD /executor-details" "OPTIONS /mutable-config" "PUT /immutable-config" "DELETE /mutable-config"
)
n403=0
for c in "${CASES[@]}"; do
  read -r m p <<<"$c"
  if [ "$m" = HEAD ]; then st=$(from2 HEAD "$p" -I); else st=$(from2 "$m" "$p" -d "$body"); fi
  eq "127.0.0.2: $m $p refused" "$st" 403
  [ "$st" = 403 ] && n403=$((n403 + 1))
  adv_attempt
done
for h in "X-Forwarded-For: 127.0.0.1" "X-Real-IP: 127.0.0.1" "Forwarded: for=127.0.0.1" "Host: localhost"; do
  eq "127.0.0.2 with '$h': refused" "$(from2 POST /immutable-config -H "$h" -d "$body")" 403
  adv_attempt
done
for p in /IMMUTABLE-CONFIG /immutable-config/ "/immutable-config;x" /metrics/ /mutable-config.json; do
  st=$(from2 POST "$p" -d "$body")
  check "127.0.0.2: POST $p is no admin call ($st)" grep -Eqx '403|404|405' <<<"$st"
  adv_attempt
done
# The subdomain server sends every path to the slot handlers.
sub=$(printf 'a%.0s' $(seq 52)).oyster.localhost
st=$(from2 POST /mutable-config -H "Host: $sub" -d "$body")
check "subdomain host, admin path: not the admin API ($st $(head -c 80 "$IT_DIR/a.out"))" \
  bash -c "[ '$st' != 200 ] && ! grep -q 'configured' '$IT_DIR/a.out'"
adv_attempt
adv_note "$n403 admin/metrics requests from 127.0.0.2 refused with 403 (path spellings, methods, forwarded headers); 5 other spellings 404/405; admin paths on the subdomain server not admin"

# Nothing changed; the public side works for 127.0.0.2, the admin side for 127.0.0.1.
d=$(curl -s "$URL/executor-details")
eq "owner still unset" "$(jq -r .owner_address <<<"$d")" $ZERO
eq "gas key still unset" "$(jq -r .gas_address <<<"$d")" $ZERO
check "no gas key file written" test ! -e "$IT_DIR/node/gas.key"
eq "127.0.0.1 reads /metrics" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/metrics")" 200
eq "127.0.0.2 reads /healthz" "$(from2 GET /healthz)" 200
fid=$(upload "$IT_ROOT/examples/factors.js")
st=$(from2 POST /api/serverless -d "{\"code_id\":\"$fid\",\"input\":{\"num\":10}}")
eq "127.0.0.2 runs code" "$st $(jq -c .factors "$IT_DIR/a.out")" "200 [2,5]"
adv_next 2
