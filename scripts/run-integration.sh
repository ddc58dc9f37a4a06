#!/usr/bin/env bash
# Run every integration test (tests/integration/t*.sh), each in its own
# process with its own node, and print a summary line.  The node runs in
# the default sandbox mode (pool); the sandbox tests (t01*) then run once
# more in process mode, so both modes keep passing the same tests.
#   IT_FILTER=pattern    run only tests whose name matches
#   IT_MODES="pool"      the extra modes for the sandbox tests (default
#                        "process"; empty = none)
set -uo pipefail
cd "$(dirname "$0")/.."
pass=0 failn=0 failed=()
runs=()
for t in tests/integration/t*.sh; do runs+=("$t:"); done
for m in ${IT_MODES-process}; do
  for t in tests/integration/t01*.sh; do runs+=("$t:$m"); done
done
for r in "${runs[@]}"; do
  t=${r%:*} mode=${r##*:}
  name=$(basename "$t" .sh)
  [[ -n "${IT_FILTER:-}" && "$name" != *${IT_FILTER}* ]] && continue
  label=$name${mode:+ ($mode mode)}
  start=$(date +%s)
  if IT_SANDBOX_MODE=$mode bash "$t"; then
    pass=$((pass + 1))
  else
    failn=$((failn + 1)); failed+=("$label")
  fi
  echo "[$label] took $(( $(date +%s) - start ))s"
done
echo
[ "$failn" = 0 ] || echo "failed: ${failed[*]}"
echo "integration: $pass passed, $failn failed"
[ "$failn" = 0 ]
