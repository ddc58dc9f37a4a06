#!/usr/bin/env bash
# Jobs: deterministic selection in createJob, submitOutput acceptance and
# rejections (signatures by the enclave keys, produced by cast). No time travel.
. "$(dirname "$0")/lib.sh"

start_anvil
deploy 2 60 600 1000 300000

J="$jobs_contract"; X="$executors_contract"
CREATE='createJob(uint8,bytes32,bytes,uint256)'
SUBMIT='submitOutput(bytes,uint256,bytes,uint256,uint8,uint256)'
OWNER4="$(addr_of "$K4")"

eq "Jobs DOMAIN_SEPARATOR" "$("$CAST" call -r "$RPC" "$J" 'DOMAIN_SEPARATOR()(bytes32)')" \
    0x92348788277b460cc420185f9a17ff6b57b89f1c70d19a46fce67bb5b5319731
eq "SUBMIT_OUTPUT_TYPEHASH" "$("$CAST" call -r "$RPC" "$J" 'SUBMIT_OUTPUT_TYPEHASH()(bytes32)')" \
    "$("$CAST" keccak 'SubmitOutput(uint256 jobId,bytes output,uint256 totalTime,uint8 errorCode,uint256 signTimestamp)')"
eq "config getters" "$(for f in NO_OF_NODES_TO_SELECT EXECUTION_BUFFER_TIME SIGN_MAX_AGE MIN_DEADLINE MAX_DEADLINE; do
    "$CAST" call -r "$RPC" "$J" "$f()(uint256)" | cut -d' ' -f1; done | tr '\n' ' ')" "2 60 600 1000 300000 "
eq "EXECUTORS getter" "$("$CAST" call -r "$RPC" "$J" 'EXECUTORS()(address)')" "$X"

reverts "createJob with no executors at all" JobsUnavailableExecutors "$K4" "$J" "$CREATE" 1 "$(printf "0x%064d" 1)" 0x 5000

E0K="$(new_key)"; E1K="$(new_key)"; E2K="$(new_key)"; NSK="$(new_key)"
E0="$(addr_of "$E0K")"; E1="$(addr_of "$E1K")"; E2="$(addr_of "$E2K")"
check "register E0" register "$E0K" "$K1"
check "register E1" register "$E1K" "$K1"
check "register E2" register "$E2K" "$K2"

CH=0x$(printf 'ab%.0s' $(seq 32))
INPUTS=0x7b2261223a317d   # {"a":1}

# create_job DEADLINE -> sets JOBID and SEL from the JobCreated event
create_job() {
    JOBID=""; SEL=""
    tx "$K4" "$J" "$CREATE" 1 "$CH" "$INPUTS" "$1" || return 1
    JOBID="$(topic_uint "$(log_field 0 '.topics[1]')")"
    SEL="$("$CAST" abi-decode --json 'f()(bytes32,bytes,uint256,address[])' "$(log_field 0 .data)" \
        | jq -r '.[3] | join(" ")' | tr 'A-F' 'a-f')"
}

if create_job 5000; then
    ok "createJob job 0"
    eq "JobCreated: one log" "$(log_count)" 1
    eq "JobCreated: topic0" "$(log_field 0 '.topics[0]')" \
        "$(topic0 'JobCreated(uint256,uint8,address,bytes32,bytes,uint256,address[])')"
    eq "JobCreated: jobId starts at 0" "$JOBID" 0
    eq "JobCreated: env topic" "$(topic_uint "$(log_field 0 '.topics[2]')")" 1
    eq "JobCreated: jobOwner topic" "$(topic_addr "$(log_field 0 '.topics[3]')")" "$OWNER4"
    D="$("$CAST" abi-decode --json 'f()(bytes32,bytes,uint256,address[])' "$(log_field 0 .data)")"
    eq "JobCreated: codehash" "$(jq -r '.[0]' <<<"$D")" "$CH"
    eq "JobCreated: codeInputs" "$(jq -r '.[1]' <<<"$D")" "$INPUTS"
    eq "JobCreated: deadline (ms)" "$(jq -r '.[2]' <<<"$D")" 5000
    eq "JobCreated: selectedExecutors (start = jobId % 3)" "$SEL" "$E0 $E1"
    BT="$("$CAST" block -r "$RPC" "$(jq -r .blockNumber "$TMPD/last.json")" -f timestamp)"
    eq "jobs(0) view" "$("$CAST" call --json -r "$RPC" "$J" 'jobs(uint256)(address,uint8,bytes32,uint256,uint256,uint8,bool)' 0 \
        | jq -r 'map(tostring) | join(" ")' | tr 'A-F' 'a-f')" "$OWNER4 1 $CH $BT 5000 0 false"
    eq "getSelectedExecutors(0)" "$("$CAST" call --json -r "$RPC" "$J" 'getSelectedExecutors(uint256)(address[])' 0 \
        | jq -r '.[0] | join(" ")' | tr 'A-F' 'a-f')" "$E0 $E1"
