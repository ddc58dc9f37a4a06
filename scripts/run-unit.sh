#!/usr/bin/env bash
# Run unit test binaries (check), optionally under valgrind (VALGRIND=1),
# and print one summary line.
set -uo pipefail
pass=0 failn=0 failed=()
for t in "$@"; do
  name=$(basename "$t")
  if [ "${VALGRIND:-0}" = 1 ]; then
    # No fork mode so valgrind sees the tests themselves.
    CK_FORK=no valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
      --errors-for-leak-kinds=definite,indirect --track-fds=no "$t" >"/tmp/oyster-unit.$name.log" 2>&1
  else
    "$t" >"/tmp/oyster-unit.$name.log" 2>&1
  fi
  rc=$?
  if [ "$rc" = 0 ]; then
    pass=$((pass + 1)); grep -E '^[0-9]+%: Checks' "/tmp/oyster-unit.$name.log" | sed "s/^/[$name] /"
  else
    failn=$((failn + 1)); failed+=("$name")
    echo "[$name] FAILED (exit $rc):"; tail -n 40 "/tmp/oyster-unit.$name.log"
  fi
done
mode=unit; [ "${VALGRIND:-0}" = 1 ] && mode=valgrind
[ "$failn" = 0 ] || echo "failed: ${failed[*]}"
echo "$mode: $pass passed, $failn failed"
[ "$failn" = 0 ]
