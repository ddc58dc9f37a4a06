# shellcheck shell=bash disable=SC2034
# Shared helpers for tests/contracts/t*.sh (source it; bash only).
#
# Each test starts its own anvil on a free loopback port, deploys the
# contracts with scripts/deploy-contracts.sh and kills anvil on exit.
# Signatures by enclave keys are produced by cast (EIP-712 typed data),
# i.e. by an implementation independent of ours.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CAST="${CAST:-$ROOT/node_modules/.bin/cast}"
ANVIL="${ANVIL:-$ROOT/node_modules/.bin/anvil}"
BUILD="${BUILD:-build}"
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
CONTRACTS_DIR="$BUILD/contracts"
export BUILD CAST

TNAME="$(basename "$0" .sh)"
TMPD="$(mktemp -d "${TMPDIR:-/tmp}/oyster-contracts-$TNAME.XXXXXX")"
ANVIL_PID=""
RPC=""
PASS=0
FAILS=0

# anvil's default mnemonic accounts 0..4 (well-known dev keys, not secrets)
K0=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
K1=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
K2=0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
K3=0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6
K4=0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a

cleanup() {
    if [ -n "$ANVIL_PID" ]; then
        kill "$ANVIL_PID" 2>/dev/null
        wait "$ANVIL_PID" 2>/dev/null
    fi
    rm -rf "$TMPD"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok()   { PASS=$((PASS + 1)); echo "ok   $TNAME: $*"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL $TNAME: $*"; }
die()  { echo "FAIL $TNAME: fatal: $*"; FAILS=$((FAILS + 1)); finish; }

# check DESC CMD...: ok if CMD succeeds
check() { local d="$1"; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }

# eq DESC GOT WANT (case-insensitive)
eq() {
    local g w
    g="$(printf '%s' "$2" | tr 'A-F' 'a-f')"; w="$(printf '%s' "$3" | tr 'A-F' 'a-f')"
    if [ "$g" = "$w" ]; then ok "$1"; else fail "$1: got '$2', want '$3'"; fi
}

finish() {
    echo "$TNAME: $PASS ok, $FAILS failed"
    [ "$FAILS" -eq 0 ] && exit 0
    exit 1
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_anvil [extra anvil args]: sets RPC and ANVIL_PID
start_anvil() {
    [ -x "$ANVIL" ] || die "anvil not found at $ANVIL (run 'make deps')"
    local port i
    for _ in 1 2 3 4 5 6 7 8; do
        port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        port_busy "$port" && continue
        "$ANVIL" --host 127.0.0.1 --port "$port" --silent "$@" >"$TMPD/anvil.log" 2>&1 &
        ANVIL_PID=$!
        for i in $(seq 1 100); do
            if ! kill -0 "$ANVIL_PID" 2>/dev/null; then break; fi
            if "$CAST" chain-id --rpc-url "http://127.0.0.1:$port" >/dev/null 2>&1; then
                RPC="http://127.0.0.1:$port"
                return 0
            fi
            sleep 0.05
        done
        kill "$ANVIL_PID" 2>/dev/null; wait "$ANVIL_PID" 2>/dev/null; ANVIL_PID=""
    done
    die "could not start anvil: $(cat "$TMPD/anvil.log" 2>/dev/null)"
}

# deploy [N BUFFER SIGNMAXAGE MINDEADLINE MAXDEADLINE]: sources the deployment
# file (code_contract, executors_contract, jobs_contract, ...)
deploy() {
    "$ROOT/scripts/deploy-contracts.sh" "$RPC" "$K0" "$TMPD/deploy.env" "$@" >"$TMPD/deploy.log" 2>&1 \
        || die "deploy failed: $(cat "$TMPD/deploy.log")"
    # shellcheck disable=SC1091
    . "$TMPD/deploy.env"
}

addr_of() { "$CAST" wallet address --private-key "$1" | tr 'A-F' 'a-f'; }
pubkey_of() { "$CAST" wallet public-key --private-key "$1"; }

# new_key: a fresh random secp256k1 secret (0x + 64 hex)
new_key() {
    local k
    while :; do
        k="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
        # reject 0 and values >= n (astronomically unlikely)
        case "$k" in 0000000000000000000000000000000000000000000000000000000000000000|ffffffffffffffffffffffffffffffff*) continue ;; esac
        echo "0x$k"; return
    done
}

now() { "$CAST" block latest -f timestamp --rpc-url "$RPC"; }

# sign_register ENCLAVE_KEY OWNER JOBCAP ENV TS -> 0x r||s||v (cast EIP-712)
sign_register() {
    local f="$TMPD/reg.$$.$RANDOM.json"
    cat >"$f" <<EOF
{"types":{"EIP712Domain":[{"name":"name","type":"string"},{"name":"version","type":"string"}],
 "Register":[{"name":"owner","type":"address"},{"name":"jobCapacity","type":"uint256"},{"name":"env","type":"uint8"},{"name":"signTimestamp","type":"uint256"}]},
 "primaryType":"Register","domain":{"name":"marlin.oyster.Executors","version":"1"},
 "message":{"owner":"$2","jobCapacity":$3,"env":$4,"signTimestamp":$5}}
EOF
    "$CAST" wallet sign --private-key "$1" --data --from-file "$f"
}

# sign_output ENCLAVE_KEY JOBID OUTPUT_HEX TOTALTIME ERRCODE TS -> signature
sign_output() {
    local f="$TMPD/out.$$.$RANDOM.json"
    cat >"$f" <<EOF
{"types":{"EIP712Domain":[{"name":"name","type":"string"},{"name":"version","type":"string"}],
 "SubmitOutput":[{"name":"jobId","type":"uint256"},{"name":"output","type":"bytes"},{"name":"totalTime","type":"uint256"},{"name":"errorCode","type":"uint8"},{"name":"signTimestamp","type":"uint256"}]},
 "primaryType":"SubmitOutput","domain":{"name":"marlin.oyster.Jobs","version":"1"},
 "message":{"jobId":$2,"output":"$3","totalTime":$4,"errorCode":$5,"signTimestamp":$6}}
EOF
    "$CAST" wallet sign --private-key "$1" --data --from-file "$f"
}

# tx KEY TO SIG ARGS... : send, receipt JSON in $TMPD/last.json, error text in
# $TMPD/last.err; returns 0 only when mined with status 1.
tx() {
    local key="$1"; shift
    if "$CAST" send --json --rpc-url "$RPC" --private-key "$key" "$@" >"$TMPD/last.json" 2>"$TMPD/last.err"; then
        [ "$(jq -r .status "$TMPD/last.json")" = "0x1" ]
    else
        return 1
    fi
}

# expect_revert ERRORNAME KEY TO SIG ARGS...: the tx must be rejected with the
# custom error ERRORNAME() (matched by its 4-byte selector in cast's output).
expect_revert() {
    local name="$1"; shift
    local sel
    sel="$("$CAST" sig "$name()")"
    if tx "$@"; then
        echo "  (tx unexpectedly succeeded)"; return 1
    fi
    if grep -qi "$sel" "$TMPD/last.err"; then return 0; fi
    echo "  (expected $name $sel, got: $(head -c 400 "$TMPD/last.err"))"
    return 1
}

# reverts DESC ERRORNAME KEY TO SIG ARGS...
reverts() { local d="$1"; shift; check "$d -> $1" expect_revert "$@"; }

# logs of the last receipt: log_field INDEX FIELD (jq path, e.g. .topics[1])
log_field() { jq -r ".logs[$1]$2" "$TMPD/last.json"; }
log_count() { jq -r '.logs | length' "$TMPD/last.json"; }
topic0() { "$CAST" keccak "$1"; }
# topic_addr TOPIC -> 0x + 40 hex lowercase
topic_addr() { printf '0x%s\n' "${1: -40}" | tr 'A-F' 'a-f'; }
topic_uint() { "$CAST" to-dec "$1"; }

# set_next_ts TS: the next block gets exactly timestamp TS
set_next_ts() { "$CAST" rpc --rpc-url "$RPC" evm_setNextBlockTimestamp "$1" >/dev/null; }
advance() { "$CAST" rpc --rpc-url "$RPC" evm_increaseTime "$1" >/dev/null && "$CAST" rpc --rpc-url "$RPC" evm_mine >/dev/null; }

# register ENCLAVE_KEY OWNER_KEY [JOBCAP ENV]: registers with a fresh, valid signature
register() {
    local ek="$1" okey="$2" cap="${3:-20}" env="${4:-1}" ts sig
    ts="$(now)"
    sig="$(sign_register "$ek" "$(addr_of "$okey")" "$cap" "$env" "$ts")"
    tx "$okey" "$executors_contract" 'registerExecutor(bytes,uint256,uint256,bytes,uint256,uint8)' \
        "$(pubkey_of "$ek")" "$cap" "$ts" "$sig" 0 "$env"
}

# (re)build when missing or older than a source (flock: tests may run in parallel)
_need_build=0
[ -s "$CONTRACTS_DIR/Jobs.bin" ] || _need_build=1
for _s in "$ROOT"/contracts/*.sol; do [ "$_s" -nt "$CONTRACTS_DIR/Jobs.bin" ] && _need_build=1; done
if [ "$_need_build" = 1 ]; then
    mkdir -p "$CONTRACTS_DIR"
    flock "$CONTRACTS_DIR/.lock" "$ROOT/scripts/build-contracts.sh" "$CONTRACTS_DIR" >/dev/null \
        || { echo "FAIL $TNAME: cannot build contracts"; exit 1; }
fi
command -v jq >/dev/null || { echo "FAIL $TNAME: jq not installed"; exit 1; }