else
    fail "createJob job 0: $(cat "$TMPD/last.err")"
fi
create_job 5000 && eq "job 1 selects [E1 E2]" "$JOBID:$SEL" "1:$E1 $E2" || fail "job 1: $(cat "$TMPD/last.err")"
create_job 5000 && eq "job 2 selects [E2 E0] (wraps around)" "$JOBID:$SEL" "2:$E2 $E0" || fail "job 2"
check "drain E1" tx "$K1" "$X" 'drainExecutor(address)' "$E1"
create_job 5000 && eq "job 3 skips draining E1: [E0 E2]" "$JOBID:$SEL" "3:$E0 $E2" || fail "job 3"
create_job 5000 && eq "job 4 starts at draining E1, skips it: [E2 E0]" "$JOBID:$SEL" "4:$E2 $E0" || fail "job 4"
check "drain E0" tx "$K1" "$X" 'drainExecutor(address)' "$E0"
reverts "createJob with 1 of 2 executors available" JobsUnavailableExecutors "$K4" "$J" "$CREATE" 1 "$CH" 0x 5000
check "revive E0" tx "$K1" "$X" 'reviveExecutor(address)' "$E0"
check "revive E1" tx "$K1" "$X" 'reviveExecutor(address)' "$E1"
reverts "createJob for an env without executors" JobsUnavailableExecutors "$K4" "$J" "$CREATE" 2 "$CH" 0x 5000
reverts "deadline below MIN_DEADLINE" JobsInvalidDeadline "$K4" "$J" "$CREATE" 1 "$CH" 0x 999
reverts "deadline above MAX_DEADLINE" JobsInvalidDeadline "$K4" "$J" "$CREATE" 1 "$CH" 0x 300001
create_job 1000 && eq "MIN_DEADLINE accepted (job 5)" "$JOBID" 5 || fail "MIN_DEADLINE"
create_job 300000 && eq "MAX_DEADLINE accepted (job 6)" "$JOBID" 6 || fail "MAX_DEADLINE"
eq "jobCount" "$("$CAST" call -r "$RPC" "$J" 'jobCount()(uint256)')" 7

# ---- submitOutput on job 0 (selected: E0, E1)
OUT=0x68656c6c6f   # "hello"
T="$(now)"
S="$(sign_output "$E0K" 0 "$OUT" 123 0 "$T")"
if tx "$K3" "$J" "$SUBMIT" "$S" 0 "$OUT" 123 0 "$T"; then
    ok "submitOutput by E0 (sent by an unrelated gas key)"
    eq "JobResponded: one log" "$(log_count)" 1
    eq "JobResponded: topic0" "$(log_field 0 '.topics[0]')" \
        "$(topic0 'JobResponded(uint256,address,bytes,uint256,uint8,uint8)')"
    eq "JobResponded: jobId" "$(topic_uint "$(log_field 0 '.topics[1]')")" 0
    eq "JobResponded: executor = enclave address" "$(topic_addr "$(log_field 0 '.topics[2]')")" "$E0"
    eq "JobResponded: output, totalTime, errorCode, outputCount" \
        "$("$CAST" abi-decode --json 'f()(bytes,uint256,uint8,uint8)' "$(log_field 0 .data)" | jq -r 'map(tostring) | join(" ")')" \
        "$OUT 123 0 1"
else
    fail "submitOutput by E0: $(cat "$TMPD/last.err")"
fi
eq "hasSubmitted(0, E0)" "$("$CAST" call -r "$RPC" "$J" 'hasSubmitted(uint256,address)(bool)' 0 "$E0")" true
eq "hasSubmitted(0, E1)" "$("$CAST" call -r "$RPC" "$J" 'hasSubmitted(uint256,address)(bool)' 0 "$E1")" false

