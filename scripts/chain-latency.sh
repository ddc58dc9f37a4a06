#!/usr/bin/env bash
# Chain path latency on a local dev chain: for N jobs (default 20), the wall
# time from createJob being mined (cast send returns with its receipt) to
# our submitOutput being mined (its JobResponded event is visible), one job
# at a time.  Prints min / median / p90 / max.
#   BLOCK_TIME=1 (default, like make run) or BLOCK_TIME=0 (anvil automine:
#   shows our own processing without block waits).  POLL_MS: the watcher's
#   poll_interval_ms (default 250, like make run).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/stack-lib.sh"
n=${1:-20}
bt=${BLOCK_TIME:-1}
dir=$(mktemp -d /tmp/oyster-clat.XXXXXX)
trap 'stack_stop "$dir/node"; chain_stop "$dir/chain"; rm -rf "$dir"' EXIT
args=(); [ "$bt" != 0 ] && args=(--block-time "$bt")
chain_start "$dir/chain" "${args[@]}"
# shellcheck disable=SC2046
stack_init "$dir/node" $(stack_chain_args "$dir/chain") poll_interval_ms="${POLL_MS:-250}" log_level=warn >/dev/null
stack_start "$dir/node"
stack_register "$dir/node" "$dir/chain" "$DEV_KEY1" "$DEV_KEY2"
tx=$(chain_save_code "$dir/chain" "$ROOT/examples/factors.js")
input=$("$CAST" from-utf8 '{"num":10}')
for i in $(seq 1 "$n"); do
  id=$(chain_create_job "$dir/chain" "$tx" "$input" 10000)
  t0=$(date +%s%3N)
  until [ -n "$(chain_job_response "$dir/chain" "$id")" ]; do sleep 0.01; done
  echo $(( $(date +%s%3N) - t0 ))
done | sort -n | awk -v n="$n" -v bt="$bt" '
  { v[NR] = $1 }
  END {
    med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    printf "chain jobs: %d (block time %s s)  JobCreated mined -> submitOutput mined: min %d ms  median %d ms  p90 %d ms  max %d ms\n", n, bt, v[1], med, v[int(n * 0.9 + 0.5)], v[n]
  }'
