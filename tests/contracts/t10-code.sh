#!/usr/bin/env bash
# CodeContract: both saveCodeInCallData forms succeed, emit CodeCreated, and the
# transaction input decodes back to the code.
. "$(dirname "$0")/lib.sh"

start_anvil
deploy

eq "old selector saveCodeInCallData(string)" "$("$CAST" sig 'saveCodeInCallData(string)')" 0xff7cdaf3
eq "new selector saveCodeInCallData(string,bytes)" "$("$CAST" sig 'saveCodeInCallData(string,bytes)')" 0x1ae53fea

CODE='export default { async fetch(request) { const b = await request.text(); return new Response("héllo " + b + " \"quoted\"\n"); } };'
OWNER="$(addr_of "$K1")"
CC_T0="$(topic0 'CodeCreated(address,bytes)')"

# new form with metadata
if tx "$K1" "$code_contract" 'saveCodeInCallData(string,bytes)' "$CODE" 0xc0ffee; then
    ok "saveCodeInCallData(string,bytes) mined"
    H="$(jq -r .transactionHash "$TMPD/last.json")"
    eq "CodeCreated: one log" "$(log_count)" 1
    eq "CodeCreated: topic0" "$(log_field 0 '.topics[0]')" "$CC_T0"
    eq "CodeCreated: owner" "$(topic_addr "$(log_field 0 '.topics[1]')")" "$OWNER"
    eq "CodeCreated: metadata" "$("$CAST" abi-decode 'f()(bytes)' "$(log_field 0 .data)")" 0xc0ffee
    INPUT="$("$CAST" tx --rpc-url "$RPC" "$H" input)"
    TO="$("$CAST" tx --rpc-url "$RPC" "$H" to)"
    eq "code tx is sent to the code contract" "$TO" "$code_contract"
    eq "code tx selector" "${INPUT:0:10}" 0x1ae53fea
    DEC="$("$CAST" calldata-decode --json 'saveCodeInCallData(string,bytes)' "$INPUT")"
    eq "calldata decodes back to the code" "$(jq -r '.[0]' <<<"$DEC")" "$CODE"
    eq "calldata decodes back to the metadata" "$(jq -r '.[1]' <<<"$DEC")" 0xc0ffee
else
    fail "saveCodeInCallData(string,bytes): $(cat "$TMPD/last.err")"
fi

# old form
if tx "$K2" "$code_contract" 'saveCodeInCallData(string)' "$CODE"; then
    ok "saveCodeInCallData(string) mined"
    H="$(jq -r .transactionHash "$TMPD/last.json")"
    eq "old form CodeCreated: owner" "$(topic_addr "$(log_field 0 '.topics[1]')")" "$(addr_of "$K2")"
    eq "old form CodeCreated: empty metadata" "$("$CAST" abi-decode 'f()(bytes)' "$(log_field 0 .data)")" 0x
    INPUT="$("$CAST" tx --rpc-url "$RPC" "$H" input)"
    eq "old form selector" "${INPUT:0:10}" 0xff7cdaf3
    eq "old form calldata decodes back to the code" \
        "$("$CAST" calldata-decode --json 'saveCodeInCallData(string)' "$INPUT" | jq -r '.[0]')" "$CODE"
else
    fail "saveCodeInCallData(string): $(cat "$TMPD/last.err")"
fi

# a large code blob (~30 KB) also fits in calldata
BIG="$(head -c 22000 /dev/urandom | base64 -w0)"
if tx "$K1" "$code_contract" 'saveCodeInCallData(string,bytes)' "$BIG" 0x; then
    H="$(jq -r .transactionHash "$TMPD/last.json")"
    eq "30 KB code round-trips through calldata" \
        "$("$CAST" calldata-decode --json 'saveCodeInCallData(string,bytes)' "$("$CAST" tx --rpc-url "$RPC" "$H" input)" | jq -r '.[0]')" "$BIG"
else
    fail "30 KB code tx: $(head -c 300 "$TMPD/last.err")"
fi

# no storage is written: storage slot 0 stays empty
eq "code contract stores nothing (slot 0)" "$("$CAST" storage --rpc-url "$RPC" "$code_contract" 0)" \
    0x0000000000000000000000000000000000000000000000000000000000000000

finish
