#!/usr/bin/env bash
# Catalogue row 8: keys cannot be exfiltrated.  Three canaries: a secret in
# the daemon's environment (oyster-fcgi is started with it), the enclave
# key (id.sec, looked for as hex text and as raw bytes) and the gas key
# (set through /mutable-config).  JavaScript looks everywhere it can
# (globalThis walked deep, env, ctx, the request, error stacks, Date,
# navigator, import.meta, process.env) and sends all it found back: no
# canary in the answer.  A native probe in the jail scans its environment,
# every /proc file it can open and every readable file: no canary.  From
# the host: the slot workerds have an empty environment, no canary in their
# command line, no descriptor open on a key or the database, core dumps
# off (RLIMIT_CORE 0); a workerd killed with SIGABRT leaves
# no core file; no canary in the logs or the database.
. "$(dirname "$0")/lib.sh"
anvil_port=$(_stack_pick_port)
adv_bg "$IT_DIR/anvil.log" "$ANVIL" --host 127.0.0.1 --port "$anvil_port" --silent
_stack_wait "anvil" 200 "$CAST" chain-id --rpc-url "http://127.0.0.1:$anvil_port"

CANARY=oyster-canary-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
export OYSTER_ADV_CANARY=$CANARY
adv_start slots=2 "rpc_url=http://127.0.0.1:$anvil_port"
unset OYSTER_ADV_CANARY
node=$IT_DIR/node
check "control: the canary is in oyster-fcgi's environment" \
  grep -qF "$CANARY" "/proc/$(cat "$node/fcgi.pid")/environ"
ENCLAVE_HEX=$(od -An -v -tx1 "$node/id.sec" | tr -d ' \n')
GAS_KEY=$("$CAST" wallet new --json | jq -r '.[0].private_key')
GAS_HEX=${GAS_KEY#0x}
curl -sf -X POST "$URL/mutable-config" -d "{\"gas_key_hex\":\"$GAS_KEY\"}" >/dev/null
check "control: the gas key was taken" test -s "$node/gas.key"
upper() { tr 'a-f' 'A-F' <<<"$1"; }
found_in() { # found_in FILE -> names of the canaries in it
  local f=$1 hit=""
  grep -qF "$CANARY" "$f" && hit+="env "
  grep -qiF "$ENCLAVE_HEX" "$f" && hit+="enclave-key "
  grep -qiF "$GAS_HEX" "$f" && hit+="gas-key "
  echo "$hit"
}

spy=$(upload "$(js spy 'export default { async fetch(request, env, ctx) {
  const seen = new Set(); const strings = []; let size = 0;
  const add = (where, v) => { const s = String(v); if (size < 4e6) { strings.push(where + "=" + s); size += s.length; } };
  const walk = (where, o, depth) => {
    if (o === null || o === undefined || depth > 4 || seen.has(o)) return;
    if (typeof o !== "object" && typeof o !== "function") { add(where, o); return; }
    seen.add(o);
    let keys = [];
    try { keys = Reflect.ownKeys(o); } catch (e) { add(where + "!keys", e); }
    for (const k of keys) {
      let v; try { v = o[k]; } catch (e) { add(where + "." + String(k) + "!", e); continue; }
      if (typeof v === "function") { add(where + "." + String(k), "fn"); walk(where + "." + String(k), v, depth + 1); }
      else walk(where + "." + String(k), v, depth + 1);
    }
  };
  walk("globalThis", globalThis, 0);
  walk("env", env, 0); walk("ctx", ctx, 0);
  add("url", request.url); add("cf", JSON.stringify(request.cf));
  for (const [k, v] of request.headers) add("header." + k, v);
  add("body", await request.text());
  add("stack", new Error("x").stack);
  try { null.x; } catch (e) { add("typeerror", e.stack); }
  try { eval("1"); } catch (e) { add("eval", e); }
  try { new Function("return 1")(); } catch (e) { add("Function", e); }
  add("date", new Date().toString()); add("now", Date.now());
  add("ua", typeof navigator !== "undefined" ? navigator.userAgent : "none");
  add("meta", JSON.stringify(import.meta));
  try { add("process.env", JSON.stringify(process.env)); } catch (e) { add("process", e); }
  try { add("Deno.env", JSON.stringify(Deno.env.toObject())); } catch (e) { add("Deno", e); }
  return new Response(strings.join("\n")); } }')")
run "$spy" '{"look":"everywhere"}'
adv_attempt
eq "the spy ran" "$STATUS" 200
printf '%s\n%s\n' "$HEADERS" "$BODY" >"$IT_DIR/spy.out"
nstr=$(wc -l <"$IT_DIR/spy.out")
check "the spy saw a lot ($nstr strings, navigator among them)" \
  bash -c "[ $nstr -gt 300 ] && grep -q '^globalThis.navigator' '$IT_DIR/spy.out'"
