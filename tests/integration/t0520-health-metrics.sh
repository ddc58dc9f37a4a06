#!/usr/bin/env bash
# /metrics covers HTTP, sandbox, chain and process; /healthz turns unhealthy
# (503, with the reasons) when the chain watcher lags or stalls or the server
# error rate crosses the configured thresholds, and not when the user's own
# code fails; every metric the example alert rules use exists.
. "$(dirname "$0")/lib.sh"
it_chain
it_chain_node slots=2 deadline_ms=1000 poll_interval_ms=200 \
  health_max_chain_lag=10 health_max_head_age_s=3 health_min_requests=5 \
  health_max_error_percent=50 health_error_window_s=10

hz() { curl -s -o "$IT_DIR/hz" -w '%{http_code}' "$URL/healthz"; }
problems() { jq -r '.problems | join("; ")' "$IT_DIR/hz"; }

# ---- executions: the user's failures are not the node's ------------------------
fid=$(upload "$IT_ROOT/examples/factors.js")
throw=$(upload "$(js throw 'export default { fetch() { throw new Error("user bug"); } }')")
loop=$(upload "$(js loop 'export default { fetch() { while (true) {} } }')")
run "$fid" '{"num":12}'; eq "factors" "$STATUS" 200
run "$fid" '{"num":7}'
run "$loop" null; eq "deadline" "$(jq -r .error.code <<<"$BODY")" EXECUTION_TIMEOUT
for _ in 1 2 3 4 5 6; do run "$throw" null; done
eq "user exception" "$(jq -r .error.code <<<"$BODY")" WORKER_EXCEPTION
eq "healthz ok after the user's errors" "$(hz)" 200
eq "no server error counted" "$(jq -c '[.errors.errors, .errors.window_s, .status]' "$IT_DIR/hz")" '[0,10,"ok"]'
check "window counted the requests ($(jq .errors.requests "$IT_DIR/hz"))" test "$(jq .errors.requests "$IT_DIR/hz")" -ge 9

# ---- a job on chain, for the chain families --------------------------------------
tx=$(chain_save_code "$IT_DIR/chain" "$IT_ROOT/examples/factors.js")
job=$(chain_create_job "$IT_DIR/chain" "$tx" "$(hexof_str '{"num":10}')" 5000)
mined() { curl -s "$URL/metrics" | grep -q '^oyster_chain_transactions{kind="submit",state="confirmed"} 1'; }
check "job answered, its transaction mined" _stack_wait "submission mined" 400 mined
m=$(curl -s "$URL/metrics")
printf '%s\n' "$m" >"$IT_DIR/metrics.txt"
has() { grep -Eq "$1" <<<"$m"; }
check "HTTP latency histogram by route" has '^oyster_http_request_duration_seconds_count\{route="serverless"\} (9|[1-9][0-9]+)$'
check "HTTP latency buckets" has '^oyster_http_request_duration_seconds_bucket\{route="code_post",le="\+Inf"\} 3$'
check "requests by route and status" has '^oyster_http_requests_total\{route="serverless",status="500"\} 6$'
check "limit breaches: deadline" has '^oyster_limit_breaches_total\{kind="deadline"\} 1$'
check "limit breaches: memory" has '^oyster_limit_breaches_total\{kind="memory"\} 0$'
check "runs by outcome" has '^oyster_executions_total\{outcome="exception"\} 6$'
check "slot occupancy per slot" has '^oyster_slot_busy\{slot="1"\} 0$'
if [ "$(jq -r .mode <<<"$(curl -s "$URL/healthz")")" = pool ]; then
  check "waits for a workerd start, one per run (pool mode)" has '^oyster_workerd_start_wait_seconds_count 9$'