T="$(now)"
reverts "double submit by E0" JobsAlreadySubmitted \
    "$K3" "$J" "$SUBMIT" "$(sign_output "$E0K" 0 0x01 5 0 "$T")" 0 0x01 5 0 "$T"
reverts "signer registered but not selected (E2 on job 0)" JobsNotSelectedExecutor \
    "$K3" "$J" "$SUBMIT" "$(sign_output "$E2K" 0 "$OUT" 5 0 "$T")" 0 "$OUT" 5 0 "$T"
reverts "signer not registered at all" JobsNotSelectedExecutor \
    "$K3" "$J" "$SUBMIT" "$(sign_output "$NSK" 0 "$OUT" 5 0 "$T")" 0 "$OUT" 5 0 "$T"
S1="$(sign_output "$E1K" 0 "$OUT" 50 0 "$T")"
reverts "bad signature: output altered after signing" JobsNotSelectedExecutor \
    "$K3" "$J" "$SUBMIT" "$S1" 0 0x68656c6c6e 50 0 "$T"
reverts "bad signature: totalTime altered after signing" JobsNotSelectedExecutor \
    "$K3" "$J" "$SUBMIT" "$S1" 0 "$OUT" 51 0 "$T"
reverts "bad signature: signed for job 1, sent for job 0" JobsNotSelectedExecutor \
    "$K3" "$J" "$SUBMIT" "$(sign_output "$E1K" 1 "$OUT" 50 0 "$T")" 0 "$OUT" 50 0 "$T"
reverts "bad signature: v = 29" JobsInvalidSignature "$K3" "$J" "$SUBMIT" "${S1:0:130}1d" 0 "$OUT" 50 0 "$T"
reverts "bad signature: 64 bytes" JobsInvalidSignature "$K3" "$J" "$SUBMIT" "${S1:0:130}" 0 "$OUT" 50 0 "$T"
reverts "bad signature: empty" JobsInvalidSignature "$K3" "$J" "$SUBMIT" 0x 0 "$OUT" 50 0 "$T"
OLD=$((T - 601 - 5))
reverts "signature older than SIGN_MAX_AGE" JobsSignatureTooOld \
    "$K3" "$J" "$SUBMIT" "$(sign_output "$E1K" 0 "$OUT" 50 0 "$OLD")" 0 "$OUT" 50 0 "$OLD"
reverts "unknown job" JobsUnknownJob \
    "$K3" "$J" "$SUBMIT" "$(sign_output "$E1K" 99 "$OUT" 50 0 "$T")" 99 "$OUT" 50 0 "$T"

# E1 answers job 0 with an error code and a totalTime above the deadline (capped)
if tx "$K1" "$J" "$SUBMIT" "$(sign_output "$E1K" 0 0x 999999 4 "$T")" 0 0x 999999 4 "$T"; then
    ok "submitOutput by E1 (error code 4)"
    eq "JobResponded: E1" "$(topic_addr "$(log_field 0 '.topics[2]')")" "$E1"
    eq "JobResponded: empty output, totalTime capped at deadline, code 4, outputCount 2" \
        "$("$CAST" abi-decode --json 'f()(bytes,uint256,uint8,uint8)' "$(log_field 0 .data)" | jq -r 'map(tostring) | join(" ")')" \
        "0x 5000 4 2"
else
    fail "submitOutput by E1: $(cat "$TMPD/last.err")"
fi
eq "jobs(0).outputCount" "$("$CAST" call --json -r "$RPC" "$J" 'jobs(uint256)(address,uint8,bytes32,uint256,uint256,uint8,bool)' 0 | jq -r '.[5]')" 2

# a maximal (20 KiB) output on job 1 (selected: E1, E2)
BIG="0x$(head -c 20480 /dev/urandom | od -An -v -tx1 | tr -d ' \n')"
T="$(now)"
if tx "$K2" "$J" "$SUBMIT" "$(sign_output "$E2K" 1 "$BIG" 4000 0 "$T")" 1 "$BIG" 4000 0 "$T"; then
    ok "submitOutput with a 20 KiB output"
    eq "20 KiB output round-trips in JobResponded" \
        "$("$CAST" abi-decode --json 'f()(bytes,uint256,uint8,uint8)' "$(log_field 0 .data)" | jq -r '.[0]')" "$BIG"
else
    fail "submitOutput with a 20 KiB output: $(head -c 300 "$TMPD/last.err")"
fi

finish
