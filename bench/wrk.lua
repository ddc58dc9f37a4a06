-- wrk script for bench/run.sh: POST the file $BENCH_BODY to $BENCH_PATH and
-- print one JSON line (prefixed "BENCH ") with the figures run.sh reads.
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local path = os.getenv("BENCH_PATH") or "/"

request = function()
  return wrk.format(nil, path)
end

done = function(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'BENCH {"requests":%d,"errors":%d,"seconds":%.3f,"rps":%.2f,"p50_ms":%.3f,"p99_ms":%.3f}\n',
    summary.requests, e.connect + e.read + e.write + e.timeout + e.status, secs,
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
