#!/usr/bin/env bash
# Catalogue row 16: the chain watcher (master or any child: watcher, sender,
# runners) SIGKILLed at random moments while jobs flow, many times: no job
# lost, none answered twice on chain, PRAGMA integrity_check ok, nothing
# left claimed.  This runs tests/integration/t0330-kill-loop.sh (its own
# node, chain and checks) with KILLS=100 (20 in the quick form) and reports
# its result as one row.
. "$(dirname "$0")/lib.sh"
KILLS=100; quick && KILLS=20
out=$IT_DIR/t0330.out
t0=$(date +%s)
rc=0
KILLS=$KILLS bash "$IT_ROOT/tests/integration/t0330-kill-loop.sh" >"$out" 2>&1 || rc=$?
t=$(( $(date +%s) - t0 ))
grep -v '^{' "$out" | sed 's/^/  /' | grep -E 'FAIL|ok: (integrity|no job|one mined|chain watcher)|PASSED|FAILED|SIGKILLs' || true
adv_attempt "$KILLS"
jobs=$(grep -c 'ok: job .* answered exactly once by us\|FAIL: job ' "$out" || true)
lost=$(grep -c 'FAIL: job ' "$out" || true)
ADV_NEXT_TRIES=$jobs ADV_NEXT_FAILS=$lost
left=$(sed -n 's/.*leftover processes\/cgroups after stop: \([0-9]*\).*/\1/p' "$out" | head -1)
eq "t0330 with KILLS=$KILLS passed" "$rc" 0
eq "every job answered exactly once" "$lost" 0
check "integrity_check ok" grep -q 'ok: integrity_check' "$out"
eq "t0330's teardown found no leftovers" "${left:-0}" 0
adv_note "$KILLS SIGKILLs of the chain watcher while $jobs jobs flowed (${t} s): $lost lost or answered twice, integrity_check $(grep -q 'ok: integrity_check' "$out" && echo ok || echo FAILED) (tests/integration/t0330)"
