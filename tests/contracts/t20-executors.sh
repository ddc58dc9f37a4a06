#!/usr/bin/env bash
# Executors: registration (EIP-712 signature by the enclave key, produced by cast),
# rejections, drain / revive / deregister, views.
. "$(dirname "$0")/lib.sh"

start_anvil
deploy 1 60 600

REG='registerExecutor(bytes,uint256,uint256,bytes,uint256,uint8)'
EXR='executors(address)(address,uint256,uint8,bool,bool,uint256,uint256)'
X="$executors_contract"
O1="$(addr_of "$K1")"; O2="$(addr_of "$K2")"

eq "DOMAIN_SEPARATOR" "$("$CAST" call -r "$RPC" "$X" 'DOMAIN_SEPARATOR()(bytes32)')" \
    0x871063a5a882629313a49affd6d5731126799cfa9053a1481fe360bb79fd49a3
eq "REGISTER_TYPEHASH" "$("$CAST" call -r "$RPC" "$X" 'REGISTER_TYPEHASH()(bytes32)')" \
    "$("$CAST" keccak 'Register(address owner,uint256 jobCapacity,uint8 env,uint256 signTimestamp)')"
eq "SIGN_MAX_AGE" "$("$CAST" call -r "$RPC" "$X" 'SIGN_MAX_AGE()(uint256)')" 600

E1K="$(new_key)"; E1="$(addr_of "$E1K")"; P1="$(pubkey_of "$E1K")"
eq "enclave address = last 20 bytes of keccak(X||Y)" "0x$("$CAST" keccak "$P1" | cut -c27-)" "$E1"

# ---- accepted (signed 30 s ahead of the chain: within SIGN_MAX_SKEW)
T=$(( $(now) + 30 ))
SIG="$(sign_register "$E1K" "$O1" 20 1 "$T")"
if tx "$K1" "$X" "$REG" "$P1" 20 "$T" "$SIG" 12345 1; then
    ok "register with a good signature (timestamp 30 s ahead of the chain)"
    eq "ExecutorRegistered: one log" "$(log_count)" 1
    eq "ExecutorRegistered: topic0" "$(log_field 0 '.topics[0]')" \
        "$(topic0 'ExecutorRegistered(address,address,uint256,uint8)')"
    eq "ExecutorRegistered: enclaveAddress" "$(topic_addr "$(log_field 0 '.topics[1]')")" "$E1"
    eq "ExecutorRegistered: owner" "$(topic_addr "$(log_field 0 '.topics[2]')")" "$O1"
    eq "ExecutorRegistered: jobCapacity, env" \
        "$("$CAST" abi-decode 'f()(uint256,uint8)' "$(log_field 0 .data)" | tr '\n' ' ')" "20 1 "
    V="$("$CAST" call --json -r "$RPC" "$X" "$EXR" "$E1" | jq -r '.[0:6] | map(tostring) | join(" ")')"
    eq "executors(enclave) = owner, cap, env, draining, registered, stake" "$V" "$O1 20 1 false true 12345"
else
    fail "register with a good signature: $(cat "$TMPD/last.err")"
fi

# ---- rejected
E2K="$(new_key)"; P2="$(pubkey_of "$E2K")"; OTHER="$(new_key)"
T="$(now)"
reverts "signature by another key" ExecutorsInvalidSigner \
    "$K1" "$X" "$REG" "$P2" 20 "$T" "$(sign_register "$OTHER" "$O1" 20 1 "$T")" 0 1
reverts "signature for another owner" ExecutorsInvalidSigner \
    "$K1" "$X" "$REG" "$P2" 20 "$T" "$(sign_register "$E2K" "$O2" 20 1 "$T")" 0 1
reverts "signed jobCapacity differs from the sent one" ExecutorsInvalidSigner \
    "$K1" "$X" "$REG" "$P2" 21 "$T" "$(sign_register "$E2K" "$O1" 20 1 "$T")" 0 1
reverts "signed env differs from the sent one" ExecutorsInvalidSigner \
    "$K1" "$X" "$REG" "$P2" 20 "$T" "$(sign_register "$E2K" "$O1" 20 2 "$T")" 0 1
OLD=$((T - 700))
reverts "signature older than maxAge" ExecutorsSignatureTooOld \
    "$K1" "$X" "$REG" "$P2" 20 "$OLD" "$(sign_register "$E2K" "$O1" 20 1 "$OLD")" 0 1
