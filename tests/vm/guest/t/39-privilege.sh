#!/bin/sh
# 39-privilege: privilege checks that a caller cannot redirect, against a
# nestvmm running as nobody (test_privilege does the work; see its header):
#  - a child that keeps root's fd, drops to another uid without capabilities
#    and mounts a tmpfs with a regular file PID/mem on /proc in its own user
#    and mount namespaces is refused every request on the VMM (EPERM);
#  - the fd in a process with ptrace rights but no capability reads, and
#    cannot freeze, thaw or set state (EPERM);
#  - a read-only fd reads, and freeze, thaw and KVM SET requests get EBADF;
#  - right after a reload, a forged kvm BTF bound over /sys/kernel/btf/kvm
#    in a private mount namespace is not what the module reads.
# Afterwards nestvmm's own verdict must pass.  About 20 s under QEMU TCG.
#
# Exit: 0 pass, 77 skip, anything else fail.  Diagnostics start with "# ".
. /opt/nestckpt/lib/common.sh

[ -c /dev/kvm ] || { note "no /dev/kvm"; exit 77; }
nestckpt_loaded || exit 1
if [ "${NC_EMU:-qemu}" = bochs ]; then start_wait=180; else start_wait=60; fi

helper=/opt/nestckpt/tests/unit/test_privilege
vmm_uid=65534

# The VMM runs as nobody: /dev/kvm is root's 0600 on devtmpfs.  The
# no-capability child must be able to ptrace its own uid (Yama's default
# scope 1 only lets ancestors); the fake-/proc child needs an unprivileged
# user namespace.  All put back at the end.
kvm_mode=$(stat -c %a /dev/kvm)
chmod 0666 /dev/kvm
yama=/proc/sys/kernel/yama/ptrace_scope
userns=/proc/sys/kernel/unprivileged_userns_clone
[ -w $yama ] && { yama_was=$(cat $yama); echo 0 >$yama; }
[ -w $userns ] && { userns_was=$(cat $userns); echo 1 >$userns; }
restore() {
	chmod "$kvm_mode" /dev/kvm
	[ -n "$yama_was" ] && echo "$yama_was" >$yama
	[ -n "$userns_was" ] && echo "$userns_was" >$userns
}

st=/tmp/pv.stats out=/tmp/pv.out
rm -f $st $out
nestvmm_bin=$(command -v nestvmm)
su nobody -s /bin/sh -c "exec $nestvmm_bin --stats $st --vcpu l2 --vcpu plain" >$out 2>&1 &
pid=$!
if ! vmm_ready $st $pid $start_wait; then
	fail "nestvmm (as nobody) did not get ready"
	indent <$out
	restore
	exit 1
fi
note "nestvmm pid $pid, uid $(stat -c %u /proc/$pid)"

$helper fds $pid $vmm_uid >/tmp/pv-fds.out 2>&1 ||
	fail "fd checks ($(grep -c '^not ok' /tmp/pv-fds.out) failed)"
indent </tmp/pv-fds.out
# Each part thaws what it froze: a thaw that works now is a bug (and would
# leave the VMM deaf to SIGTERM below).
nestckptctl thaw $pid >/dev/null 2>&1 && fail "the fd checks left the VMM frozen"

# The layout must not be known yet: reload, then the forged BTF comes first.
if rmmod nestckpt && insmod "$NC_KO"; then
	$helper btf $pid >/tmp/pv-btf.out 2>&1 ||
		fail "forged BTF ($(grep -c '^not ok' /tmp/pv-btf.out) failed)"
	indent </tmp/pv-btf.out
	dmesg | grep 'nestckpt: .*layout' | tail -n 2 | indent
else
	fail "cannot reload the module"
	nestckpt_loaded
fi

kill -TERM $pid
wait $pid
rc=$?
grep -E 'FAIL|PASSED|FAILED|nestvmm:' $out | indent
[ $rc -eq 0 ] || fail "nestvmm's verdict: exit $rc"
restore

[ $failures -eq 0 ]
