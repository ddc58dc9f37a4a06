#!/usr/bin/env bash
# The .deb, installed on this machine and run the way its systemd units run
# it, then removed and purged: `make test-package` (part of `make test`).
#
#   tests/package/run.sh [DEBDIR]       (default build/deb, from `make deb`)
#
# CI has no systemd as PID 1, so the units cannot be started with systemctl.
# Instead each daemon is started from its installed unit file: ExecStart=,
# User=, Group=, SupplementaryGroups=, UMask=, CapabilityBoundingSet= and
# NoNewPrivileges= are applied with setpriv (and checked in /proc afterwards);
# the mount-namespace directives (ProtectSystem=, ...) cannot be without
# systemd and are listed; any other directive fails the test until this
# script learns it.  Stopping is KillMode=mixed: SIGTERM to the main process,
# SIGKILL to what is left after TimeoutStopSec.
#
# Steps: the machine must not have the package (or its users, directories)
# already; a snapshot of the file system, users and statoverrides is taken;
# the package is installed with apt-get (a dpkg-statoverride registered for
# the config file beforehand must be honoured); the installed files,
# ownerships, users and units are checked; a local anvil chain is configured;
# oyster-fcgi and oyster-chain-watcher start from their units; a private nginx
# (workers as www-data, on a free loopback port, never the system nginx, the
# site never enabled in /etc/nginx) serves the installed site; the
# prime-factor example runs through it and a job is answered on chain; the
# daemons stop; `remove` must keep config, key and database, a reinstall must
# keep the key; `purge` must leave the file system, users and groups exactly
# as before, with no process or cgroup left.  Whatever happens, the package
# is purged at exit and everything this script started is stopped.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../scripts/stack-lib.sh
. "$ROOT/scripts/stack-lib.sh"

NAME=package
DEBDIR=${1:-$ROOT/build/deb}
PKG=oyster-executor
T=$(mktemp -d /tmp/oyster-pkg.XXXXXX)
FAILS=0 CHECKS=0
STARTED=()        # pid files of what we started
STATOVERRIDE=/etc/oyster-executor/executor.conf
we_installed=0 we_statoverride=0

log() { echo "[$NAME] $*"; }
fail() { FAILS=$((FAILS + 1)); echo "[$NAME] FAIL: $*" >&2; }
check() { local what=$1; shift; CHECKS=$((CHECKS + 1)); if "$@" >/dev/null; then log "ok: $what"; else fail "$what"; fi; }
eq() { CHECKS=$((CHECKS + 1)); if [ "$2" == "$3" ]; then log "ok: $1"; else fail "$1: got '$2', want '$3'"; fi; }
die() { fail "$*"; exit 1; }
perms() { stat -c '%U:%G %a' "$1" 2>/dev/null || echo missing; }

[ "$(id -u)" = 0 ] || { echo "[$NAME] must run as root (it installs a package)" >&2; exit 1; }
# One package test at a time on a machine: two would install the same package.
exec 9>/run/lock/oyster-package-test.lock
flock -w 600 9 || { echo "[$NAME] another package test holds the lock" >&2; exit 1; }

deb=$(ls "$DEBDIR"/${PKG}_*_amd64.deb 2>/dev/null | head -1)
[ -f "$deb" ] || { echo "[$NAME] no $PKG .deb in $DEBDIR (make deb)" >&2; exit 1; }
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")

