#!/usr/bin/env bash
# Catalogue row 3: a fork bomb and a thread bomb from a native probe run in
# the workerd jail (oyster-jail-run: same namespaces, uid, seccomp and
# read-only root, in a cgroup with the slot's memory_limit and pids_limit)
# get EAGAIN at pids_limit; the node keeps serving meanwhile; when the
# jail's first process exits the jail is emptied (even of children that
# left the process group) and its cgroup is gone.  Also checks the rlimits
# the jail description promises on a real slot workerd.
. "$(dirname "$0")/lib.sh"
PIDS=64
quick && PIDS=32
adv_start slots=2 pids_limit=$PIDS
inst=$(it_instance)
cg=/sys/fs/cgroup/pids/oyster/$inst/probe
probes() { pgrep -f -c "^$PROBE " || true; }

# The jail's rlimits on the real thing (SECURITY.md: core 0, fsize, nofile, nproc).
wk=$(stack_workerd_pids "$IT_DIR/node" | awk "NR == 1")
master=$(cat "$IT_DIR/node/fcgi.pid")
lim() { awk -v k="$2" 'index($0, k) == 1 {print $(NF - 2)}' "/proc/$1/limits"; }
eq "workerd: core dumps off" "$(lim "$wk" 'Max core file size')" 0
check "workerd: file size limited ($(lim "$wk" 'Max file size'))" test "$(lim "$wk" 'Max file size')" != unlimited
check "workerd: open files limited by the jail ($(lim "$wk" 'Max open files'); oyster-fcgi has $(lim "$master" 'Max open files'))" \
  test "$(lim "$wk" 'Max open files')" != "$(lim "$master" 'Max open files')"
check "workerd: processes limited by the jail ($(lim "$wk" 'Max processes'); oyster-fcgi has $(lim "$master" 'Max processes'))" \
  test "$(lim "$wk" 'Max processes')" != "$(lim "$master" 'Max processes')"

adv_note "slot workerd rlimits: core $(lim "$wk" 'Max core file size'), fsize $(lim "$wk" 'Max file size'), nofile $(lim "$wk" 'Max open files') (oyster-fcgi: $(lim "$master" 'Max open files')), nproc $(lim "$wk" 'Max processes') (oyster-fcgi: $(lim "$master" 'Max processes'))"

# 1. Fork bomb held for a while: EAGAIN at the limit; the node serves meanwhile.
( adv_jail --cgroup -- forkbomb 2000 1500; echo "$JAIL_RC" >"$IT_DIR/fb.rc"; printf '%s\n' "$JAIL_OUT" >"$IT_DIR/fb.out" ) &
fb=$!
at_limit() { [ "$(cat "$cg/pids.current" 2>/dev/null)" = "$PIDS" ]; }
_stack_wait "fork bomb at the pids limit" 100 at_limit || true
eq "pids.current of the jail's cgroup at the limit" "$(cat "$cg/pids.current" 2>/dev/null)" "$PIDS"
adv_next 1
wait "$fb"
adv_attempt
read -r _ ok _ eagain _ other < <(grep '^forks' "$IT_DIR/fb.out")
eq "fork bomb: forks stop at pids_limit - 1" "$ok" $((PIDS - 1))
check "fork bomb: the rest got EAGAIN ($eagain)" test "${eagain:-0}" -gt 0
eq "fork bomb: no other error" "$other" 0
eq "fork bomb: probe exit status" "$(cat "$IT_DIR/fb.rc")" 0
eq "fork bomb: jail emptied" "$(probes)" 0
check "fork bomb: its cgroup is removed" test ! -d "$cg"
adv_note "fork bomb: $ok forks then EAGAIN x$eagain at pids_limit $PIDS, node served meanwhile, jail emptied"

# 2. Children that left the process group (setsid) when the first process exits.
adv_jail --cgroup -- forkbomb 2000 0 leave
read -r _ ok _ eagain _ _ <<<"$(grep '^forks' <<<"$JAIL_OUT")"
eq "setsid children: forks stop at the limit" "$ok" $((PIDS - 1))
gone() { [ "$(probes)" = 0 ]; }
_stack_wait "setsid children gone" 100 gone || true
eq "setsid children: jail emptied with its first process" "$(probes)" 0
check "setsid children: cgroup removed" test ! -d "$cg"
adv_note "setsid children: $ok left behind, all gone with the jail's pid 1"

# 3. Thread bomb.
adv_jail --cgroup -- threadbomb 2000
read -r _ ok _ eagain _ other <<<"$(grep '^threads' <<<"$JAIL_OUT")"
eq "thread bomb: threads stop at pids_limit - 1" "$ok" $((PIDS - 1))
check "thread bomb: the rest got EAGAIN ($eagain)" test "${eagain:-0}" -gt 0
eq "thread bomb: jail emptied" "$(probes)" 0
adv_note "thread bomb: $ok threads then EAGAIN x$eagain"

adv_next 2
