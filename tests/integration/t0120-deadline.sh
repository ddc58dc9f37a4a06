#!/usr/bin/env bash
# An infinite loop is stopped at the deadline with EXECUTION_TIMEOUT and
# the slot serves the next request.
. "$(dirname "$0")/lib.sh"
it_start deadline_ms=2000 slots=2

loop=$(upload "$(js loop 'export default { fetch() { while (true) {} } }')")
fid=$(upload "$IT_ROOT/examples/factors.js")
t0=$(now_ms)
run "$loop" null
t=$(( $(now_ms) - t0 ))
eq "infinite loop: 504" "$STATUS" 504
eq "infinite loop: code" "$(jq -r .error.code <<<"$BODY")" EXECUTION_TIMEOUT
check "stopped within deadline + 1 s (took ${t} ms)" test "$t" -lt 3000
check "not before the deadline (took ${t} ms)" test "$t" -ge 2000
check "usage header on a timeout" test -n "$(header x-oyster-usage-cpu-ms)"
# Async busy loop after an await, too.
aloop=$(upload "$(js aloop 'export default { async fetch(r) { await r.text(); for (;;) {} } }')")
run "$aloop" null
eq "async loop: 504" "$STATUS" 504
for i in 1 2 3; do
  run "$fid" '{"num":15}'
  eq "request $i after the timeout" "$(jq -c .factors <<<"$BODY")" "[3,5]"
done
