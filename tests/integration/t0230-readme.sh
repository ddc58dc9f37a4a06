#!/usr/bin/env bash
# The README's examples work as printed: the quickstart curl example and the
# operator flow (owner, gas key, registration on chain), run verbatim
# against a node like `make run`'s with only addresses rewritten.
. "$(dirname "$0")/lib.sh"
it_chain
it_start "rpc_url=$RPC" "code_contract=$CODE_CONTRACT"

block() { # block NAME -> the shell code between <!-- NAME --> markers, addresses rewritten
  sed -n "/<!-- $1 -->/,/<!-- \\/$1 -->/p" "$IT_ROOT/README.md" | sed '/^<!--/d;/^```/d' |
    sed -e "s|http://127.0.0.1:8080|$URL|g" -e "s|http://127.0.0.1:8545|$RPC|g" \
        -e "s|run/chain/chain.env|$IT_DIR/chain/chain.env|g"
}
cd "$IT_ROOT"
quick=$(block quickstart-example)
check "quickstart block found" test -n "$quick"
out=$(bash -c "$quick")
eq "quickstart example prints the factors" "$out" '{"num":10,"factors":[2,5]}'

flow=$(block operator-flow)
check "operator-flow block found" test -n "$flow"
out=$(bash -c "set -e; $flow" 2>&1) || fail "operator flow failed: $out"
check "owner configured" grep -q 'Immutable params configured!' <<<"$out"
check "gas key configured" grep -q 'Mutable params configured!' <<<"$out"
check "registration transaction succeeded" grep -Eq '^status +1 \(success\)' <<<"$out"
enclave=$("$OYSTERCTL" address "$IT_DIR/node/id.sec" | sed -n 's/enclave_address //p')
check "the enclave is registered on chain" bash -c \
  "'$CAST' call --rpc-url '$RPC' '$EXECUTORS' 'isRegistered(address)(bool)' '$enclave' | grep -q true"
