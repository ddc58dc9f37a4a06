#!/usr/bin/env bash
# Latency of one execution end to end (curl -> nginx -> oyster-fcgi ->
# fresh workerd in its cgroup -> back): starts its own node on a free
# loopback port, runs the prime-factor example N times (default 20) one
# after another, and prints min / median / p90 / max in ms.  Use a running
# node instead with URL=http://127.0.0.1:8080; SANDBOX_MODE=process measures
# process mode (default: pool).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/stack-lib.sh"
n=${1:-20}
dir=""
if [ -z "${URL:-}" ]; then
  dir=$(mktemp -d /tmp/oyster-lat.XXXXXX)
  trap 'stack_stop "$dir/node"; rm -rf "$dir"' EXIT
  stack_init "$dir/node" log_level=warn "sandbox_mode=${SANDBOX_MODE:-pool}" >/dev/null
  stack_start "$dir/node"
  URL=$(stack_url "$dir/node")
fi
id=$(curl -sf -H 'Content-Type: application/javascript' --data-binary @"$ROOT/examples/factors.js" "$URL/api/code" | jq -r .code_id)
curl -sf "$URL/api/serverless" -d "{\"code_id\":\"$id\",\"input\":{\"num\":10}}" >/dev/null # warm caches
for i in $(seq 1 "$n"); do
  curl -sf -o /dev/null -w '%{time_total}\n' "$URL/api/serverless" \
    -d "{\"code_id\":\"$id\",\"input\":{\"num\":$((1000 + i))}}"
done | awk '{ printf "%.1f\n", $1 * 1000 }' | sort -n | awk -v n="$n" '
  { v[NR] = $1 }
  END {
    med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    printf "executions: %d  min %.1f ms  median %.1f ms  p90 %.1f ms  max %.1f ms\n", n, v[1], med, v[int(n * 0.9 + 0.5)], v[n]
  }'
