# shellcheck shell=bash
# Shared helpers for integration tests: each test sources this, calls
# it_start [key=value ...] to get a fresh node (nginx + oyster-fcgi + real
# workerd) in its own temp dir on a free loopback port, and asserts on what
# comes back.  Teardown runs on every exit path and checks that no workerd
# process or cgroup of the node is left behind.
set -euo pipefail
IT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../../scripts/stack-lib.sh
. "$IT_ROOT/scripts/stack-lib.sh"

IT_NAME=$(basename "$0" .sh)
IT_DIR=$(mktemp -d "/tmp/oyster-it.XXXXXX")
IT_FAILS=0
IT_CHECKS=0

it_log() { echo "[$IT_NAME] $*"; }

fail() {
  IT_FAILS=$((IT_FAILS + 1))
  echo "[$IT_NAME] FAIL: $*" >&2
}

check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  IT_CHECKS=$((IT_CHECKS + 1))
  if "$@"; then echo "[$IT_NAME] ok: $what"; else fail "$what"; fi
}

eq() { # eq WHAT GOT WANT
  IT_CHECKS=$((IT_CHECKS + 1))
  if [ "$2" == "$3" ]; then echo "[$IT_NAME] ok: $1"; else fail "$1: got '$2', want '$3'"; fi
}

it_instance() { sed -n 's/^instance = //p' "$IT_DIR/node/executor.conf"; }

# Processes and cgroups left by this node (0 expected after stop).
it_leftovers() {
  local inst n=0 d
  inst=$(it_instance)
  for d in /sys/fs/cgroup/*/oyster/"$inst" /sys/fs/cgroup/oyster/"$inst"; do
    [ -d "$d" ] && n=$((n + 1))
  done
  n=$((n + $(stack_workerd_pids "$IT_DIR/node" | wc -l)))
  n=$((n + $(pgrep -f -c "oyster-fcgi -c $IT_DIR/node/" || true)))
  echo "$n"
}

IT_EXTRA_NODES=()
_it_teardown() {
  local rc=$?
  set +e
  local n
  for n in "${IT_EXTRA_NODES[@]}"; do stack_stop "$n"; done
  _it_chain_teardown
  if [ -f "$IT_DIR/node/fcgi.pid" ] || [ -f "$IT_DIR/node/nginx.pid" ]; then
    stack_stop "$IT_DIR/node"
  fi
  if [ -f "$IT_DIR/node/executor.conf" ]; then
    local left
    left=$(it_leftovers)
    IT_CHECKS=$((IT_CHECKS + 1))
    if [ "$left" != 0 ]; then fail "leftover processes/cgroups after stop: $left"; fi
  fi
  # Under a sanitizer build (OYSTER_FCGI=build-asan/...) any report fails the test.
  local lf
  for lf in "$IT_DIR"/node*/fcgi.log "$IT_DIR"/node*/chain-watcher.log; do
    if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$lf" 2>/dev/null; then
      fail "sanitizer report in $lf"
      grep -A30 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$lf" | head -60 >&2
    fi
  done
  if [ "$IT_FAILS" != 0 ] || [ "$rc" != 0 ]; then
    echo "[$IT_NAME] --- fcgi.log (last 40 lines) ---" >&2
    tail -n 40 "$IT_DIR/node/fcgi.log" >&2 2>/dev/null
    echo "[$IT_NAME] --- nginx error.log ---" >&2
    tail -n 20 "$IT_DIR/node/nginx/error.log" >&2 2>/dev/null
    echo "[$IT_NAME] FAILED ($IT_FAILS of $IT_CHECKS checks, exit $rc); files kept in $IT_DIR" >&2
    exit 1
  fi
  rm -rf "$IT_DIR"
  echo "[$IT_NAME] PASSED ($IT_CHECKS checks)"
  exit 0
}
trap _it_teardown EXIT

# IT_SANDBOX_MODE=pool|process runs the test's node in that sandbox mode
# (the default otherwise); a test's own sandbox_mode=... still wins.
it_start() {
  stack_init "$IT_DIR/node" ${IT_SANDBOX_MODE:+"sandbox_mode=$IT_SANDBOX_MODE"} "$@"
  stack_start "$IT_DIR/node"
  URL=$(stack_url "$IT_DIR/node")
}

it_stop() { stack_stop "$IT_DIR/node"; }

# The node's effective sandbox mode (pool or process).
it_mode() { _stack_conf_get "$IT_DIR/node" sandbox_mode; }

