#!/usr/bin/env bash
# Compile contracts/*.sol with the pinned solc-js (optimizer on) and write
# OUTDIR/<Name>.abi and OUTDIR/<Name>.bin (default OUTDIR: ${BUILD:-build}/contracts).
#
#   scripts/build-contracts.sh [OUTDIR]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-${BUILD:-build}/contracts}"
case "$OUT" in /*) ;; *) OUT="$ROOT/$OUT" ;; esac
SOLCJS="$ROOT/node_modules/.bin/solcjs"

if [ ! -x "$SOLCJS" ]; then
    echo "build-contracts: $SOLCJS not found; run 'make deps' (npm ci) first" >&2
    exit 1
fi
command -v node >/dev/null || { echo "build-contracts: node not found in PATH" >&2; exit 1; }

cd "$ROOT"
shopt -s nullglob
SRCS=(contracts/*.sol)
[ ${#SRCS[@]} -gt 0 ] || { echo "build-contracts: no contracts/*.sol" >&2; exit 1; }

mkdir -p "$OUT"
TMP="$(mktemp -d "$OUT/.tmp.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

if ! "$SOLCJS" --bin --abi --optimize --optimize-runs 200 --base-path . -o "$TMP" "${SRCS[@]}" >"$TMP/log" 2>&1; then
    cat "$TMP/log" >&2
    echo "build-contracts: solcjs failed" >&2
    exit 1
fi
# solcjs prints warnings but still succeeds; show them.
[ -s "$TMP/log" ] && cat "$TMP/log" >&2

n=0
for f in "$TMP"/*.abi "$TMP"/*.bin; do
    base="$(basename "$f")"          # contracts_Jobs_sol_Jobs.bin
    name="${base##*_sol_}"           # Jobs.bin
    mv -f "$f" "$OUT/$name"
    n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "build-contracts: solcjs produced no output" >&2; exit 1; }
for c in CodeContract Executors Jobs; do
    [ -s "$OUT/$c.bin" ] || { echo "build-contracts: missing $OUT/$c.bin" >&2; exit 1; }
done
echo "build-contracts: $("$SOLCJS" --version | head -1): wrote $((n / 2)) contracts to $OUT"
