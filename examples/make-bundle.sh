#!/usr/bin/env bash
# Print a code bundle (the JSON form POST /api/code takes) built from files:
#   examples/make-bundle.sh MAIN.js [more.js|x.wasm|x.txt|x.bin|x.json ...]
# The first file is the entry module.  Module type follows the extension.
set -euo pipefail
main=$(basename "$1")
first=1
printf '{"main":%s,"modules":[' "$(jq -Rn --arg s "$main" '$s')"
for f in "$@"; do
  name=$(basename "$f")
  case $f in
    *.js|*.mjs) type=esModule ;;
    *.wasm) type=wasm ;;
    *.json) type=json ;;
    *.txt) type=text ;;
    *) type=data ;;
  esac
  [ "$first" = 1 ] || printf ','
  first=0
  if [ "$type" = wasm ] || [ "$type" = data ]; then
    printf '{"name":"%s","type":"%s","content_base64":"%s"}' "$name" "$type" "$(base64 -w0 "$f")"
  else
    printf '{"name":"%s","type":"%s","content":%s}' "$name" "$type" "$(jq -Rs . "$f")"
  fi
done
printf ']}\n'
