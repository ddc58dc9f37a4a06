#!/usr/bin/env bash
# `make run`: start a whole node on loopback and keep it in the foreground
# until Ctrl-C or SIGTERM, then stop everything.
#   OYSTER_LISTEN (default 127.0.0.1:8080)  where nginx listens
#   OYSTER_RUN_DIR (default ./run)           config, database and logs
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=stack-lib.sh
. "$ROOT/scripts/stack-lib.sh"

dir=${OYSTER_RUN_DIR:-$ROOT/run}
listen=${OYSTER_LISTEN:-127.0.0.1:8080}
mkdir -p "$dir"
# Slot sockets must fit in sun_path (108 bytes): keep the socket tree short.
sockdir=$(mktemp -d /tmp/oyster-run.XXXXXX)
stack_init "$dir" "http_listen=$listen" "run_dir=$sockdir" "log_level=info"

stopping=0
stop() {
  [ "$stopping" = 1 ] && return
  stopping=1
  echo; echo "stopping..."
  stack_stop "$dir" || true
  rm -rf "$sockdir"
  echo "stopped."
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stack_start "$dir"
url=$(stack_url "$dir")
cat <<MSG

Oyster serverless executor is running at $url
  config $dir/executor.conf   logs $dir/fcgi.log, $dir/nginx/

Try it (upload the prime-factor example, then run it):
  id=\$(curl -s -H 'Content-Type: application/javascript' --data-binary @examples/factors.js $url/api/code | jq -r .code_id)
  curl -s $url/api/serverless -d "{\"code_id\":\"\$id\",\"input\":{\"num\":10}}"

Health: curl -s $url/healthz    Metrics: curl -s $url/metrics
Press Ctrl-C to stop.
MSG
tail -n 0 -f "$dir/fcgi.log" &
tailpid=$!
wait "$(cat "$dir/fcgi.pid")" || true
kill "$tailpid" 2>/dev/null || true
