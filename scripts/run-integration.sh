#!/usr/bin/env bash
# Run every integration test (tests/integration/t*.sh), each in its own
# process with its own node, and print a summary line.
#   IT_FILTER=pattern  run only tests whose name matches
set -uo pipefail
cd "$(dirname "$0")/.."
pass=0 failn=0 failed=()
for t in tests/integration/t*.sh; do
  name=$(basename "$t" .sh)
  [[ -n "${IT_FILTER:-}" && "$name" != *${IT_FILTER}* ]] && continue
  start=$(date +%s)
  if bash "$t"; then
    pass=$((pass + 1))
  else
    failn=$((failn + 1)); failed+=("$name")
  fi
  echo "[$name] took $(( $(date +%s) - start ))s"
done
echo
[ "$failn" = 0 ] || echo "failed: ${failed[*]}"
echo "integration: $pass passed, $failn failed"
[ "$failn" = 0 ]
