#!/usr/bin/env bash
# The code store is bounded (code_store_bytes): past it, the least recently
# used code is evicted, never the one just stored; an evicted upload answers
# CODE_NOT_FOUND until it is uploaded again.
. "$(dirname "$0")/lib.sh"
# 16 KiB codes, a 64 KiB store: four fit, a fifth evicts one.
it_start max_code_bytes=16K code_store_bytes=64K

ids=()
for i in 1 2 3 4 5; do
  f=$(js "big$i" "// $(head -c 15000 /dev/zero | tr '\0' "$i")
export default { fetch() { return new Response('code $i'); } }")
  ids+=("$(upload "$f")")
  check "upload $i stored (${ids[-1]})" grep -Eq '^0x[0-9a-f]{64}$' <<<"${ids[-1]}"
done

present=0 gone=""
for i in 1 2 3 4 5; do
  s=$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/code/${ids[$((i - 1))]}")
  if [ "$s" = 200 ]; then present=$((present + 1)); else gone="$gone $i:$s"; fi
done
eq "four of the five codes are kept" "$present" 4
check "the one evicted answers 404 ($gone)" grep -Eq '^ [1-4]:404$' <<<"$gone"
run "${ids[4]}" null
eq "the code stored last runs" "$BODY" "code 5"
g=${gone# }; g=${g%%:*}
run "${ids[$((g - 1))]}" null
eq "running the evicted code: 404" "$STATUS" 404
eq "CODE_NOT_FOUND" "$(jq -r .error.code <<<"$BODY")" CODE_NOT_FOUND
eq "uploading it again gives the same id" "$(upload "$IT_DIR/big$g.js")" "${ids[$((g - 1))]}"
run "${ids[$((g - 1))]}" null
eq "and it runs again" "$BODY" "code $g"

m=$(curl -s "$URL/metrics")
b=$(sed -n 's/^oyster_code_store_bytes //p' <<<"$m")
check "metrics: the store's size ($b) is within 64 KiB and holds four codes" test "${b:-0}" -gt 28000 -a "${b:-0}" -le 65536
check "the eviction is logged" grep -q "evicted the least recently used code" "$IT_DIR"/node/*.log
