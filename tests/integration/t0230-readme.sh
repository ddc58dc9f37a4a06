#!/usr/bin/env bash
# The README's examples work as printed: the quickstart curl example and the
# operator flow (owner, gas key, registration on chain), run verbatim
# against a node like `make run`'s with only addresses rewritten.
. "$(dirname "$0")/lib.sh"
it_chain
# shellcheck disable=SC2046
it_start $(stack_chain_args "$IT_DIR/chain") poll_interval_ms=200

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

# "Answering jobs on chain": the job flow, verbatim, against the chain watcher.
jobflow=$(block job-flow | sed 's/^sleep 3 .*/for _ in $(seq 1 100); do curl -s "URLX\/api\/jobs?limit=1" | jq -e ".jobs[0].state == \\"confirmed\\"" >\/dev\/null \&\& break; sleep 0.1; done/' | sed "s|URLX|$URL|")
check "job-flow block found" test -n "$jobflow"
out=$(bash -c "set -e; $jobflow" 2>&1) || fail "job flow failed: $out"
eq "job flow prints the confirmed answer" "$(tail -1 <<<"$out")" \
  '{"job_id":"0","state":"confirmed","error_code":0,"output_text":"{\"num\":10,\"factors\":[2,5]}"}'