FUT=$((T + 3600))
reverts "signature timestamp in the future" ExecutorsSignatureInFuture \
    "$K1" "$X" "$REG" "$P2" 20 "$FUT" "$(sign_register "$E2K" "$O1" 20 1 "$FUT")" 0 1
FUT=$((T + 120))
reverts "signature timestamp 2 minutes ahead (SIGN_MAX_SKEW is 60 s)" ExecutorsSignatureInFuture \
    "$K1" "$X" "$REG" "$P2" 20 "$FUT" "$(sign_register "$E2K" "$O1" 20 1 "$FUT")" 0 1
reverts "jobCapacity 0" ExecutorsInvalidJobCapacity \
    "$K1" "$X" "$REG" "$P2" 0 "$T" "$(sign_register "$E2K" "$O1" 0 1 "$T")" 0 1
reverts "65-byte 0x04-prefixed public key" ExecutorsInvalidPubKeyLength \
    "$K1" "$X" "$REG" "0x04${P2:2}" 20 "$T" "$(sign_register "$E2K" "$O1" 20 1 "$T")" 0 1
GOOD="$(sign_register "$E2K" "$O1" 20 1 "$T")"
reverts "signature with v = 29" ExecutorsInvalidSignature \
    "$K1" "$X" "$REG" "$P2" 20 "$T" "${GOOD:0:130}1d" 0 1
reverts "signature with v = 0 (raw recovery id)" ExecutorsInvalidSignature \
    "$K1" "$X" "$REG" "$P2" 20 "$T" "${GOOD:0:130}0$(( 0x${GOOD:130:2} - 27 ))" 0 1
reverts "64-byte signature" ExecutorsInvalidSignature \
    "$K1" "$X" "$REG" "$P2" 20 "$T" "${GOOD:0:130}" 0 1
# malleated twin (r, n - s, 27<->28) recovers to the same key but must be rejected
HIGH="$(node -e '
  const sig = process.argv[1].slice(2);
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const s = n - BigInt("0x" + sig.slice(64, 128));
  const v = 55 - parseInt(sig.slice(128, 130), 16);
  console.log("0x" + sig.slice(0, 64) + s.toString(16).padStart(64, "0") + v.toString(16));
' "$GOOD")"
reverts "high-s signature" ExecutorsInvalidSignature "$K1" "$X" "$REG" "$P2" 20 "$T" "$HIGH" 0 1
check "the low-s original of that signature is accepted" tx "$K1" "$X" "$REG" "$P2" 20 "$T" "$GOOD" 0 1
E2="$(addr_of "$E2K")"

T="$(now)"
reverts "duplicate registration (same owner, fresh signature)" ExecutorsAlreadyRegistered \
    "$K1" "$X" "$REG" "$P1" 20 "$T" "$(sign_register "$E1K" "$O1" 20 1 "$T")" 0 1
reverts "duplicate registration (another owner)" ExecutorsAlreadyRegistered \
    "$K2" "$X" "$REG" "$P1" 20 "$T" "$(sign_register "$E1K" "$O2" 20 1 "$T")" 0 1

# ---- drain / revive / deregister
reverts "drain by a non-owner" ExecutorsNotOwner "$K2" "$X" 'drainExecutor(address)' "$E1"
reverts "revive when not draining" ExecutorsNotDraining "$K1" "$X" 'reviveExecutor(address)' "$E1"
reverts "deregister without drain" ExecutorsNotDraining "$K1" "$X" 'deregisterExecutor(address)' "$E1"
reverts "drain an unknown enclave" ExecutorsNotRegistered "$K1" "$X" 'drainExecutor(address)' "$(addr_of "$(new_key)")"
if tx "$K1" "$X" 'drainExecutor(address)' "$E1"; then
    ok "drain by the owner"
    eq "ExecutorDrained: topic0" "$(log_field 0 '.topics[0]')" "$(topic0 'ExecutorDrained(address)')"
    eq "ExecutorDrained: enclaveAddress" "$(topic_addr "$(log_field 0 '.topics[1]')")" "$E1"
else fail "drain by the owner: $(cat "$TMPD/last.err")"; fi
eq "draining flag set" "$("$CAST" call -r "$RPC" "$X" "$EXR" "$E1" | sed -n 4p)" true
reverts "drain twice" ExecutorsAlreadyDraining "$K1" "$X" 'drainExecutor(address)' "$E1"
eq "getActiveExecutors skips the draining one" \
    "$("$CAST" call -r "$RPC" "$X" 'getActiveExecutors(uint8)(address[])' 1)" "[$E2]"
