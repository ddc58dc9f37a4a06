#!/usr/bin/env bash
# Catalogue row 9: forbidden syscalls from a native probe in the workerd
# jail (ptrace, mount, unshare, bpf, keyctl and more: namespaces, keys,
# modules, kexec, perf, io_uring, userfaultfd, other processes' memory,
# privilege and file-mode changes) kill it with SIGSYS: oyster-jail-run
# reports exit status 159 (128 + SIGSYS) and the call never returns.
# socket() for anything but AF_UNIX is refused with EACCES instead (not
# fatal, so libraries can fall back).  The real slot workerds run under
# the same filter (Seccomp: 2), with no_new_privs and no capabilities.
. "$(dirname "$0")/lib.sh"
adv_start slots=2

SYSCALLS="ptrace mount unshare bpf keyctl add_key setns chroot pivot_root umount reboot init_module kexec_load
  perf_event_open userfaultfd io_uring_setup process_vm_readv open_by_handle_at setuid chmod mknod personality"
killed=0 n=0
for s in $SYSCALLS; do
  n=$((n + 1))
  adv_jail -- syscall "$s"
  eq "$s: killed with SIGSYS (exit 159)" "$JAIL_RC" 159
  check "$s: attempted, never returned" bash -c "grep -qx 'attempting $s' <<<'$JAIL_OUT' && ! grep -q ' returned ' <<<'$JAIL_OUT'"
  [ "$JAIL_RC" = 159 ] && killed=$((killed + 1))
done
adv_note "$killed of $n forbidden syscalls killed the probe with SIGSYS (exit 159)"
for s in socket_inet socket_netlink; do
  adv_jail -- syscall "$s"
  eq "$s: refused, not fatal" "$JAIL_RC" 0
  check "$s: EACCES" grep -q "^$s returned -1 errno 13" <<<"$JAIL_OUT"
done
adv_note "socket(AF_INET/AF_NETLINK) refused with EACCES"

for wk in $(stack_workerd_pids "$IT_DIR/node"); do
  st=$(cat "/proc/$wk/status")
  eq "workerd $wk: seccomp filter on" "$(awk '/^Seccomp:/ {print $2}' <<<"$st")" 2
  eq "workerd $wk: no_new_privs" "$(awk '/^NoNewPrivs:/ {print $2}' <<<"$st")" 1
  eq "workerd $wk: no capabilities, none to regain" \
    "$(awk '/^Cap(Eff|Prm|Bnd|Amb):/ {print $2}' <<<"$st" | sort -u)" 0000000000000000
done
adv_next 2
