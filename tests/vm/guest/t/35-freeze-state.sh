#!/bin/sh
# 35-freeze-state: what the module reads from a frozen VMM is what the VMM
# reads itself. nestvmm (4 vCPUs: l2, l2+irq, l1, plain) captures its whole
# KVM state in-process on SIGHUP and holds its vCPU threads asleep outside
# KVM_RUN, in a condition variable, nanosleep and ppoll, as a paused VMM's
# threads wait (nestvmm --capture); then nestckptctl freeze, and test_frozen_state compares every item read
# through /dev/nestckpt with the capture, and the vmcs12/vmcb12 in guest
# memory with the L2 state KVM gave the VMM in-process (KVM_GET_NESTED_STATE,
# registers); a tracer's view (each thread's own signal mask, the parked
# call), reads again after it detached; the same again with the VMM stopped (SIGSTOP, as under CRIU's
# seize), and a thaw while it is stopped. Then more freeze/thaw cycles of
# the sleeping threads,
# release, and nestvmm's verdict must still pass: no held sleep may have
# returned EINTR (the module gives each call back to be restarted).
#
# Exit: 0 pass, 77 skip, anything else fail.  Diagnostics start with "# ".
. /opt/nestckpt/lib/common.sh

[ -c /dev/kvm ] || { note "no /dev/kvm"; exit 77; }
nestckpt_loaded || exit 1
check=/opt/nestckpt/tests/unit/test_frozen_state
[ -x $check ] || { note "no $check"; exit 1; }
if [ "${NC_EMU:-qemu}" = bochs ]; then wait_s=600 sleep_cycles=10; else wait_s=60 sleep_cycles=100; fi

cap=/tmp/fs-cap st=/tmp/fs.stats out=/tmp/fs.out
rm -rf $cap
nestvmm --capture $cap --stats $st --vcpu l2 --vcpu l2+irq --vcpu l1 --vcpu plain >$out 2>&1 &
pid=$!
vmm_ready $st $pid $wait_s || { fail "nestvmm not ready"; indent <$out; exit 1; }
sleep 1

# capture: SIGHUP, wait for DIR/done.
capture() {
	kill -HUP $pid
	i=0
	until [ -f $cap/done ]; do
		i=$((i + 1))
		[ $i -lt $wait_s ] || { fail "no capture after ${wait_s}s"; indent <$out; kill $pid; exit 1; }
		sleep 1
	done
}
# in_l2 N: vCPU N's captured nested state has KVM_STATE_NESTED_GUEST_MODE.
in_l2() {
	[ $(( $(od -An -tu2 -N2 $cap/vcpu$1/nested.bin) & 1 )) = 1 ]
}

# The guest-memory check needs an L2 vCPU caught in L2: capture again
# (release, run a moment) until one is.
try=1
capture
while ! in_l2 0 && ! in_l2 1 && [ $try -lt 20 ]; do
	kill -HUP $pid
	sleep 1
	try=$((try + 1))
	capture
done
note "capture: $(cat $cap/done), attempt $try"

# Every thread's blocked-signal mask before the freeze (SigBlk). KVM's NX
# recovery worker (6.12+) is a kernel worker, not the VMM's: the freeze takes
# it out of the process (38-nx-worker checks that), so a tracer never sees it.
for t in /proc/$pid/task/*; do
	[ "$(cat $t/comm 2>/dev/null)" = kvm-nx-lpage-re ] && continue
	echo "${t##*/} $(sed -n 's/^SigBlk:[[:space:]]*//p' $t/status)"
done >/tmp/fs-masks
if out_f=$(nestckptctl freeze $pid 2>&1); then
	note "$out_f"
	nestckptctl status $pid | indent
	$check $pid $cap >/tmp/fs-check.out 2>&1
	rc=$?
	indent </tmp/fs-check.out
	[ $rc -eq 0 ] || fail "module reads differ from the VMM's own ($(grep -c '^not ok' /tmp/fs-check.out) check(s))"
	# A tracer (CRIU's seize) sees each thread's own mask and the parked
	# threads inside the park's restarted call; after it detaches the
	# freeze still holds.
	tids=$(nestckptctl status $pid | sed -n 's/.*vcpu [0-9]* (fd [0-9]*, tid \([0-9]*\)).*/\1/p')
	/opt/nestckpt/tests/unit/test_frozen_ptrace $pid /tmp/fs-masks $tids >/tmp/fs-ptrace.out 2>&1 ||
		fail "what a tracer sees of the frozen VMM ($(grep -c '^not ok' /tmp/fs-ptrace.out) check(s))"
	grep -v '^ok' /tmp/fs-ptrace.out | indent
	note "tracer: $(grep -c '^ok' /tmp/fs-ptrace.out) checks passed"
	sleep 1
	nestckptctl status $pid | grep -q "^pid $pid: frozen" || fail "not frozen after the tracer detached"
	$check $pid $cap >/tmp/fs-check3.out 2>&1 ||
		fail "module reads after the tracer detached differ ($(grep -c '^not ok' /tmp/fs-check3.out) check(s))"
	# Stopped, as CRIU's seize leaves it: reads still work and still
	# match; thaw works on stopped threads and finishes when they go on.
	kill -STOP $pid
	sleep 1
	grep -q '^State:.*stopped' /proc/$pid/status || fail "SIGSTOP did not stop the VMM"
	$check $pid $cap >/tmp/fs-check2.out 2>&1 ||
		{ fail "module reads of the stopped VMM differ ($(grep -c '^not ok' /tmp/fs-check2.out) check(s))"; indent </tmp/fs-check2.out; }
	note "stopped VMM: $(grep -c '^ok' /tmp/fs-check2.out) checks passed again"
	o=$(nestckptctl thaw $pid 2>&1) || fail "thaw of the stopped VMM: $o"
	kill -CONT $pid
	o=$(nestckptctl freeze $pid 2>&1) || fail "freeze after a stopped thaw: $o"
	nestckptctl thaw $pid >/dev/null || fail "thaw failed"
	n=0
	while [ $n -lt $sleep_cycles ]; do
		o=$(nestckptctl freeze $pid 2>&1) || { fail "sleeping cycle $n: freeze: $o"; break; }
		nestckptctl thaw $pid >/dev/null || { fail "sleeping cycle $n: thaw failed"; break; }
		n=$((n + 1))
	done
	note "$n freeze/thaw cycles of the held (sleeping) vCPU threads"
else
	fail "freeze of a capture-held VMM: $out_f"
fi

kill -HUP $pid	# release the vCPUs
# Let the guests run on a while (L2 counting again) before the verdict.
a=$(stat_of $st vcpu0.l2_count)
i=0
while [ "$(stat_of $st vcpu0.l2_count)" = "$a" ] && [ $i -lt $wait_s ]; do
	sleep 1
	i=$((i + 1))
done
sleep 3
kill -TERM $pid
wait $pid
rc=$?
grep -E 'FAIL|PASSED|nestvmm:' $out | indent
[ $rc -eq 0 ] || fail "nestvmm's verdict after the frozen comparison: exit $rc"
grep -q 'released, 0 held sleep(s) returned EINTR' $out ||
	fail "held sleeps were not given back untouched"
[ $failures -eq 0 ]
