#!/usr/bin/env bash
# scripts/deploy-contracts.sh: defaults, custom parameters, output file, errors.
. "$(dirname "$0")/lib.sh"

DEPLOY="$ROOT/scripts/deploy-contracts.sh"
start_anvil

# defaults
if "$DEPLOY" "$RPC" "$K0" "$TMPD/d1.env" >"$TMPD/d1.log" 2>&1; then
    ok "deploy with defaults"
    ( set -eu; . "$TMPD/d1.env"
      [[ "$code_contract" =~ ^0x[0-9a-f]{40}$ ]] && [[ "$executors_contract" =~ ^0x[0-9a-f]{40}$ ]] \
        && [[ "$jobs_contract" =~ ^0x[0-9a-f]{40}$ ]] && [ "$chain_id" = 31337 ] && [[ "$deploy_block" =~ ^[0-9]+$ ]] ) \
        && ok "OUTFILE is shell-sourceable with lowercase addresses, chain_id, deploy_block" \
        || fail "OUTFILE content: $(cat "$TMPD/d1.env")"
    eq "OUTFILE keys" "$(cut -d= -f1 "$TMPD/d1.env" | tr '\n' ' ')" \
        "code_contract executors_contract jobs_contract chain_id deploy_block deployer no_of_nodes_to_select execution_buffer_time sign_max_age min_deadline max_deadline "
    . "$TMPD/d1.env"
    eq "deploy_block is the CodeContract block" "$deploy_block" 1
    eq "default N" "$("$CAST" call -r "$RPC" "$jobs_contract" 'NO_OF_NODES_TO_SELECT()(uint256)')" 1
    eq "default buffer" "$("$CAST" call -r "$RPC" "$jobs_contract" 'EXECUTION_BUFFER_TIME()(uint256)')" 60
    eq "default sign max age (Jobs)" "$("$CAST" call -r "$RPC" "$jobs_contract" 'SIGN_MAX_AGE()(uint256)')" 600
    eq "default sign max age (Executors)" "$("$CAST" call -r "$RPC" "$executors_contract" 'SIGN_MAX_AGE()(uint256)')" 600
    eq "default min deadline" "$("$CAST" call -r "$RPC" "$jobs_contract" 'MIN_DEADLINE()(uint256)')" 1000
    eq "default max deadline" "$("$CAST" call -r "$RPC" "$jobs_contract" 'MAX_DEADLINE()(uint256)' | cut -d' ' -f1)" 300000
    eq "Jobs points at Executors" "$("$CAST" call -r "$RPC" "$jobs_contract" 'EXECUTORS()(address)')" "$executors_contract"
else
    fail "deploy with defaults: $(cat "$TMPD/d1.log")"
fi

# custom parameters
if "$DEPLOY" "$RPC" "${K1#0x}" "$TMPD/sub/d2.env" 3 30 120 500 50000 >"$TMPD/d2.log" 2>&1; then
    ok "deploy with custom parameters (key without 0x, OUTFILE in a new directory)"
    . "$TMPD/sub/d2.env"
    eq "custom config" "$(for f in NO_OF_NODES_TO_SELECT EXECUTION_BUFFER_TIME SIGN_MAX_AGE MIN_DEADLINE MAX_DEADLINE; do
        "$CAST" call -r "$RPC" "$jobs_contract" "$f()(uint256)" | cut -d' ' -f1; done | tr '\n' ' ')" "3 30 120 500 50000 "
    eq "deployer recorded" "$deployer" "$(addr_of "$K1")"
else
    fail "deploy with custom parameters: $(cat "$TMPD/d2.log")"
fi

# errors: non-zero exit, a clear message, no OUTFILE
bad() {
    local desc="$1" want="$2"; shift 2
    rm -f "$TMPD/bad.env"
    if "$DEPLOY" "$@" >"$TMPD/bad.log" 2>&1; then fail "$desc: succeeded"; return; fi
    if grep -q "$want" "$TMPD/bad.log" && [ ! -e "$TMPD/bad.env" ]; then ok "$desc"
    else fail "$desc: $(cat "$TMPD/bad.log")"; fi
}
bad "missing arguments" "usage:" "$RPC" "$K0"
bad "unreachable RPC" "cannot reach RPC" "http://127.0.0.1:1" "$K0" "$TMPD/bad.env"
bad "malformed private key" "PRIVATE_KEY must be" "$RPC" 0x1234 "$TMPD/bad.env"
bad "N = 0" "N must be" "$RPC" "$K0" "$TMPD/bad.env" 0
bad "min deadline > max deadline" "MINDEADLINE" "$RPC" "$K0" "$TMPD/bad.env" 1 60 600 5000 1000
bad "non-numeric buffer" "BUFFER must be" "$RPC" "$K0" "$TMPD/bad.env" 1 sixty
bad "account without funds" "deploying CodeContract failed" "$RPC" "$(new_key)" "$TMPD/bad.env"

finish
