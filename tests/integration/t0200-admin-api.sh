#!/usr/bin/env bash
# The Oyster admin API, byte for byte, against a real anvil: owner (once,
# persistent), gas key (secret, nonce fetched), executor details, and a
# registration signature our own Executors contract accepts on chain.
. "$(dirname "$0")/lib.sh"
it_chain
it_start "rpc_url=$RPC" "code_contract=$CODE_CONTRACT" job_capacity=3

req() { # req METHOD PATH [BODY] -> STATUS, BODY (exact bytes kept in $IT_DIR/a.out)
  local m=$1 p=$2
  if [ $# -ge 3 ]; then
    STATUS=$(curl -sS -o "$IT_DIR/a.out" -w '%{http_code}' -X "$m" -H 'Content-Type: application/json' --data-binary "$3" "$URL$p")
  else
    STATUS=$(curl -sS -o "$IT_DIR/a.out" -w '%{http_code}' -X "$m" "$URL$p")
  fi
  BODY=$(cat "$IT_DIR/a.out")
}
exact() { # exact WHAT STATUS 'text\n'
  eq "$1: status" "$STATUS" "$2"
  check "$1: body is exactly $(printf '%q' "$3")" cmp -s "$IT_DIR/a.out" <(printf '%s' "$3")
}

read -r _ ENCLAVE < <("$OYSTERCTL" address "$IT_DIR/node/id.sec" | grep enclave_address)
read -r _ PUBKEY < <("$OYSTERCTL" address "$IT_DIR/node/id.sec" | grep enclave_public_key)
ZERO=0x0000000000000000000000000000000000000000

req GET /
exact "GET /" 200 ""
req GET /executor-details
eq "details before config" "$BODY" "{\"enclave_address\":\"$ENCLAVE\",\"enclave_public_key\":\"$PUBKEY\",\"gas_address\":\"$ZERO\",\"owner_address\":\"$ZERO\"}"
req GET /signed-registration-message
exact "registration before owner" 400 $'Immutable params not configured yet!\n'

req POST /immutable-config '{"owner_address_hex":"0xzz"}'
exact "owner bad hex" 400 $'Invalid owner address hex string: InvalidHexCharacter { c: \'z\', index: 0 }\n'
req POST /immutable-config '{"owner_address_hex":"abc"}'
exact "owner odd length" 400 $'Invalid owner address hex string: OddLength\n'
req POST /immutable-config '{"owner_address_hex":"0x1234"}'
exact "owner wrong length" 400 $'Owner address must be 20 bytes long!\n'
req POST /immutable-config "{\"owner_address_hex\":\"${DEV_ADDR1#0x}\"}"
exact "owner set (0x optional)" 200 $'Immutable params configured!\n'
req POST /immutable-config "{\"owner_address_hex\":\"$DEV_ADDR2\"}"
exact "owner is immutable" 400 $'Immutable params already configured!\n'
req GET /signed-registration-message
exact "registration before gas key" 400 $'Mutable params not configured yet!\n'

req POST /mutable-config '{"gas_key_hex":"0xnothex"}'
exact "gas bad hex" 400 $'Invalid gas private key hex string: InvalidHexCharacter { c: \'n\', index: 0 }\n'
req POST /mutable-config '{"gas_key_hex":"0x1234"}'
exact "gas wrong length" 400 $'Gas private key must be 32 bytes long!\n'
req POST /mutable-config "{\"gas_key_hex\":\"0x$(printf '%064d' 0)\"}"
eq "zero gas key: status" "$STATUS" 400
check "zero gas key: message" grep -q '^Invalid gas private key provided: ' "$IT_DIR/a.out"
req POST /mutable-config '{"gas_key_hex":"0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"}'
eq "gas key = curve order: 400" "$STATUS" 400
req POST /mutable-config "{\"gas_key_hex\":\"$DEV_KEY2\"}"
exact "gas key set" 200 $'Mutable params configured!\n'
check "gas key file is 0600" test "$(stat -c %a "$IT_DIR/node/gas.key")" = 600
check "gas key not in the database" bash -c "! sqlite3 '$IT_DIR/node/executor.db' .dump | grep -qi '${DEV_KEY2#0x}'"
check "gas key not in the logs" bash -c "! grep -qi '${DEV_KEY2#0x}' '$IT_DIR/node/fcgi.log' '$IT_DIR/node/nginx/access.log'"
req POST /mutable-config "{\"gas_key_hex\":\"$DEV_KEY3\"}"
exact "gas key rotates" 200 $'Mutable params configured!\n'
req POST /mutable-config "{\"gas_key_hex\":\"$DEV_KEY2\"}"
req GET /executor-details
eq "details after config" "$BODY" "{\"enclave_address\":\"$ENCLAVE\",\"enclave_public_key\":\"$PUBKEY\",\"gas_address\":\"$DEV_ADDR2\",\"owner_address\":\"$DEV_ADDR1\"}"

req GET /signed-registration-message
eq "registration: 200" "$STATUS" 200
eq "registration: keys in order" "$(jq -c 'keys_unsorted' <<<"$BODY")" '["env","job_capacity","owner","sign_timestamp","signature"]'
eq "registration: env" "$(jq .env <<<"$BODY")" 1
eq "registration: job_capacity" "$(jq .job_capacity <<<"$BODY")" 3
eq "registration: owner" "$(jq -r .owner <<<"$BODY")" "$DEV_ADDR1"
ts=$(jq .sign_timestamp <<<"$BODY"); sig=$(jq -r .signature <<<"$BODY")
check "registration: timestamp is now" test $(( $(date +%s) - ts )) -le 5
check "registration: signature is 65 bytes hex" grep -Eq '^0x[0-9a-f]{130}$' <<<"$sig"
# cast computes the EIP-712 digest itself from typed data and checks our signature.
cat >"$IT_DIR/register.json" <<JSON
{"types":{"EIP712Domain":[{"name":"name","type":"string"},{"name":"version","type":"string"}],
 "Register":[{"name":"owner","type":"address"},{"name":"jobCapacity","type":"uint256"},{"name":"env","type":"uint8"},{"name":"signTimestamp","type":"uint256"}]},
 "primaryType":"Register","domain":{"name":"marlin.oyster.Executors","version":"1"},
 "message":{"owner":"$DEV_ADDR1","jobCapacity":3,"env":1,"signTimestamp":$ts}}
JSON
check "cast verifies the registration signature" "$CAST" wallet verify --address "$ENCLAVE" --data --from-file "$IT_DIR/register.json" "$sig"
# The owner registers the node on chain with our signature (the operator's flow).
rcpt=$("$CAST" send --json --rpc-url "$RPC" --private-key "$DEV_KEY1" "$EXECUTORS" \
  "registerExecutor(bytes,uint256,uint256,bytes,uint256,uint8)" "$PUBKEY" 3 "$ts" "$sig" 0 1) || rcpt='{}'
eq "registerExecutor accepted on chain" "$(jq -r .status <<<"$rcpt")" 0x1
topic=$("$CAST" keccak "ExecutorRegistered(address,address,uint256,uint8)")
ev=$(jq -r --arg t "$topic" '.logs[] | select(.topics[0]==$t) | .topics[1]' <<<"$rcpt")
eq "ExecutorRegistered for our enclave" "$ev" "0x000000000000000000000000${ENCLAVE#0x}"
req GET /signed-registration-message
ts2=$(jq .sign_timestamp <<<"$BODY")
check "signs afresh on every call" test "$ts2" -ge "$ts"

# Admin endpoints are refused from a non-admin address (nginx allow-list).
for p in / /executor-details /signed-registration-message; do
  s=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 "$URL$p")
  eq "GET $p from 127.0.0.2 refused" "$s" 403
done
s=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 -X POST -d '{"owner_address_hex":"0x00"}' "$URL/immutable-config")
eq "POST /immutable-config from 127.0.0.2 refused" "$s" 403
s=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 "$URL/healthz")
eq "public endpoints still served to 127.0.0.2" "$s" 200

# The owner survives a restart; immutable stays immutable.
it_stop
stack_start "$IT_DIR/node"
req POST /immutable-config "{\"owner_address_hex\":\"$DEV_ADDR2\"}"
exact "owner still immutable after restart" 400 $'Immutable params already configured!\n'
req GET /executor-details
eq "owner persisted" "$(jq -r .owner_address <<<"$BODY")" "$DEV_ADDR1"

# RPC down: the nonce cannot be fetched.
chain_stop "$IT_DIR/chain"
req POST /mutable-config "{\"gas_key_hex\":\"$DEV_KEY3\"}"
eq "RPC down: 500" "$STATUS" 500
check "RPC down: message" grep -q '^Failed to fetch current nonce for the gas address: ' "$IT_DIR/a.out"
