#!/usr/bin/env bash
# Pool mode: every request gets a new isolate (nothing survives between
# requests), opted-in code keeps one per slot, user code cannot reach the
# network, the loader or our control headers, and the in-memory code cache
# serves a hot code id without the database.
. "$(dirname "$0")/lib.sh"
it_start sandbox_mode=pool slots=1 isolate_reuse=opt-in

counter='let n = 0; export default { fetch() { n++; globalThis.g = (globalThis.g || 0) + 1; return new Response(n + " " + globalThis.g); } }'
fresh=$(upload "$(js counter "$counter")")
for i in 1 2 3 4; do
  run "$fresh" null
  eq "fresh isolate, request $i: module and global state start over" "$BODY" "1 1"
done
# After two in a row the slot makes the next one's isolate while idle
# (pool_prepare); the access log says which kind each request ran in.
isolates=$(grep '"route":"serverless"' "$IT_DIR/node/fcgi.log" | jq -r .isolate | tr '\n' ' ')
eq "new, new, then prepared isolates" "$isolates" "new new prepared prepared "

# The same code uploaded with ?isolate=reuse: another id, and a kept isolate.
out=$(curl -sS -H 'Content-Type: application/javascript' --data-binary @"$IT_DIR/counter.js" "$URL/api/code?isolate=reuse")
reuse=$(jq -r .code_id <<<"$out")
eq "reuse upload says so" "$(jq -r .isolate <<<"$out")" reuse
check "reuse id differs from the content id" test "$reuse" != "$fresh"
check "reuse id is a code id" grep -Eq '^0x[0-9a-f]{64}$' <<<"$reuse"
eq "GET of the reuse id gives the code" "$(curl -s "$URL/api/code/$reuse")" "$counter"
for i in 1 2 3; do
  run "$reuse" null
  eq "reused isolate, request $i: state survives" "$BODY" "$i $i"
done
# After three runs through the loader the code is baked into the slot's
# workerd (sandbox/sb_bake.h): a new workerd serves it as a worker of its own.
# The change happens after the third answer went out (sb_slot_finish), so
# the test waits for it rather than racing it.
workerd_args() { for p in $(stack_workerd_pids "$IT_DIR/node"); do tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null; echo; done; }
bakes() { workerd_args | grep -q -- "--socket-fd $1"; }
check "the slot's new workerd bakes the code" _stack_wait "the baked workerd" 400 bakes b0=5
for i in 1 2 3; do
  run "$reuse" null
  eq "baked isolate, request $i: state survives (from the new workerd's start)" "$BODY" "$i $i"
done
run "$fresh" null
eq "the content id still gets a new isolate" "$BODY" "1 1"
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/javascript' \
  --data-binary @"$IT_DIR/counter.js" "$URL/api/code?isolate=shared")
eq "unknown isolate value: 400" "$STATUS" 400

# What user code can see and reach.
probe=$(upload "$(js probe 'export default { async fetch(req, env, ctx) {
  const out = { env: Object.keys(env), loader: typeof LOADER, globals: ["LOADER", "COMPAT_DATE"].filter((k) => k in globalThis) };
  try { await fetch("http://127.0.0.1:1/"); out.fetch = "allowed"; } catch (e) { out.fetch = "denied"; }
  try { const { connect } = await import("cloudflare:sockets"); const s = connect("127.0.0.1:1"); await s.opened; out.connect = "allowed"; } catch (e) { out.connect = "denied"; }
  out.headers = [...req.headers.keys()].filter((k) => k.startsWith("x-oyster"));
  return Response.json(out); } }')")
run "$probe" null
eq "no bindings in env" "$(jq -c .env <<<"$BODY")" "[]"
eq "no loader in scope" "$(jq -r .loader <<<"$BODY") $(jq -c .globals <<<"$BODY")" "undefined []"
eq "fetch() is denied" "$(jq -r .fetch <<<"$BODY")" denied
eq "connect() is denied" "$(jq -r .connect <<<"$BODY")" denied
eq "no control headers reach the worker" "$(jq -c .headers <<<"$BODY")" "[]"

# The same probe baked into the workerd: the same sandbox.
baked=$(curl -sS -H 'Content-Type: application/javascript' --data-binary @"$IT_DIR/probe.js" "$URL/api/code?isolate=reuse" | jq -r .code_id)
for i in 1 2 3 4; do run "$baked" null; done
check "the probe is baked now" _stack_wait "the probe baked" 400 bakes b1=6
eq "baked: no bindings, no loader" "$(jq -c '[.env, .loader, .globals]' <<<"$BODY")" '[[],"undefined",[]]'
eq "baked: fetch() and connect() are denied" "$(jq -r '.fetch + " " + .connect' <<<"$BODY")" "denied denied"
eq "baked: no control headers reach the worker" "$(jq -c .headers <<<"$BODY")" "[]"
forge=$(upload "$(js forge 'export default { fetch() { return new Response("mine", { status: 500, headers: { "x-oyster-pool-outcome": "exception" } }); } }')")
run "$forge" null
eq "a forged outcome header is the worker's own 500" "$STATUS $BODY" "500 mine"
check "and does not come back to the client" test -z "$(header x-oyster-pool-outcome)"

# The handler's code cache: with the code gone from the database, the slot
# handler still runs it from memory; the control handler (no such entry) cannot.
sqlite3 "$IT_DIR/node/executor.db" "DELETE FROM code"
run "$fresh" null
eq "hot code id served from the handler's memory" "$STATUS $BODY" "200 1 1"
STATUS=$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/code/$fresh")
eq "the database no longer has it" "$STATUS" 404
