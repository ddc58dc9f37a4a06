#!/usr/bin/env bash
# Usage headers, /healthz, /metrics and the structured access log.
. "$(dirname "$0")/lib.sh"
it_start slots=2

fid=$(upload "$IT_ROOT/examples/factors.js")
burn=$(upload "$(js burn 'export default { fetch() { let x = 0; const t = Date.now(); while (Date.now() - t < 200) x++; return new Response(String(x > 0)); } }')")
run "$fid" '{"num":12}'
wall=$(header x-oyster-usage-wall-ms); cpu=$(header x-oyster-usage-cpu-ms); mem=$(header x-oyster-usage-memory-peak-bytes)
check "wall ms is a positive number ($wall)" test "${wall:-0}" -gt 0
check "cpu ms is a number ($cpu)" grep -Eq '^[0-9]+$' <<<"$cpu"
check "peak memory above 1 MiB ($mem)" test "${mem:-0}" -gt 1048576
st=$(header server-timing)
check "Server-Timing gives the sandbox time to the microsecond ($st)" grep -Eq '^sandbox;dur=[0-9]+\.[0-9]{3}$' <<<"$st"
check "and it agrees with the wall ms header ($st, $wall)" test "$(sed 's/^sandbox;dur=\([0-9]*\)\..*/\1/' <<<"$st")" = "$wall"
run "$burn" null
cpu=$(header x-oyster-usage-cpu-ms); wall=$(header x-oyster-usage-wall-ms)
check "a 200 ms busy loop is counted as CPU time ($cpu ms; more than 50 even on a loaded host)" test "${cpu:-0}" -ge 50
check "and >= 200 ms wall ($wall)" test "${wall:-0}" -ge 200

hz=$(curl -s "$URL/healthz")
eq "healthz status" "$(jq -r .status <<<"$hz")" ok
eq "healthz slots" "$(jq .slots.total <<<"$hz")" 2
eq "healthz mode" "$(jq -r .mode <<<"$hz")" "$(it_mode)"
eq "healthz cgroups" "$(jq -r .protections.cgroups <<<"$hz")" v1
check "healthz version" test -n "$(jq -r .version <<<"$hz")"

m=$(curl -s "$URL/metrics")
check "requests counter by route and status" grep -q 'oyster_http_requests_total{route="serverless",status="200"} 2' <<<"$m"
check "code uploads counted" grep -q 'oyster_http_requests_total{route="code_post",status="201"} 2' <<<"$m"
check "latency histogram" grep -q 'oyster_execution_duration_seconds_bucket{le="+Inf"} 2' <<<"$m"
check "outcomes" grep -q 'oyster_executions_total{outcome="ok"} 2' <<<"$m"
check "slot occupancy" grep -q '^oyster_slots_busy 0' <<<"$m"
check "metrics content type" bash -c "curl -sI '$URL/metrics' | grep -qi 'content-type: text/plain; version=0.0.4'"

line=$(grep '"route":"serverless"' "$IT_DIR/node/fcgi.log" | tail -1)
check "access log line is JSON" jq -e . <<<"$line"
for f in request_id code_id status duration_ms wall_ms cpu_ms peak_memory_bytes outcome; do
  check "access log has $f" jq -e "has(\"$f\")" <<<"$line"
done

# The jail is in force and /healthz says so; the workerds prove it.
for k in namespaces read_only_root unprivileged_uid no_new_privs seccomp; do
  eq "healthz protection $k" "$(jq -r ".protections.$k" <<<"$hz")" on
done
for p in $(stack_workerd_pids "$IT_DIR/node"); do
  eq "workerd $p runs as the sandbox uid" "$(awk '/^Uid:/ {print $2}' "/proc/$p/status")" 61234
  eq "workerd $p has no capabilities" "$(awk '/^CapEff:/ {print $2}' "/proc/$p/status")" 0000000000000000
  eq "workerd $p is under seccomp" "$(awk '/^Seccomp:/ {print $2}' "/proc/$p/status")" 2
  check "workerd $p is in its own network namespace" test "$(readlink "/proc/$p/ns/net")" != "$(readlink /proc/self/ns/net)"
done
