#!/usr/bin/env bash
# Deploy the project's test/dev contracts (CodeContract, Executors, Jobs) with cast.
#
#   scripts/deploy-contracts.sh RPC_URL PRIVATE_KEY OUTFILE [N BUFFER SIGNMAXAGE MINDEADLINE MAXDEADLINE]
#
#   N            executors selected per job            (default 1)
#   BUFFER       Jobs execution buffer time, seconds   (default 60)
#   SIGNMAXAGE   max signature age, seconds (Executors and Jobs)  (default 600)
#   MINDEADLINE  min job deadline, ms                  (default 1000)
#   MAXDEADLINE  max job deadline, ms                  (default 300000)
#
# OUTFILE gets key=value lines (shell-sourceable):
#   code_contract, executors_contract, jobs_contract, chain_id, deploy_block,
#   deployer, no_of_nodes_to_select, execution_buffer_time, sign_max_age,
#   min_deadline, max_deadline
# Contracts are compiled first when build output is missing (BUILD, default build/;
# CONTRACTS_DIR overrides where the .bin files are read from).
# CAST overrides the cast binary (default node_modules/.bin/cast).
set -euo pipefail

die() { echo "deploy-contracts: $*" >&2; exit 1; }

[ $# -ge 3 ] && [ $# -le 8 ] || die "usage: $0 RPC_URL PRIVATE_KEY OUTFILE [N BUFFER SIGNMAXAGE MINDEADLINE MAXDEADLINE]"
RPC="$1"; KEY="$2"; OUTFILE="$3"
N="${4:-1}"; BUFFER="${5:-60}"; SIGNMAXAGE="${6:-600}"; MINDL="${7:-1000}"; MAXDL="${8:-300000}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CAST="${CAST:-$ROOT/node_modules/.bin/cast}"
[ -x "$CAST" ] || die "cast not found at $CAST; run 'make deps'"
BUILDDIR="${BUILD:-build}"
case "$BUILDDIR" in /*) ;; *) BUILDDIR="$ROOT/$BUILDDIR" ;; esac
CDIR="${CONTRACTS_DIR:-$BUILDDIR/contracts}"

for v in N BUFFER SIGNMAXAGE MINDL MAXDL; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
[ "$N" -ge 1 ] && [ "$N" -le 255 ] || die "N must be 1..255"
[ "$MINDL" -ge 1 ] && [ "$MINDL" -le "$MAXDL" ] || die "need 1 <= MINDEADLINE <= MAXDEADLINE"
[[ "$KEY" =~ ^(0x)?[0-9a-fA-F]{64}$ ]] || die "PRIVATE_KEY must be 32 bytes of hex"

if [ ! -s "$CDIR/Jobs.bin" ] || [ ! -s "$CDIR/Executors.bin" ] || [ ! -s "$CDIR/CodeContract.bin" ]; then
    [ -z "${CONTRACTS_DIR:-}" ] || die "no compiled contracts in $CDIR"
    "$ROOT/scripts/build-contracts.sh" "$CDIR" >&2 || die "compiling contracts failed"
fi

chain_id="$("$CAST" chain-id --rpc-url "$RPC" 2>&1)" || die "cannot reach RPC $RPC: $chain_id"
deployer="$("$CAST" wallet address --private-key "$KEY" 2>&1)" || die "bad private key: $deployer"

# deploy NAME [CTOR_SIG ARGS...]: prints "address block"
deploy() {
    local name="$1"; shift
    local bin out tx status addr block
    bin="0x$(tr -d ' \n' <"$CDIR/$name.bin")"
    out="$("$CAST" send --async --rpc-url "$RPC" --private-key "$KEY" --create "$bin" "$@" 2>&1)" \
        || die "deploying $name failed: $out"
    tx="$(printf '%s\n' "$out" | grep -Eo '0x[0-9a-fA-F]{64}' | tail -1)"
    [ -n "$tx" ] || die "deploying $name: no transaction hash in: $out"
    status="$("$CAST" receipt --rpc-url "$RPC" "$tx" status 2>&1)" || die "no receipt for $name ($tx): $status"
    case "$status" in 1|0x1|true|*success*) ;; *) die "deploying $name reverted ($tx): status $status" ;; esac
    addr="$("$CAST" receipt --rpc-url "$RPC" "$tx" contractAddress)"
    block="$("$CAST" receipt --rpc-url "$RPC" "$tx" blockNumber)"
    [[ "$addr" =~ ^0x[0-9a-fA-F]{40}$ ]] || die "deploying $name: bad contract address '$addr'"
    [ -n "$("$CAST" code --rpc-url "$RPC" "$addr" | sed 's/^0x//')" ] || die "deploying $name: no code at $addr"
    echo "$addr $block"
}

r="$(deploy CodeContract)"
code_addr="${r% *}"; deploy_block="${r#* }"
r="$(deploy Executors "constructor(uint256)" "$SIGNMAXAGE")"
exec_addr="${r% *}"
r="$(deploy Jobs "constructor(address,uint256,uint256,uint256,uint256,uint256)" \
    "$exec_addr" "$N" "$BUFFER" "$SIGNMAXAGE" "$MINDL" "$MAXDL")"
jobs_addr="${r% *}"
[ -n "${code_addr:-}" ] && [ -n "${exec_addr:-}" ] && [ -n "${jobs_addr:-}" ] || die "deployment incomplete"

lc() { printf '%s' "$1" | tr 'A-F' 'a-f'; }
mkdir -p "$(dirname "$OUTFILE")"
tmp="$OUTFILE.tmp.$$"
cat >"$tmp" <<EOT
code_contract=$(lc "$code_addr")
executors_contract=$(lc "$exec_addr")
jobs_contract=$(lc "$jobs_addr")
chain_id=$chain_id
deploy_block=$deploy_block
deployer=$(lc "$deployer")
no_of_nodes_to_select=$N
execution_buffer_time=$BUFFER
sign_max_age=$SIGNMAXAGE
min_deadline=$MINDL
max_deadline=$MAXDL
EOT
mv -f "$tmp" "$OUTFILE"
echo "deploy-contracts: CodeContract $code_addr, Executors $exec_addr, Jobs $jobs_addr (chain $chain_id, block $deploy_block) -> $OUTFILE" >&2