# ---- the whole-machine view: files, users, statoverrides -------------------
snapshot_files() {
  find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /tmp -o -path /var/tmp -o -path /run \
    -o -path /work -o -path /root -o -path /home -o -path /var/cache -o -path /var/log -o -path /var/backups \
    -o -path /var/lib/apt -o -path /var/lib/dpkg \) -prune -o -print | sort
  # dpkg's per-package files, and the two places of ours outside the above
  find /var/lib/dpkg/info -name "$PKG.*" 2>/dev/null
  ls -d /run/oyster-executor /var/log/nginx/oyster-executor* 2>/dev/null || true
}
snapshot_ids() { sha256sum /etc/passwd /etc/group /etc/shadow /etc/gshadow; }
our_cgroups() { ls -d /sys/fs/cgroup/*/oyster/default /sys/fs/cgroup/oyster/default 2>/dev/null || true; }
our_procs() { pgrep -f -a '^/usr/sbin/oyster-|/usr/lib/oyster-executor/workerd' || true; }

# ---- units, started as systemd would ---------------------------------------
unit_get() { # UNIT KEY -> values of KEY= in [Service], one per line
  sed -n '/^\[Service\]/,/^\[/p' "/lib/systemd/system/$1" | sed -n "s/^$2=//p"
}
NAMESPACE_ONLY='ProtectSystem|ReadWritePaths|ProtectHome|PrivateTmp|PrivateDevices|ProtectKernelModules|ProtectKernelLogs|ProtectClock|ProtectHostname|RestrictSUIDSGID|RestrictRealtime|LockPersonality|SystemCallArchitectures|RestrictAddressFamilies|Delegate|LimitNOFILE'
EMULATED='Type|ExecStart|ExecReload|KillMode|TimeoutStopSec|Restart|RestartSec|User|Group|SupplementaryGroups|UMask|CapabilityBoundingSet|NoNewPrivileges|SyslogIdentifier'
unit_start() { # UNIT LOGFILE PIDFILE
  local unit=$1 logf=$2 pidf=$3 k user group supp umask caps nnp cmd bset="-all" gids="" groups=--clear-groups
  local unknown
  unknown=$(sed -n '/^\[Service\]/,/^\[/p' "/lib/systemd/system/$unit" | sed -n 's/^\([A-Za-z]*\)=.*/\1/p' |
            grep -Ev "^($EMULATED|$NAMESPACE_ONLY)\$" || true)
  [ -z "$unknown" ] || die "$unit uses $(echo $unknown), which this test does not emulate: teach it"
  cmd=$(unit_get "$unit" ExecStart)
  user=$(unit_get "$unit" User); group=$(unit_get "$unit" Group); supp=$(unit_get "$unit" SupplementaryGroups)
  umask=$(unit_get "$unit" UMask); caps=$(unit_get "$unit" CapabilityBoundingSet); nnp=$(unit_get "$unit" NoNewPrivileges)
  [ -n "$cmd" ] && [ -n "$user" ] && [ -n "$group" ] || die "$unit: no ExecStart/User/Group"
  for k in $caps; do k=${k#CAP_}; bset+=",+${k,,}"; done
  for k in $supp; do gids+="${gids:+,}$(getent group "$k" | cut -d: -f3)"; done
  [ -z "$gids" ] || groups=--groups=$gids
  log "starting $unit as the unit does: $cmd (User=$user Group=$group SupplementaryGroups=$supp UMask=$umask CapabilityBoundingSet=$caps NoNewPrivileges=$nnp)"
  # shellcheck disable=SC2086
  setpriv --reuid="$user" --regid="$group" "$groups" \
    --inh-caps=-all --bounding-set="$bset" $( [ "$nnp" = yes ] && echo --no-new-privs ) \
    -- bash -c 'umask "$1"; shift; exec "$@"' _ "${umask:-0022}" $cmd >>"$logf" 2>&1 &
  echo $! >"$pidf"
  STARTED+=("$pidf")
}
descendants() { local p c; for p in "$@"; do c=$(pgrep -P "$p" || true); echo "$p"; [ -z "$c" ] || descendants $c; done; }
unit_stop() { # UNIT PIDFILE: KillMode=mixed
  local unit=$1 pidf=$2 pid tmo all left
  [ -f "$pidf" ] || return 0
  pid=$(cat "$pidf"); tmo=$(unit_get "$unit" TimeoutStopSec); tmo=${tmo%s}
  all=$(descendants "$pid" | tr '\n' ' ')
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 $((${tmo:-90} * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  left=$(for p in $all; do kill -0 "$p" 2>/dev/null && echo "$p"; done || true)
  if [ -n "$left" ]; then
    kill -KILL $left 2>/dev/null || true
    rm -f "$pidf"
    return 1
  fi
  rm -f "$pidf"
}

# ---- cleanup, whatever happens ---------------------------------------------
teardown() {
  local rc=$? p
  set +e
  for p in "${STARTED[@]}"; do
    [ -f "$p" ] || continue
    case $p in
      *nginx.pid) kill -QUIT "$(cat "$p")" 2>/dev/null; sleep 0.5; kill -KILL "$(cat "$p")" 2>/dev/null;;
      *) descendants "$(cat "$p")" | xargs -r kill -KILL 2>/dev/null;;
    esac
    rm -f "$p"
  done
  [ -f "$T/chain/anvil.pid" ] && chain_stop "$T/chain"
  if [ "$we_installed" = 1 ] && dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -qv 'not-installed'; then
    log "teardown: purging $PKG"
    DEBIAN_FRONTEND=noninteractive dpkg --purge "$PKG" >/dev/null 2>&1
  fi
  [ "$we_statoverride" = 1 ] && dpkg-statoverride --remove "$STATOVERRIDE" 2>/dev/null
  # A daemon killed above cannot remove its slot cgroups: empty and remove them here.
  for p in $(our_cgroups); do
    find "$p" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null
  done
  sleep 0.2
  for p in $(our_cgroups); do find "$p" -depth -type d -exec rmdir {} \; 2>/dev/null; done
  if [ "$FAILS" != 0 ] || [ "$rc" != 0 ]; then
    for p in "$T"/*.log "$T"/nginx/error.log; do
      [ -s "$p" ] && { echo "[$NAME] --- $p (last 30 lines) ---" >&2; tail -n 30 "$p" >&2; }
    done
    echo "[$NAME] FAILED ($FAILS of $CHECKS checks, exit $rc); files kept in $T" >&2
    exit 1
  fi
  rm -rf "$T"
  echo "[$NAME] PASSED ($CHECKS checks)"
  exit 0
}
trap teardown EXIT

# ---- 0. a machine without the package --------------------------------------
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -qv 'not-installed'; then
  die "$PKG is already installed or has config files here ($(dpkg-query -W -f='${Status}' "$PKG")); purge it first"
fi
for u in oyster-executor oyster-sandbox; do
  getent passwd "$u" >/dev/null && die "user $u exists already"
  getent group "$u" >/dev/null && die "group $u exists already"
done
for f in /etc/oyster-executor /var/lib/oyster-executor /run/oyster-executor; do
  [ -e "$f" ] && die "$f exists already"
done
[ -z "$(our_procs)" ] || die "oyster processes of an installed package are running"
snapshot_files >"$T/files.before"
snapshot_ids >"$T/ids.before"
dpkg-statoverride --list | sort >"$T/statoverride.before"
workerd_sum=$(sha256sum "$ROOT/node_modules/@cloudflare/workerd-linux-64/bin/workerd" | cut -d' ' -f1)

# An admin's choice for the config file, made before the install: dpkg and
# the postinst must leave it as it is.
dpkg-statoverride --add root root 0600 "$STATOVERRIDE"
we_statoverride=1

# ---- 1. install --------------------------------------------------------------
log "installing $(basename "$deb")"
we_installed=1
t0=$(date +%s)
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$deb" >"$T/install.log" 2>&1 ||
  { cat "$T/install.log" >&2; die "apt-get install failed"; }
log "installed in $(( $(date +%s) - t0 )) s"
eq "package state" "$(dpkg-query -W -f='${Status} ${Version}' "$PKG")" "install ok installed $(dpkg-deb -f "$deb" Version)"
check "postinst announced the new enclave key" grep -q 'new enclave key /etc/oyster-executor/id.sec' "$T/install.log"
check "postinst says how to enable the site" grep -q 'ln -s ../sites-available/oyster-executor' "$T/install.log"

for u in oyster-executor oyster-sandbox; do
  pw=$(getent passwd "$u" || true)
  check "system user $u exists" test -n "$pw"
  uid=$(cut -d: -f3 <<<"$pw")
  check "$u is a system uid ($uid)" test "${uid:-1000}" -lt 1000
  eq "$u has no login shell" "$(cut -d: -f7 <<<"$pw")" /usr/sbin/nologin
  check "group $u exists" getent group "$u"
done
check "the two users differ" test "$(id -u oyster-executor)" != "$(id -u oyster-sandbox)"
eq "/etc/oyster-executor" "$(perms /etc/oyster-executor)" "root:oyster-executor 750"
eq "executor.conf kept as dpkg-statoverride says" "$(perms /etc/oyster-executor/executor.conf)" "root:root 600"
eq "enclave key generated, 0600" "$(perms /etc/oyster-executor/id.sec)" "root:root 600"
check "enclave key is valid" /usr/bin/oysterctl address /etc/oyster-executor/id.sec
key_sum=$(sha256sum /etc/oyster-executor/id.sec | cut -d' ' -f1)
eq "/var/lib/oyster-executor" "$(perms /var/lib/oyster-executor)" "root:oyster-executor 750"
eq "/run/oyster-executor (tmpfiles.d)" "$(perms /run/oyster-executor)" "root:www-data 750"
eq "conffiles" "$(dpkg-query -W -f='${Conffiles}\n' "$PKG" | awk 'NF {print $1}' | sort | tr '\n' ' ')" \
  "/etc/nginx/sites-available/oyster-executor /etc/oyster-executor/executor.conf "
check "nginx site installed" test -f /etc/nginx/sites-available/oyster-executor
check "nginx site not enabled" bash -c "! grep -rqs oyster /etc/nginx/sites-enabled /etc/nginx/conf.d"
eq "workerd is the pinned npm package's binary" "$(sha256sum /usr/lib/oyster-executor/workerd | cut -d' ' -f1)" "$workerd_sum"
for m in oyster-fcgi.8 oyster-chain-watcher.8 oysterctl.1 executor.conf.5; do
  check "man page $m" test -f "/usr/share/man/man${m##*.}/$m.gz"
done
check "alert rules example" test -f /usr/share/doc/oyster-executor/examples/oyster-alerts.yml
for u in oyster-fcgi.service oyster-chain-watcher.service; do
  check "$u verifies (systemd-analyze verify)" systemd-analyze verify "/lib/systemd/system/$u"
  for d in NoNewPrivileges=yes ProtectSystem=strict KillMode=mixed Delegate=yes; do
    check "$u has $d" grep -qx "$d" "/lib/systemd/system/$u"
  done
  check "$u has no MemoryDenyWriteExecute (V8's JIT)" bash -c "! grep -q '^MemoryDenyWriteExecute' /lib/systemd/system/$u"
done
check "oyster-fcgi enabled at install" test -L /etc/systemd/system/multi-user.target.wants/oyster-fcgi.service
check "oyster-chain-watcher not enabled" test ! -e /etc/systemd/system/multi-user.target.wants/oyster-chain-watcher.service
systemd-analyze security --offline=yes /lib/systemd/system/oyster-fcgi.service 2>/dev/null | tail -1 | sed "s/^/[$NAME] /" || true

# ---- 2. configure: a free port and a local chain ---------------------------
log "starting a local chain"
chain_start "$T/chain" >"$T/chain.log" 2>&1 || die "anvil did not start"
port=$(_stack_pick_port)
{
  echo
  echo "# added by tests/package/run.sh"
  echo "http_listen = 127.0.0.1:$port"
  for kv in $(stack_chain_args "$T/chain") poll_interval_ms=200; do echo "${kv%%=*} = ${kv#*=}"; done
} >>/etc/oyster-executor/executor.conf
check "edited config is valid" /usr/sbin/oyster-fcgi -c /etc/oyster-executor/executor.conf --check-config
check "site re-rendered by the installed helper" \
  /usr/lib/oyster-executor/render-nginx-site -o /etc/nginx/sites-available/oyster-executor
check "site listens on the new port" grep -q "listen 127.0.0.1:$port;" /etc/nginx/sites-available/oyster-executor

# ---- 3. the daemons, as their units start them -------------------------------
unit_start oyster-fcgi.service "$T/oyster-fcgi.log" "$T/fcgi.pid"
_stack_wait "oyster-fcgi sockets" 200 test -S /run/oyster-executor/control.sock || die "oyster-fcgi did not come up"
fpid=$(cat "$T/fcgi.pid")
st=/proc/$fpid/status
eq "oyster-fcgi runs as uid 0" "$(awk '/^Uid:/ {print $2}' "$st")" 0
eq "oyster-fcgi's group is oyster-executor" "$(awk '/^Gid:/ {print $2}' "$st")" "$(getent group oyster-executor | cut -d: -f3)"
check "oyster-fcgi is in group www-data" bash -c "awk '/^Groups:/' $st | grep -qw $(getent group www-data | cut -d: -f3)"
# The unit's CapabilityBoundingSet as a mask (setpriv lists capabilities in number order).
capmask() { local c n=0 m=0; for c in $(setpriv --list-caps); do
    grep -qw "CAP_${c^^}" <<<"$1" && m=$((m | (1 << n))); n=$((n + 1)); done; printf '%016x' "$m"; }
eq "oyster-fcgi's capabilities: the unit's bounding set only" "$(awk '/^CapBnd:/ {print $2}' "$st")" \
  "$(capmask "$(unit_get oyster-fcgi.service CapabilityBoundingSet)")"
eq "oyster-fcgi has no_new_privs" "$(awk '/^NoNewPrivs:/ {print $2}' "$st")" 1
eq "FastCGI socket: root:www-data 0660" "$(perms /run/oyster-executor/fcgi.sock)" "root:www-data 660"

mkdir -p "$T/nginx/tmp"
chown www-data "$T/nginx/tmp"
cat >"$T/nginx/nginx.conf" <<EOF
# The installed site in a private nginx (never the system one): workers as
# www-data like Debian's nginx, on a loopback port.
user www-data;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 256; }
http {
    client_body_temp_path $T/nginx/tmp/body;
    fastcgi_temp_path $T/nginx/tmp/fastcgi;
    proxy_temp_path $T/nginx/tmp/proxy;
    uwsgi_temp_path $T/nginx/tmp/uwsgi;
    scgi_temp_path $T/nginx/tmp/scgi;
    include /etc/nginx/sites-available/oyster-executor;
}
EOF
check "installed site passes nginx -t" nginx -t -q -p "$T/nginx" -c "$T/nginx/nginx.conf"
nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" -g 'daemon off;' >"$T/nginx.log" 2>&1 &
echo $! >"$T/nginx.pid"
STARTED+=("$T/nginx.pid")
URL=http://127.0.0.1:$port
_stack_wait "nginx on $URL" 200 curl -sf "$URL/healthz" || die "the installed site does not answer"

# ---- 4. smoke test through the installed site ------------------------------
id=$(curl -sS -H 'Content-Type: application/javascript' \
     --data-binary @/usr/share/doc/oyster-executor/examples/factors.js "$URL/api/code" | jq -r .code_id)
check "code uploaded ($id)" grep -Eq '^0x[0-9a-f]{64}$' <<<"$id"
out=$(curl -sS -D "$T/hdr" "$URL/api/serverless" -H 'X-Request-ID: pkg-test-1' \
      -d "{\"code_id\":\"$id\",\"input\":{\"num\":10}}")
eq "prime factors of 10" "$out" '{"num":10,"factors":[2,5]}'
check "response signed" grep -qi '^x-oyster-signature: 0x' "$T/hdr"
check "request id returned" grep -qi '^x-request-id: pkg-test-1' "$T/hdr"
check "request id in oyster-fcgi's log" grep -q '"request_id":"pkg-test-1"' "$T/oyster-fcgi.log"
check "request id in the site's access log" grep -q '"request_id":"pkg-test-1"' /var/log/nginx/oyster-executor.access.log
check "workerd ran in a slot cgroup (memory peak measured)" \
  bash -c "grep -i '^x-oyster-usage-memory-peak-bytes: [1-9]' '$T/hdr'"
run_as=$(for p in $(pgrep -x workerd || true); do
           if grep -q ':/oyster/default/' "/proc/$p/cgroup" 2>/dev/null; then ps -o user= -p "$p"; fi
         done | sort -u | tr '\n' ' ')
check "user code runs as oyster-sandbox (workerd: ${run_as:-none})" test "$run_as" = "oyster-sandbox "
hz=$(curl -s "$URL/healthz")
eq "healthz" "$(jq -r .status <<<"$hz")" ok
check "cgroups in use ($(jq -r .protections.cgroups <<<"$hz"))" test "$(jq -r .protections.cgroups <<<"$hz")" != off

# ---- 5. the chain watcher, as its unit starts it ------------------------------
stack_dir=$T/node; mkdir -p "$stack_dir"; echo "$port" >"$stack_dir/port"
check "registered on chain" stack_register "$stack_dir" "$T/chain" "$DEV_KEY1" "$DEV_KEY2"
eq "gas key stored 0600" "$(perms /var/lib/oyster-executor/gas.key)" "root:oyster-executor 600"
unit_start oyster-chain-watcher.service "$T/oyster-chain-watcher.log" "$T/cw.pid"
sleep 0.3
eq "oyster-chain-watcher's capabilities: the unit's bounding set only" \
  "$(awk '/^CapBnd:/ {print $2}' "/proc/$(cat "$T/cw.pid")/status")" \
  "$(capmask "$(unit_get oyster-chain-watcher.service CapabilityBoundingSet)")"
tx=$(chain_save_code "$T/chain" /usr/share/doc/oyster-executor/examples/factors.js)
job=$(chain_create_job "$T/chain" "$tx" "0x$(printf '%s' '{"num":10}' | od -An -v -tx1 | tr -d ' \n')" 5000)
confirmed() { [ "$(curl -s "$URL/api/jobs/$job" | jq -r .state)" = confirmed ]; }
_stack_wait "job $job confirmed" 600 confirmed
eq "job answered on chain by the installed watcher" "$(curl -s "$URL/api/jobs/$job" | jq -r '.state + " " + .output_text')" \
  'confirmed {"num":10,"factors":[2,5]}'
# The watcher confirms the job from its JobResponded log; the sender marks its
# transaction mined when it reads the receipt, a poll later.
mined() { curl -s "$URL/metrics" | grep -q '^oyster_chain_transactions{kind="submit",state="confirmed"} 1'; }
_stack_wait "submission marked mined" 200 mined || true
m=$(curl -s "$URL/metrics")
echo "$m" >"$T/metrics.txt"
check "metrics: chain head" grep -Eq '^oyster_chain_head_block [1-9]' <<<"$m"
check "metrics: confirmed job" grep -q '^oyster_chain_jobs{state="confirmed"} 1' <<<"$m"
check "metrics: confirmed submission" grep -q '^oyster_chain_transactions{kind="submit",state="confirmed"} 1' <<<"$m"
check "metrics: gas spent" grep -Eq '^oyster_chain_gas_spent_wei_total\{kind="submit"\} [1-9]' <<<"$m"

# ---- 6. stop as systemd would -----------------------------------------------
check "oyster-chain-watcher stops on SIGTERM" unit_stop oyster-chain-watcher.service "$T/cw.pid"
check "oyster-fcgi drains and stops on SIGTERM" unit_stop oyster-fcgi.service "$T/fcgi.pid"
kill -QUIT "$(cat "$T/nginx.pid")"; _stack_wait "nginx stopped" 100 bash -c "! kill -0 $(cat "$T/nginx.pid")"
rm -f "$T/nginx.pid"
eq "no daemon or workerd left" "$(our_procs)" ""
eq "no cgroup left" "$(our_cgroups)" ""

# ---- 7. remove keeps config and data; reinstall keeps the key -----------------
DEBIAN_FRONTEND=noninteractive apt-get remove -y "$PKG" >"$T/remove.log" 2>&1 || { cat "$T/remove.log" >&2; die "remove failed"; }
eq "removed, config files kept" "$(dpkg-query -W -f='${Status}' "$PKG")" "deinstall ok config-files"
check "binaries gone" test ! -e /usr/sbin/oyster-fcgi -a ! -e /usr/lib/oyster-executor/workerd
check "config kept" grep -q "http_listen = 127.0.0.1:$port" /etc/oyster-executor/executor.conf
eq "enclave key kept" "$(sha256sum /etc/oyster-executor/id.sec | cut -d' ' -f1)" "$key_sum"
check "database kept" test -s /var/lib/oyster-executor/executor.db
check "users kept" getent passwd oyster-executor
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$deb" >"$T/reinstall.log" 2>&1 ||
  { cat "$T/reinstall.log" >&2; die "reinstall failed"; }
eq "reinstall keeps the enclave key" "$(sha256sum /etc/oyster-executor/id.sec | cut -d' ' -f1)" "$key_sum"
check "reinstall makes no new key" bash -c "! grep -q 'new enclave key' '$T/reinstall.log'"
check "reinstall keeps the config" grep -q "http_listen = 127.0.0.1:$port" /etc/oyster-executor/executor.conf

# ---- 8. purge leaves nothing -------------------------------------------------
DEBIAN_FRONTEND=noninteractive apt-get purge -y "$PKG" >"$T/purge.log" 2>&1 || { cat "$T/purge.log" >&2; die "purge failed"; }
we_installed=0
dpkg-statoverride --remove "$STATOVERRIDE"; we_statoverride=0
check "package gone" bash -c "! dpkg-query -W -f='\${Status}' $PKG 2>/dev/null | grep -qv not-installed"
for u in oyster-executor oyster-sandbox; do
  check "user $u removed" bash -c "! getent passwd $u"
  check "group $u removed" bash -c "! getent group $u"
done
snapshot_ids >"$T/ids.after"
check "passwd, group, shadow, gshadow as before" cmp -s "$T/ids.before" "$T/ids.after"
snapshot_files >"$T/files.after"
if ! cmp -s "$T/files.before" "$T/files.after"; then
  fail "files left or lost by install + purge:"
  diff "$T/files.before" "$T/files.after" | sed -n 's/^[<>]/  &/p' | head -40 >&2
else
  log "ok: no file left behind (whole file system compared)"
  CHECKS=$((CHECKS + 1))
fi
dpkg-statoverride --list | sort >"$T/statoverride.after"
check "statoverrides as before" cmp -s "$T/statoverride.before" "$T/statoverride.after"
eq "no process left" "$(our_procs)" ""
eq "no cgroup left" "$(our_cgroups)" ""
