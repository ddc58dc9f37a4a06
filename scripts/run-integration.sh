#!/usr/bin/env bash
# Run every integration test (tests/integration/t*.sh), each in its own
# process with its own node, and print a summary line.  The node runs in
# the default sandbox mode (pool); the sandbox tests (t01*) then run once
# more in process mode, so both modes keep passing the same tests.
#   IT_FILTER=pattern    run only tests whose name matches
#   IT_MODES="pool"      the extra modes for the sandbox tests (default
#                        "process"; empty = none)
# A failing test's output is printed again after the summary, so the end of
# a long log (all a CI page may keep) says why it failed.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
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
  log=$logs/$name${mode:+.$mode}.log
  if IT_SANDBOX_MODE=$mode bash "$t" 2>&1 | tee "$log"; then
    pass=$((pass + 1))
  else
    failn=$((failn + 1)); failed+=("$label")
    cp "$log" "$logs/failed.$failn.log"
  fi
  echo "[$label] took $(( $(date +%s) - start ))s"
done
for ((i = 1; i <= failn; i++)); do
  echo
  echo "==== output of failed test: ${failed[i-1]} (last 60 lines) ===="
  tail -n 60 "$logs/failed.$i.log"
done
echo
[ "$failn" = 0 ] || echo "failed: ${failed[*]}"
echo "integration: $pass passed, $failn failed"
[ "$failn" = 0 ]
