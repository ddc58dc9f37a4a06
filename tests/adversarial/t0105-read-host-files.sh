#!/usr/bin/env bash
# Catalogue row 5: host files are not reachable.  From JavaScript there is
# no filesystem API at all (no process, require, Deno, node:fs); importing
# file: URLs or absolute/relative paths and fetch("file://...") fail with
# errors that leak no content.  From a native probe in the workerd jail
# (oyster-jail-run with the slot directory at /work, the slot's uid): the
# host's /etc/shadow, the node's enclave key, gas key, database and config,
# /proc/1/root, the daemon's /proc/<pid>/environ and root, and the other
# slot's directory are all absent; the slot's own /work file is readable
# (the control that shows the probe can read what it may).
. "$(dirname "$0")/lib.sh"
adv_start slots=2
node=$IT_DIR/node

shadow_line=$(head -c 12 /etc/shadow 2>/dev/null || echo root:)
fsjs=$(upload "$(js fs 'export default { async fetch() {
  const out = {};
  const tries = {
    import_file_url: () => import("file:///etc/shadow"),
    import_abs: () => import("/etc/passwd"),
    import_rel: () => import("../../../../etc/passwd"),
    import_key: () => import("file://'"$node"'/id.sec"),
    import_node_fs: () => import("node:fs"),
    import_fs: () => import("fs"),
    fetch_file: () => fetch("file:///etc/shadow"),
    fetch_key: () => fetch("file://'"$node"'/id.sec"),
    new_url_file: () => fetch(new URL("file:///proc/1/environ")),
  };
  for (const [k, f] of Object.entries(tries)) {
    try { const r = await f(); out[k] = "REACHED " + String(await (r.text ? r.text() : JSON.stringify(r))).slice(0, 200); }
    catch (e) { out[k] = "denied: " + String(e).slice(0, 200); }
  }
  out.globals = ["process", "require", "Deno", "Bun", "__dirname", "fs"].filter((g) => typeof globalThis[g] !== "undefined");
  return Response.json(out); } }')")
run "$fsjs" null
adv_attempt 10
eq "JS probe ran" "$STATUS" 200
for k in import_file_url import_abs import_rel import_key import_node_fs import_fs fetch_file fetch_key new_url_file; do
  check "JS $k: $(jq -r ".$k" <<<"$BODY" | cut -c1-90)" grep -q '^denied: ' <<<"$(jq -r ".$k" <<<"$BODY")"
done
eq "JS: no filesystem globals" "$(jq -c .globals <<<"$BODY")" "[]"
check "JS: no host file content in the answers" bash -c '! grep -qF -- "$1" <<<"$2"' _ "$shadow_line" "$BODY"
adv_note "JS: 9 file imports/fetches denied, no fs globals"

master=$(cat "$node/fcgi.pid")
paths=(
  /etc/shadow /etc/passwd /etc/hostname /root/.ssh/authorized_keys
  "$node/id.sec" "$node/gas.key" "$node/executor.db" "$node/executor.conf"
  /etc/oyster-executor/id.sec /var/lib/oyster-executor/executor.db
  /proc/1/root/etc/shadow "/proc/$master/environ" "/proc/$master/root/etc/shadow" "/proc/$master/cmdline"
  "/proc/$master/mem" /proc/kcore /dev/mem /dev/sda /sys/fs/cgroup/memory/memory.limit_in_bytes
  "$node/run/slots/1/config.capnp" "$node/run/slots/1/loader.js" /work/../1/config.capnp /work/../../executor.db
  /work/../../../id.sec
)
adv_jail -- read /work/config.capnp "${paths[@]}"
eq "probe in the jail ran" "$JAIL_RC" 0
check "control: the slot's own /work is readable" grep -q '^read /work/config.capnp OPENED' <<<"$JAIL_OUT"
opened=0
for p in "${paths[@]}"; do
  line=$(grep -F "read $p " <<<"$JAIL_OUT" || echo "read $p: no answer")
  check "probe: $line" grep -q ' denied errno ' <<<"$line"
  grep -q OPENED <<<"$line" && opened=$((opened + 1))
done
adv_attempt $(( ${#paths[@]} - 1 ))
adv_note "jail probe: ${#paths[@]} host paths tried (shadow, enclave/gas key, db, /proc/1/root, daemon environ, other slot), $opened reachable"
# The same from slot 1's view: slot 0's files are not there.
JAIL_OUT=$(env -i timeout 60 "$JAIL_RUN" --user 61234:61234 --work "$node/run/slots/1" -- "$PROBE" read \
  "$node/run/slots/0/config.capnp" /work/../0/config.capnp 2>/dev/null) || true
adv_attempt 2
eq "slot 1's jail does not see slot 0's directory" "$(grep -c ' denied errno ' <<<"$JAIL_OUT")" 2
adv_next 2
