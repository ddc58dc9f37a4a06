#!/usr/bin/env bash
# Jobs timing: submitOutput deadline (deadline + buffer, exact boundary),
# slashOnExecutionTimeout before/after, per-executor events, second call.
# Block timestamps are pinned with evm_setNextBlockTimestamp; the boundary
# transactions carry an explicit gas limit so no estimation happens at another time.
. "$(dirname "$0")/lib.sh"

start_anvil
deploy 2 60 600 1000 300000

J="$jobs_contract"
CREATE='createJob(uint8,bytes32,bytes,uint256)'
SUBMIT='submitOutput(bytes,uint256,bytes,uint256,uint8,uint256)'
SLASH='slashOnExecutionTimeout(uint256)'
CH="$(printf '0x%064d' 7)"
SLASH_T0="$(topic0 'SlashedOnExecutionTimeout(uint256,address)')"
GL=(--gas-limit 1000000)

E0K="$(new_key)"; E1K="$(new_key)"; E2K="$(new_key)"
E0="$(addr_of "$E0K")"; E1="$(addr_of "$E1K")"; E2="$(addr_of "$E2K")"
register "$E0K" "$K1" && register "$E1K" "$K1" && register "$E2K" "$K2" || die "registration failed: $(cat "$TMPD/last.err")"

# submit EK JOBID [extra cast args]: sign (timestamp = latest block) and send
submit() {
    local ek="$1" id="$2" ts; shift 2
    ts="$(now)"
    tx "$K3" "$J" "$SUBMIT" "$(sign_output "$ek" "$id" 0x6f6b 10 0 "$ts")" "$id" 0x6f6b 10 0 "$ts" "$@"
}
# slashed_list: enclave addresses of the SlashedOnExecutionTimeout logs of the last receipt
slashed_list() {
    jq -r --arg t "$SLASH_T0" '[.logs[] | select(.topics[0] == $t) | "0x" + .topics[2][26:] + "@" + .topics[1]] | join(" ")' \
        "$TMPD/last.json" | tr 'A-F' 'a-f'
}

S0=$(( $(now) + 5 ))
set_next_ts "$S0"
check "job 0 (deadline 5000 ms) created" tx "$K4" "$J" "$CREATE" 1 "$CH" 0x 5000
set_next_ts $((S0 + 1))
check "job 1 (deadline 5000 ms, one second later) created" tx "$K4" "$J" "$CREATE" 1 "$CH" 0x 5000
eq "job 0 execStartTime" "$("$CAST" call --json -r "$RPC" "$J" 'jobs(uint256)(address,uint8,bytes32,uint256,uint256,uint8,bool)' 0 | jq -r '.[3]')" "$S0"
# selection: job 0 -> [E0 E1], job 1 -> [E1 E2]
set_next_ts $((S0 + 2))
check "E0 answers job 0" submit "$E0K" 0

reverts "slash job 0 right away" JobsDeadlineNotOver "$K3" "$J" "$SLASH" 0
reverts "slash an unknown job" JobsUnknownJob "$K3" "$J" "$SLASH" 42

# t = S0+65: job 0 ends at S0*1000 + 5000 + 60000 ms -> slashing not yet allowed (<=)
set_next_ts $((S0 + 65))
if tx "$K3" "$J" "$SLASH" 0 "${GL[@]}"; then fail "slash at exactly deadline+buffer is rejected"
else eq "slash at exactly deadline+buffer is rejected (status 0)" "$(jq -r .status "$TMPD/last.json" 2>/dev/null)" 0x0; fi

# t = S0+66 = S1+65: job 1 ends at S1*1000 + 65000 ms exactly -> output still accepted (<=)
set_next_ts $((S0 + 66))
check "E1 answers job 1 at exactly deadline+buffer (accepted)" submit "$E1K" 1 "${GL[@]}"
# t = S0+67 = S1+66 > job 1 end -> rejected
set_next_ts $((S0 + 67))
if submit "$E2K" 1 "${GL[@]}"; then fail "E2 answers job 1 1 s after deadline+buffer (rejected)"
else eq "E2 answers job 1 1 s after deadline+buffer (rejected, status 0)" "$(jq -r .status "$TMPD/last.json" 2>/dev/null)" 0x0; fi

advance 5
reverts "E1 answers job 0 after deadline+buffer" JobsDeadlineOver \
    "$K3" "$J" "$SUBMIT" "$(sign_output "$E1K" 0 0x 1 0 "$(now)")" 0 0x 1 0 "$(now)"

if tx "$K3" "$J" "$SLASH" 0; then
    ok "slash job 0 after deadline+buffer"
    eq "job 0: only the non-submitting E1 is slashed" "$(slashed_list)" "$E1@$(printf '0x%064d' 0)"
else
    fail "slash job 0 after deadline+buffer: $(cat "$TMPD/last.err")"
fi
eq "job 0 closed" "$("$CAST" call --json -r "$RPC" "$J" 'jobs(uint256)(address,uint8,bytes32,uint256,uint256,uint8,bool)' 0 | jq -r '.[6]')" true
reverts "second slash of job 0" JobsJobClosed "$K3" "$J" "$SLASH" 0
if tx "$K4" "$J" "$SLASH" 1; then
    ok "slash job 1 (anyone may call)"
    eq "job 1: only E2 is slashed" "$(slashed_list)" "$E2@$(printf '0x%064d' 1)"
else
    fail "slash job 1: $(cat "$TMPD/last.err")"
fi

# job 2 -> [E2 E0]: both answer -> nothing to slash
check "job 2 created" tx "$K4" "$J" "$CREATE" 1 "$CH" 0x 1000
check "E2 answers job 2" submit "$E2K" 2
check "E0 answers job 2" submit "$E0K" 2
reverts "slash job 2 before deadline (everyone answered)" JobsDeadlineNotOver "$K3" "$J" "$SLASH" 2
advance 62
reverts "slash job 2 after deadline (everyone answered)" JobsNothingToSlash "$K3" "$J" "$SLASH" 2

# job 3 -> [E0 E1]: nobody answers -> both slashed, in selection order
check "job 3 created" tx "$K4" "$J" "$CREATE" 1 "$CH" 0x 1000
advance 62
if tx "$K3" "$J" "$SLASH" 3; then
    ok "slash job 3"
    J3="$(printf '0x%064d' 3)"
    eq "job 3: both selected executors slashed" "$(slashed_list)" "$E0@$J3 $E1@$J3"
else
    fail "slash job 3: $(cat "$TMPD/last.err")"
fi

finish
