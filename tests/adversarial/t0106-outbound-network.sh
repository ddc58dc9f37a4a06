#!/usr/bin/env bash
# Catalogue row 6: outbound network is refused, fast.  Targets: the node's
# own nginx port, the RPC node (anvil, the node's rpc_url), localhost and
# ::1, the cloud metadata address 169.254.169.254 and a "public" address
# from TEST-NET-3 (203.0.113.10, never routed).  Nothing can leave: from
# JavaScript, fetch()/connect() are refused by workerd before any packet
# (pool mode: no globalOutbound; process mode: a network service that
# allows nothing), in both sandbox modes, within 1 s each, and nginx sees
# no request from the worker; from a native probe in the jail, socket(AF_INET)
# is refused by seccomp (EACCES), and even without seccomp the empty network
# namespace refuses (ECONNREFUSED on its own lo, ENETUNREACH elsewhere).
. "$(dirname "$0")/lib.sh"
anvil_port=$(_stack_pick_port)
adv_bg "$IT_DIR/anvil.log" "$ANVIL" --host 127.0.0.1 --port "$anvil_port"
_stack_wait "anvil" 200 "$CAST" chain-id --rpc-url "http://127.0.0.1:$anvil_port"
rpc_hits() { grep -c "eth_\\|net_\\|web3_" "$IT_DIR/anvil.log" || true; }
has_hits() { [ "$(rpc_hits)" -gt 0 ]; }
_stack_wait "anvil log" 100 has_hits || true
check "control: anvil logs the calls it gets ($(rpc_hits))" test "$(rpc_hits)" -gt 0
META=169.254.169.254 PUB=203.0.113.10

netjs() { # the worker: every target, timed
  local port=$1
  js net 'import { connect } from "cloudflare:sockets";
export default { async fetch() {
  const targets = {
    nginx: () => fetch("http://127.0.0.1:'"$port"'/healthz"),
    nginx_localhost: () => fetch("http://localhost:'"$port"'/healthz"),
    nginx_v6: () => fetch("http://[::1]:'"$port"'/healthz"),
    rpc: () => fetch("http://127.0.0.1:'"$anvil_port"'/", { method: "POST", headers: { "content-type": "application/json" },
                     body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }) }),
    metadata: () => fetch("http://'"$META"'/latest/meta-data/"),
    public_http: () => fetch("http://'"$PUB"'/"),
    public_https: () => fetch("https://'"$PUB"'/"),
    websocket: () => fetch("http://127.0.0.1:'"$port"'/", { headers: { upgrade: "websocket" } }),
    tcp_rpc: async () => { const s = connect("127.0.0.1:'"$anvil_port"'"); await s.opened; return s; },
    tcp_nginx: async () => { const s = connect({ hostname: "127.0.0.1", port: '"$port"' }); await s.opened; return s; },
    tcp_metadata: async () => { const s = connect("'"$META"':80"); await s.opened; return s; },
    tcp_public: async () => { const s = connect("'"$PUB"':443"); await s.opened; return s; },
  };
  const out = {};
  for (const [k, f] of Object.entries(targets)) {
    const t = Date.now();
    try { await f(); out[k] = { r: "REACHED", ms: Date.now() - t }; }
    catch (e) { out[k] = { r: "denied", ms: Date.now() - t, e: String(e).slice(0, 120) }; }
  }
  return Response.json(out); } }'
}

for mode in pool process; do
  if [ "$mode" = process ]; then
    stack_stop "$IT_DIR/node"
    adv_start sandbox_mode=process "rpc_url=http://127.0.0.1:$anvil_port" slots=2
  else
    adv_start sandbox_mode=pool "rpc_url=http://127.0.0.1:$anvil_port" slots=2
  fi
  port=$(cat "$IT_DIR/node/port")
  id=$(upload "$(netjs "$port")")
  hz0=$(grep -c '"uri":"/healthz"' "$IT_DIR/node/nginx/access.log" || true)
  rpc0=$(rpc_hits)
  t0=$(now_ms); run "$id" null; t=$(( $(now_ms) - t0 ))
  eq "$mode: the worker ran" "$STATUS" 200
  n=0 slow=0
  for k in $(jq -r 'keys[]' <<<"$BODY"); do
    n=$((n + 1)); adv_attempt
    r=$(jq -r ".$k.r" <<<"$BODY"); ms=$(jq -r ".$k.ms" <<<"$BODY")
    eq "$mode: $k refused ($(jq -r ".$k.e" <<<"$BODY" | cut -c1-70))" "$r" denied
    check "$mode: $k refused fast (${ms} ms)" test "$ms" -lt 1000
    [ "$ms" -gt "$slow" ] && slow=$ms
  done
  eq "$mode: nginx saw no request from the worker" "$(grep -c '"uri":"/healthz"' "$IT_DIR/node/nginx/access.log" || true)" "$hz0"
  eq "$mode: the RPC node saw nothing from the worker" "$(rpc_hits)" "$rpc0"
  adv_note "JS ($mode mode): $n targets (nginx, anvil RPC, ::1, $META, $PUB; fetch, TCP connect, websocket) refused, slowest ${slow} ms"
done

# Native probe in the jail.
targets=("127.0.0.1:$port" "127.0.0.1:$anvil_port" "$META:80" "$PUB:443")
t0=$(now_ms)
adv_jail -- connect "${targets[@]}"
for tg in "${targets[@]}"; do
  check "probe: $tg refused by seccomp (EACCES)" grep -q "^connect $tg refused socket errno 13" <<<"$JAIL_OUT"
done
adv_attempt $(( ${#targets[@]} - 1 ))
adv_jail --no-seccomp -- connect "${targets[@]}"
t=$(( $(now_ms) - t0 ))
check "no seccomp: nginx's port is not there (ECONNREFUSED in the jail's own netns)" grep -q "^connect 127.0.0.1:$port refused errno 111" <<<"$JAIL_OUT"
check "no seccomp: anvil's port is not there" grep -q "^connect 127.0.0.1:$anvil_port refused errno 111" <<<"$JAIL_OUT"
check "no seccomp: metadata unreachable (ENETUNREACH)" grep -q "^connect $META:80 refused errno 101" <<<"$JAIL_OUT"
check "no seccomp: public address unreachable (ENETUNREACH)" grep -q "^connect $PUB:443 refused errno 101" <<<"$JAIL_OUT"
check "probe attempts all answered at once (${t} ms)" test "$t" -lt 3000
adv_attempt $(( ${#targets[@]} - 1 ))
adv_note "jail probe: 4 targets refused by seccomp (EACCES); without seccomp the empty netns refuses (111/101)"
adv_next 2