# The workerd of the node using the most CPU now (the one running a busy
# request; in pool mode every slot also has an idle warm one).
busy_workerd() {
  local p best="" max=-1 t
  declare -A t0
  for p in $(stack_workerd_pids "$IT_DIR/node"); do
    t0[$p]=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
  done
  sleep 0.3
  for p in "${!t0[@]}"; do
    t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
    if [ $((t - t0[$p])) -gt "$max" ]; then max=$((t - t0[$p])); best=$p; fi
  done
  echo "$best"
}

# upload FILE [content-type] -> prints code id
upload() {
  local ct=${2:-application/javascript}
  curl -sS -H "Content-Type: $ct" --data-binary @"$1" "$URL/api/code" | jq -r .code_id
}

# run CODE_ID INPUT_JSON -> sets STATUS, BODY, HEADERS (file)
run() {
  local out="$IT_DIR/resp.$$" hdr="$IT_DIR/hdr.$$"
  STATUS=$(curl -sS -o "$out" -D "$hdr" -w '%{http_code}' --max-time "${RUN_MAX_TIME:-60}" \
    "$URL/api/serverless" -d "{\"code_id\":\"$1\",\"input\":$2}") || STATUS=000
  BODY=$(cat "$out")
  HEADERS=$(cat "$hdr")
}

header() { # header NAME (from the last run)
  printf '%s\n' "$HEADERS" | tr -d '\r' | awk -v n="$(echo "$1" | tr 'A-Z' 'a-z')" -F': ' 'tolower($1)==n {print $2}'
}

js() { # js NAME 'source' -> writes $IT_DIR/NAME.js, prints path
  printf '%s\n' "$2" >"$IT_DIR/$1.js"
  echo "$IT_DIR/$1.js"
}

now_ms() { date +%s%3N; }

# ---- chain helpers for tests ------------------------------------------------
# it_chain: start anvil with our contracts in $IT_DIR/chain (stopped at exit).
it_chain() {
  chain_start "$IT_DIR/chain" "$@"
  RPC=$(chain_get "$IT_DIR/chain" rpc_url)
  CODE_CONTRACT=$(chain_get "$IT_DIR/chain" code_contract)
  EXECUTORS=$(chain_get "$IT_DIR/chain" executors_contract)
  JOBS=$(chain_get "$IT_DIR/chain" jobs_contract)
}

_hexof() { od -An -v -tx1 | tr -d ' \n'; }

# verify_signed METHOD PATH_AND_QUERY HOST REQ_BODY_FILE RESP_BODY_FILE HEADERS ADDRESS
# Recomputes the Oyster response digest with shell tools and cast's keccak,
# and checks the X-Oyster-Signature with `cast wallet verify` (an
# implementation we did not write).
verify_signed() {
  local method=$1 pq=$2 host=$3 req=$4 resp=$5 headers=$6 addr=$7 ts sig hex digest
  ts=$(printf '%s\n' "$headers" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-oyster-timestamp" {print $2}')
  sig=$(printf '%s\n' "$headers" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-oyster-signature" {print $2}')
  [ -n "$ts" ] && [ -n "$sig" ] || { echo "no signature headers" >&2; return 1; }
  hex=$(printf '|oyster-serverless-hasher||timestamp|' | _hexof)
  hex+=$(printf '%016x' "$ts")
  hex+=$(printf '|request||method|%s|pathandquery|%s|host|%s|body|' "$method" "$pq" "$host" | _hexof)
  hex+=$(_hexof <"$req")
  hex+=$(printf '|response||body|' | _hexof)
  hex+=$(_hexof <"$resp")
  digest=$("$CAST" keccak "0x$hex")
  "$CAST" wallet verify --no-hash --address "$addr" "$digest" "$sig" >/dev/null 2>&1
}

_it_chain_teardown() { [ -f "$IT_DIR/chain/anvil.pid" ] && chain_stop "$IT_DIR/chain"; return 0; }

# it_chain_node [key=value ...]: a node on the test chain with its chain
# watcher, registered on chain (owner = dev account 1, gas = dev account 2).
it_chain_node() {
  # shellcheck disable=SC2046
  it_start $(stack_chain_args "$IT_DIR/chain") "$@"
  stack_register "$IT_DIR/node" "$IT_DIR/chain" "$DEV_KEY1" "$DEV_KEY2" || { fail "registration failed"; exit 1; }
  ENCLAVE=$("$OYSTERCTL" address "$IT_DIR/node/id.sec" | sed -n 's/enclave_address //p')
}

hexof_str() { printf '0x%s' "$(printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n')"; }

# wait_response JOB_ID [SECONDS]: until the job has a JobResponded on chain.
wait_response() {
  local id=$1 t=${2:-60}
  _stack_wait "JobResponded for job $id" $((t * 20)) _has_response "$id"
}
_has_response() { [ -n "$(chain_job_response "$IT_DIR/chain" "$1")" ]; }