eq "JS: no canary in anything the code can reach" "$(found_in "$IT_DIR/spy.out")" ""
adv_note "JS walked $nstr strings (globalThis, env, ctx, request, stacks, Date, import.meta): 0 canaries"

# The probe in the jail: its environment, /proc and every readable file.
# (the canaries go in on stdin, so they are not in the probe's own cmdline)
ADV_JAIL_STDIN=$(printf '%s\n' "$CANARY" "$ENCLAVE_HEX" "$GAS_HEX" "$(upper "$ENCLAVE_HEX")" "hex:$ENCLAVE_HEX" "hex:$GAS_HEX") \
  adv_jail -- env -
check "probe: the scan ran ($(grep '^scan done' <<<"$JAIL_OUT"))" grep -Eq '^scan done, [0-9]{2,} files read' <<<"$JAIL_OUT"
eq "probe: no canary found" "$(grep -c FOUND <<<"$JAIL_OUT")" 0
adv_note "jail probe scanned env, /proc and $(grep -o '[0-9]* files' <<<"$JAIL_OUT"): 0 canaries"

# The real workerds (and, in process mode, the spares waiting to become
# one), from the host.
nw=0
for wk in $(stack_workerd_pids "$node") $(stack_spare_pids "$node"); do
  nw=$((nw + 1))
  eq "workerd $wk: empty environment" "$(stat -c %s "/proc/$wk/environ" 2>/dev/null; tr -d '\0' <"/proc/$wk/environ" | wc -c)" "0
0"
  eq "workerd $wk: no canary in its command line" "$(tr '\0' '\n' <"/proc/$wk/cmdline" >"$IT_DIR/cmd"; found_in "$IT_DIR/cmd")" ""
  fds=$(for f in /proc/"$wk"/fd/*; do readlink "$f"; done 2>/dev/null | grep -E "id.sec|gas.key|executor.db|\.log" || true)
  eq "workerd $wk: no descriptor on a key, the database or a log" "$fds" ""
  eq "workerd $wk: core size limit 0" "$(awk '/^Max core file size/ {print $5}' "/proc/$wk/limits")" 0
done
adv_note "$nw slot workerds: empty environment, no key fds, no core dumps"

# Their memory, read from the host: they were forked from a handler that
# holds the enclave key, which it keeps in a page children do not inherit
# (MADV_WIPEONFORK).  Control: the scanner finds the key in a handler.
handler=$(for p in $(pgrep -P "$(cat "$node/fcgi.pid")"); do if [ -n "$(pgrep -P "$p")" ]; then echo "$p"; fi; done | awk 'NR == 1')
ctl=$("$ADV_BIN/adv_memscan" "$handler" "$ENCLAVE_HEX")
check "control: the scanner finds the enclave key in a slot handler ($ctl)" \
  bash -c "[ \"\$(awk '{print \$NF}' <<<'$ctl')\" -gt 0 ]"
ns=0 nbytes=0
for wk in $(stack_workerd_pids "$node") $(stack_spare_pids "$node"); do
  for k in "$ENCLAVE_HEX" "$GAS_HEX"; do
    out=$("$ADV_BIN/adv_memscan" "$wk" "$k") || out="unreadable"
    eq "process $wk ($(cat "/proc/$wk/comm" 2>/dev/null)): no key in its memory ($out)" "$(awk '{print $NF}' <<<"$out")" 0
  done
  ns=$((ns + 1)); nbytes=$((nbytes + $(awk '{print $6}' <<<"$out")))
done
check "the memory of at least one slot process was scanned" test "$ns" -gt 0
adv_note "memory of $ns slot processes ($((nbytes / 1048576)) MiB) scanned from the host: no key (control: found in the handler)"
# A crash: with a file core_pattern (this host: "core") a dump would land in the
# crashing process's cwd, the jail's read-only /work, and RLIMIT_CORE is 0 anyway.
victim=$( (stack_workerd_pids "$node"; stack_spare_pids "$node") | awk 'END {print}')
kill -ABRT "$victim"
adv_attempt
_stack_wait "crashed workerd dead" 100 proc_dead "$victim" || true
adv_next 2
eq "no core file anywhere under the node" "$(find "$IT_DIR" -name 'core*' | wc -l)" 0
for f in "$node/fcgi.log" "$node/nginx/access.log" "$node/nginx/error.log"; do
  eq "no canary in $(basename "$f")" "$(found_in "$f")" ""
done
sqlite3 "$node/executor.db" .dump >"$IT_DIR/db.dump"
eq "no canary in the database" "$(found_in "$IT_DIR/db.dump")" ""