fi
check "process restarts" has '^oyster_handler_restarts_total 0$'
check "chain head" has '^oyster_chain_head_block [1-9][0-9]*$'
check "chain cursor" has '^oyster_chain_cursor_block [1-9][0-9]*$'
check "chain lag" has '^oyster_chain_lag_blocks [0-9]+$'
check "head freshness" has '^oyster_chain_head_updated_timestamp_seconds [1-9][0-9]{9}$'
check "jobs by state" has '^oyster_chain_jobs\{state="confirmed"\} 1$'
check "transactions pending" has '^oyster_chain_transactions\{kind="submit",state="pending"\} 0$'
check "transactions failed" has '^oyster_chain_transactions\{kind="submit",state="failed"\} 0$'
check "gas spent" has '^oyster_chain_gas_spent_wei_total\{kind="submit"\} [1-9][0-9]*$'
head=$(awk '/^oyster_chain_head_block/ {print $2}' <<<"$m")
eq "healthz reports the chain" "$(hz) $(jq -r '.chain.head' "$IT_DIR/hz")" "200 $head"

# Every metric the example alert rules use exists (Prometheus' own `up` aside).
rules=$(python3 -c '
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
for g in doc["groups"]:
    for r in g["rules"]:
        assert {"alert", "expr", "labels", "annotations"} <= set(r), r
        print(r["expr"])' "$IT_ROOT/conf/oyster-alerts.yml") || fail "alert rules are not valid YAML of the expected shape"
for name in $(grep -o 'oyster_[a-z_]*' <<<"$rules" | sort -u); do
  check "alert rules: $name exists" has "^$name(\{| )"
done
for a in OysterExecutorDown OysterChainLag OysterAllSlotsBusy OysterSubmissionsFailing; do
  check "alert rules: $a" grep -q "alert: $a\$" "$IT_ROOT/conf/oyster-alerts.yml"
done

# ---- the watcher falls behind: unhealthy -------------------------------------------
cw_stop "$IT_DIR/node"
sed -i 's/^max_log_range = .*//' "$IT_DIR/node/executor.conf"
echo "max_log_range = 1" >>"$IT_DIR/node/executor.conf"
"$CAST" rpc --rpc-url "$RPC" anvil_mine 0x40 >/dev/null
cw_start "$IT_DIR/node"
lagging() { [ "$(hz)" = 503 ] && grep -q 'blocks behind the head' <<<"$(problems)"; }
check "healthz 503 while the watcher is 64 blocks behind" _stack_wait "lag reported" 200 lagging
it_log "healthz: $(problems)"
check "lag in /metrics too" bash -c "curl -s '$URL/metrics' | awk '/^oyster_chain_lag_blocks/ {exit !(\$2 > 10)}'"

# ---- the watcher stops: unhealthy once its head is older than 3 s ---------------------
cw_stop "$IT_DIR/node"
stalled() { [ "$(hz)" = 503 ] && grep -q 'last read the head' <<<"$(problems)"; }
check "healthz 503 when the watcher stalls" _stack_wait "stall reported" 200 stalled
it_log "healthz: $(problems)"

# ---- server errors: a node whose workerd cannot run ----------------------------------
N2=$IT_DIR/node2
IT_EXTRA_NODES+=("$N2")
printf '#!/bin/sh\nexit 3\n' >"$IT_DIR/broken-workerd"; chmod 755 "$IT_DIR/broken-workerd"
stack_init "$N2" slots=1 "workerd_path=$IT_DIR/broken-workerd" health_min_requests=5 health_max_error_percent=50
stack_start "$N2"
URL=$(stack_url "$N2")
fid2=$(upload "$IT_ROOT/examples/factors.js")
# The window counts API requests only: the upload, then the runs.
for _ in 1 2 3; do run "$fid2" '{"num":12}'; done
check "a run with a broken workerd is a 5xx ($STATUS)" grep -Eq '^50[02]$' <<<"$STATUS"
eq "3 errors in 4 requests: below health_min_requests, still ok" "$(hz)" 200
run "$fid2" '{"num":12}'; run "$fid2" '{"num":12}'
eq "5 server errors in 6 requests (over 50%): unhealthy" "$(hz)" 503
check "the reason is given" grep -q 'server errors: 5 of 6 requests' <<<"$(problems)"
it_log "healthz: $(problems)"
stack_stop "$N2"
