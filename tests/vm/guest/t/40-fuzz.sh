#!/bin/sh
# 40-fuzz: random requests against /dev/nestckpt (ioctl and io_uring), and
# freezes of VMMs that exit or are killed in the middle, must leave no
# oops/WARN/BUG (dmesg-clean judges), no leaked reference (the module
# unloads at the end) and the surviving VMM working (its own verdict).
# Then KVM ops whose argument another thread keeps changing (the counts in
# it: test_kvm_op_race) on the frozen VMM: read once, answered in full or
# refused cleanly, and the VMM's state as before.
#
# Environment: NC_EMU (call count: QEMU 100000, Bochs 30000), NC_FUZZ_CALLS.
# Exit: 0 pass, 77 skip, anything else fail.  Diagnostics start with "# ".
. /opt/nestckpt/lib/common.sh

[ -c /dev/kvm ] || { note "no /dev/kvm"; exit 77; }
nestckpt_loaded || exit 1
fuzz=/opt/nestckpt/tests/unit/test_dev_fuzz
if [ "${NC_EMU:-qemu}" = bochs ]; then
	calls=${NC_FUZZ_CALLS:-30000} wait_s=180
else
	calls=${NC_FUZZ_CALLS:-100000} wait_s=60
fi

ready() { vmm_ready "$1" "$2" $wait_s; }

nestvmm --stats /tmp/fuzz.stats --vcpu l2 --vcpu l2+irq --vcpu l1 --vcpu plain \
	>/tmp/fuzz-vmm.out 2>&1 &
vmm=$!
ready /tmp/fuzz.stats $vmm || { fail "nestvmm not ready"; indent </tmp/fuzz-vmm.out; exit 1; }

t0=$(date +%s)
$fuzz $vmm $calls >/tmp/fuzz.out 2>&1 || fail "test_dev_fuzz reported failures"
indent </tmp/fuzz.out
note "fuzz: $(($(date +%s) - t0))s"

# Racing KVM ops, on a freeze that caught a vCPU in L2 (a few tries).
race=/opt/nestckpt/tests/unit/test_kvm_op_race
try=0
while :; do
	nestckptctl freeze $vmm >/tmp/race-freeze.out 2>&1 || { fail "race: freeze: $(cat /tmp/race-freeze.out)"; break; }
	try=$((try + 1))
	nestckptctl status $vmm | grep -q ': L2 ' && break
	[ $try -lt 10 ] || { note "race: no vCPU in L2 after $try freezes: racing the rest"; break; }
	nestckptctl thaw $vmm >/dev/null 2>&1
done
t0=$(date +%s)
$race $vmm "${NC_RACE_SECONDS:-3}" >/tmp/race.out 2>&1 || fail "test_kvm_op_race reported failures"
indent </tmp/race.out
note "race: $(($(date +%s) - t0))s"
nestckptctl thaw $vmm >/tmp/race-thaw.out 2>&1 || fail "race: thaw: $(cat /tmp/race-thaw.out)"

# VMMs that go away while being frozen and thawed.
for how in exits killed; do
	if [ $how = exits ]; then
		nestvmm --duration 3 --stats /tmp/fuzz-$how.stats --vcpu l2 --vcpu l1 >/dev/null 2>&1 &
	else
		nestvmm --stats /tmp/fuzz-$how.stats --vcpu l2 --vcpu l1 >/dev/null 2>&1 &
	fi
	p=$!
	ready /tmp/fuzz-$how.stats $p || note "$how: not ready (ok if it already exited)"
	(
		while kill -0 $p 2>/dev/null; do
			nestckptctl freeze --timeout 500 $p >/dev/null 2>&1
			nestckptctl status $p >/dev/null 2>&1
			nestckptctl thaw $p >/dev/null 2>&1
		done
	) &
	loop=$!
	if [ $how = killed ]; then
		sleep 2
		kill -KILL $p
	fi
	wait $p 2>/dev/null
	wait $loop
	note "$how: VMM gone, freeze loop ended"
done

kill -0 $vmm 2>/dev/null || fail "the fuzzed VMM died"
sleep 2
kill -TERM $vmm
wait $vmm
rc=$?
grep -E 'PASSED|FAILED|nestvmm:' /tmp/fuzz-vmm.out | indent
[ $rc -eq 0 ] || fail "the fuzzed VMM's verdict: exit $rc"

i=0
while [ "$(cat /sys/module/nestckpt/refcnt)" != 0 ] && [ $i -lt 10 ]; do
	sleep 1
	i=$((i + 1))
done
if rmmod nestckpt; then
	note "module unloaded after the fuzz: no reference leaked"
	insmod "$NC_KO" || fail "re-insmod failed"
else
	fail "module cannot be unloaded after the fuzz (refcnt $(cat /sys/module/nestckpt/refcnt))"
fi
[ $failures -eq 0 ]
