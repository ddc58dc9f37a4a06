#!/usr/bin/env bash
# Catalogue row 7: writing outside the scratch dir is refused, filling the
# disk is capped.  A native probe in the workerd jail (slot directory at
# /work, the slot's uid) cannot create files in /, /etc, /work, /usr/lib,
# /dev, /proc or /sys (EROFS or EACCES), and filling /tmp stops with ENOSPC
# at scratch_bytes (16 MiB, oyster-jail-run's scratch size and the node's
# default); nothing lands on the host.  The slot workerds' own mount tables
# (read from the host) show the same: everything read-only except the
# noexec scratch /tmp of scratch_bytes and /proc.
. "$(dirname "$0")/lib.sh"
SCRATCH=$((16 << 20))
adv_start slots=2 scratch_bytes=16M
slot=$IT_DIR/node/run/slots/0
before=$(ls -la "$slot" | md5sum)

targets=(/x /etc/x /work/x /work/.root/x /usr/lib/x /lib/x /dev/x /proc/x /sys/x /sys/devices/system/cpu/x /workerd)
for p in "${targets[@]}"; do
  adv_jail -- write "$p" 4096
  line=$(grep "^write $p " <<<"$JAIL_OUT" || echo "write $p: no answer")
  check "probe: $line" grep -Eq "^write $p denied errno (30|13|2)$" <<<"$line"
done
adv_note "${#targets[@]} writes outside /tmp refused (EROFS/EACCES)"

adv_jail -- write /tmp/fill $((64 << 20))
line=$(grep '^write /tmp/fill' <<<"$JAIL_OUT" || true)
read -r _ _ _ _ at _ err <<<"$line"
eq "filling /tmp stops with ENOSPC" "${err:-none}" 28
check "at scratch_bytes ($at of $SCRATCH bytes)" test "${at:-0}" -le "$SCRATCH" -a "${at:-0}" -ge $((SCRATCH - (1 << 20)))
eq "nothing written to the slot directory on the host" "$(ls -la "$slot" | md5sum)" "$before"
check "nothing landed in the host's /tmp" test ! -e /tmp/fill
adv_note "filling /tmp: ENOSPC at $at bytes (scratch_bytes $SCRATCH)"

# The real slot workerds: their mount tables, seen from the host.
rw_all=""
for wk in $(stack_workerd_pids "$IT_DIR/node"); do
  rw=$(awk '$5 != "/tmp" && $5 != "/proc" && $6 !~ /^ro/ {print $5}' "/proc/$wk/mountinfo" | paste -sd' ')
  rw_all=$rw
  eq "workerd $wk: every mount but /tmp and /proc read-only (read-write: ${rw:-none})" "$rw" ""
  tmpline=$(awk '$5 == "/tmp"' "/proc/$wk/mountinfo")
  check "workerd $wk: /tmp is a noexec tmpfs of scratch_bytes" \
    bash -c "grep -q 'noexec' <<<'$tmpline' && grep -q 'tmpfs' <<<'$tmpline' && grep -q 'size=$((SCRATCH >> 10))k' <<<'$tmpline'"
done
adv_note "slot workerds' mounts: read-write besides /tmp and /proc: ${rw_all:-none}"
adv_next 2
