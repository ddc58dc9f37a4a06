#!/usr/bin/env bash
# tx_hash mode: code comes from a real transaction's calldata on anvil, is
# checked against the code contract, decoded (both saveCodeInCallData
# forms), cached for good, and every response is signed by the enclave key.
. "$(dirname "$0")/lib.sh"
it_chain
it_start "rpc_url=$RPC" "code_contract=$CODE_CONTRACT" rpc_timeout_ms=1000
read -r _ ENCLAVE < <("$OYSTERCTL" address "$IT_DIR/node/id.sec" | grep enclave_address)

post() { # post JSON -> STATUS BODY HEADERS; request body kept in $IT_DIR/req
  printf '%s' "$1" >"$IT_DIR/req"
  STATUS=$(curl -sS -o "$IT_DIR/resp" -D "$IT_DIR/hdr" -w '%{http_code}' --max-time 30 \
    --data-binary @"$IT_DIR/req" "$URL/api/serverless")
  BODY=$(cat "$IT_DIR/resp"); HEADERS=$(cat "$IT_DIR/hdr")
}
signed() { verify_signed POST /api/serverless "${URL#http://}" "$IT_DIR/req" "$IT_DIR/resp" "$HEADERS" "$ENCLAVE"; }

tx=$(chain_save_code "$IT_DIR/chain" "$IT_ROOT/examples/factors.js")
check "code transaction mined" grep -Eq '^0x[0-9a-f]{64}$' <<<"$tx"
post "{\"tx_hash\":\"$tx\",\"input\":{\"num\":10}}"
eq "tx code runs: status" "$STATUS" 200
eq "tx code runs: factors" "$(jq -c .factors <<<"$BODY")" "[2,5]"
check "response signed by the enclave (cast verifies)" signed
old=$(chain_save_code "$IT_DIR/chain" "$IT_ROOT/examples/factors.js" old)
post "{\"tx_hash\":\"$old\",\"input\":{\"num\":21}}"
eq "old saveCodeInCallData(string) form" "$(jq -c .factors <<<"$BODY")" "[3,7]"

bad=$(js bad 'export default { fetch() { return new Response("x" }')
btx=$(chain_save_code "$IT_DIR/chain" "$bad")
post "{\"tx_hash\":\"$btx\",\"input\":null}"
eq "syntax error in tx code: 422" "$STATUS" 422
check "syntax error signed too" signed

post "{\"tx_hash\":\"0x$(printf '%064d' 5)\",\"input\":null}"
eq "unknown tx: 404" "$STATUS" 404
eq "unknown tx: code" "$(jq -r .error.code <<<"$BODY")" TX_NOT_FOUND
check "error responses are signed" signed
other=$("$CAST" send --json --rpc-url "$RPC" --private-key "$DEV_KEY3" "$JOBS" \
  "saveCodeInCallData(string,bytes)" "export default {}" 0x --gas-limit 200000 | jq -r .transactionHash)
post "{\"tx_hash\":\"$other\",\"input\":null}"
eq "tx to another contract: 400" "$STATUS" 400
eq "tx to another contract: code" "$(jq -r .error.code <<<"$BODY")" WRONG_CONTRACT
# A string whose length word runs past the calldata: mined (reverted) but undecodable.
garbage=0xff7cdaf3$(printf '%064x' 32)$(printf '%064x' 1000)$(printf '%064x' 0)
gtx=$("$CAST" send --json --rpc-url "$RPC" --private-key "$DEV_KEY3" "$CODE_CONTRACT" "$garbage" \
  --gas-limit 200000 | jq -r .transactionHash)
post "{\"tx_hash\":\"$gtx\",\"input\":null}"
eq "bad calldata: 400" "$STATUS" 400
eq "bad calldata: code" "$(jq -r .error.code <<<"$BODY")" BAD_CALLDATA
post '{"tx_hash":"0x12","input":null}'
eq "malformed tx hash: 400" "$STATUS" 400

# Transactions never change: once fetched, the code runs without the chain.
chain_stop "$IT_DIR/chain"
post "{\"tx_hash\":\"$tx\",\"input\":{\"num\":12}}"
eq "cached tx code runs with the RPC node down" "$(jq -c .factors <<<"$BODY")" "[2,2,3]"
t0=$(now_ms)
post "{\"tx_hash\":\"0x$(printf '%064d' 6)\",\"input\":null}"
t=$(( $(now_ms) - t0 ))
eq "RPC unreachable: 503" "$STATUS" 503
eq "RPC unreachable: code" "$(jq -r .error.code <<<"$BODY")" RPC_UNAVAILABLE
check "RPC unreachable: retried, then answered within 10 s (${t} ms)" test "$t" -lt 10000
