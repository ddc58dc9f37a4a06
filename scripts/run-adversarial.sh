#!/usr/bin/env bash
# Run the adversarial tests (tests/adversarial/t*.sh: one per row of the
# attack catalogue in SECURITY.md), each in its own process with its own
# node, then print the summary table (one row per attack) and a final line
# "adversarial: N passed, M failed".
#   ADV_QUICK=1          the short form (what `make test` runs)
#   ADV_FILTER=pattern   run only tests whose name matches
#   ADV_TIMEOUT=seconds  per-test limit (default 600; 300 with ADV_QUICK=1)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
export ADV_QUICK=${ADV_QUICK:-0}
limit=${ADV_TIMEOUT:-$([ "$ADV_QUICK" = 1 ] && echo 300 || echo 600)}
summary=$(mktemp /tmp/oyster-adv-summary.XXXXXX)
export ADV_SUMMARY=$summary
trap 'rm -f "$summary"' EXIT
pass=0 failn=0 failed=()
t_all=$(date +%s)
for t in tests/adversarial/t*.sh; do
  name=$(basename "$t" .sh)
  [[ -n "${ADV_FILTER:-}" && "$name" != *${ADV_FILTER}* ]] && continue
  start=$(date +%s)
  rows=$(wc -l <"$summary")
  # SIGINT, not SIGTERM, on timeout: the test's EXIT trap still runs teardown.
  if timeout -s INT -k 60 "$limit" bash "$t"; then
    pass=$((pass + 1))
  else
    failn=$((failn + 1)); failed+=("$name")
  fi
  if [ "$(wc -l <"$summary")" = "$rows" ]; then
    echo "${name#t[0-9][0-9][0-9][0-9]-} | ? | FAILED: the test wrote no summary row | ? | ?" >>"$summary"
  fi
  echo "[$name] took $(( $(date +%s) - start ))s"
done
echo
echo "Adversarial summary ($([ "$ADV_QUICK" = 1 ] && echo quick || echo full) suite, $(( $(date +%s) - t_all ))s):"
echo
echo "| attack | attempts | outcome | next-request failures | leftovers |"
echo "|---|---|---|---|---|"
sed 's/^/| /; s/$/ |/' "$summary"
echo
[ "$failn" = 0 ] || echo "failed: ${failed[*]}"
echo "adversarial: $pass passed, $failn failed"
[ "$failn" = 0 ]