eq "getExecutors lists both in registration order" \
    "$("$CAST" call -r "$RPC" "$X" 'getExecutors(uint8)(address[])' 1)" "[$E1, $E2]"
reverts "revive by a non-owner" ExecutorsNotOwner "$K2" "$X" 'reviveExecutor(address)' "$E1"
if tx "$K1" "$X" 'reviveExecutor(address)' "$E1"; then
    ok "revive by the owner"
    eq "ExecutorRevived: topic0" "$(log_field 0 '.topics[0]')" "$(topic0 'ExecutorRevived(address)')"
    eq "ExecutorRevived: enclaveAddress" "$(topic_addr "$(log_field 0 '.topics[1]')")" "$E1"
else fail "revive by the owner: $(cat "$TMPD/last.err")"; fi
eq "activeExecutorCount after revive" "$("$CAST" call -r "$RPC" "$X" 'activeExecutorCount(uint8)(uint256)' 1)" 2
check "drain again" tx "$K1" "$X" 'drainExecutor(address)' "$E1"
reverts "deregister by a non-owner" ExecutorsNotOwner "$K2" "$X" 'deregisterExecutor(address)' "$E1"
if tx "$K1" "$X" 'deregisterExecutor(address)' "$E1"; then
    ok "deregister by the owner after drain"
    eq "ExecutorDeregistered: topic0" "$(log_field 0 '.topics[0]')" "$(topic0 'ExecutorDeregistered(address)')"
    eq "ExecutorDeregistered: enclaveAddress" "$(topic_addr "$(log_field 0 '.topics[1]')")" "$E1"
else fail "deregister by the owner: $(cat "$TMPD/last.err")"; fi
eq "deregistered: record cleared" "$("$CAST" call -r "$RPC" "$X" 'isRegistered(address)(bool)' "$E1")" false
eq "deregistered: removed from the list" "$("$CAST" call -r "$RPC" "$X" 'getExecutors(uint8)(address[])' 1)" "[$E2]"
reverts "drain after deregister" ExecutorsNotRegistered "$K1" "$X" 'drainExecutor(address)' "$E1"
check "the enclave can register again (new owner)" register "$E1K" "$K2"
eq "re-registered with the new owner" "$("$CAST" call -r "$RPC" "$X" 'getOwner(address)(address)' "$E1")" "$O2"

# ordered removal keeps the others' registration order
E3K="$(new_key)"; E3="$(addr_of "$E3K")"; E4K="$(new_key)"; E4="$(addr_of "$E4K")"
check "register E3" register "$E3K" "$K3"
check "register E4 (env 2)" register "$E4K" "$K3" 5 2
eq "env 1 list" "$("$CAST" call -r "$RPC" "$X" 'getExecutors(uint8)(address[])' 1)" "[$E2, $E1, $E3]"
eq "env 2 list" "$("$CAST" call -r "$RPC" "$X" 'getExecutors(uint8)(address[])' 2)" "[$E4]"
tx "$K2" "$X" 'drainExecutor(address)' "$E1" && tx "$K2" "$X" 'deregisterExecutor(address)' "$E1"
eq "removing the middle one keeps the order" "$("$CAST" call -r "$RPC" "$X" 'getExecutors(uint8)(address[])' 1)" "[$E2, $E3]"

# ---- exact maxAge boundary (block timestamps pinned; gas limit given so no estimation)
E5K="$(new_key)"; P5="$(pubkey_of "$E5K")"; E6K="$(new_key)"; P6="$(pubkey_of "$E6K")"
T="$(( $(now) + 10 ))"
set_next_ts $((T + 600))
check "signature exactly maxAge old is accepted" \
    tx "$K1" "$X" "$REG" "$P5" 20 "$T" "$(sign_register "$E5K" "$O1" 20 1 "$T")" 0 1 --gas-limit 500000
set_next_ts $((T + 601))
if tx "$K1" "$X" "$REG" "$P6" 20 "$T" "$(sign_register "$E6K" "$O1" 20 1 "$T")" 0 1 --gas-limit 500000; then
    fail "signature maxAge+1 s old is rejected"
else
    eq "signature maxAge+1 s old is rejected (mined, status 0)" "$(jq -r .status "$TMPD/last.json" 2>/dev/null)" 0x0
fi

finish
