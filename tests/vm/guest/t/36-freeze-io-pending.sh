#!/bin/sh
# 36-freeze-io-pending: a vCPU whose I/O exit the VMM has not completed yet
# (its thread sleeps between a PIO IN exit and the next KVM_RUN, like a VMM
# pausing mid-exit) must not be frozen: KVM completes the exit only at the
# next KVM_RUN, so its state is not yet the one to checkpoint. The freeze
# must fail with EINPROGRESS, naming the cause, and leave the VMM running
# untouched; a freeze that catches the thread elsewhere must work as usual.
#
# Exit: 0 pass, 77 skip, anything else fail.  Diagnostics start with "# ".
. /opt/nestckpt/lib/common.sh

[ -c /dev/kvm ] || { note "no /dev/kvm"; exit 77; }
nestckpt_loaded || exit 1
if [ "${NC_EMU:-qemu}" = bochs ]; then wait_s=600; else wait_s=60; fi

st=/tmp/iop.stats out=/tmp/iop.out
# Every 64th count a PIO round trip, and 200 ms asleep after each IN.
nestvmm --stats $st --vcpu plain --io-every 64 --io-pause-ms 200 >$out 2>&1 &
pid=$!
vmm_ready $st $pid $wait_s || { fail "nestvmm not ready"; indent <$out; exit 1; }
sleep 1

refused=0 frozen=0 n=0
while [ $n -lt 20 ] && [ $refused -lt 3 ]; do
	n=$((n + 1))
	if o=$(nestckptctl freeze --timeout 5000 $pid 2>&1); then
		frozen=$((frozen + 1))
		nestckptctl thaw $pid >/dev/null || fail "thaw after a successful freeze"
	else
		case $o in
		*"I/O exit is not completed"*) refused=$((refused + 1)) ;;
		*) fail "freeze $n failed otherwise: $o" ;;
		esac
	fi
	# A refused freeze leaves nothing frozen behind.
	nestckptctl status $pid | grep -q '^pid [0-9]*: frozen' && fail "freeze $n left the VMM frozen"
	sleep 0.3
done
note "$n freezes: $refused refused with EINPROGRESS, $frozen frozen and thawed"
[ $refused -gt 0 ] || fail "no freeze met the pending I/O completion"
dmesg | grep -q 'an I/O exit is not completed' || fail "the kernel log does not name the cause"

p1=$(stat_of $st vcpu0.pio)
sleep 2
p2=$(stat_of $st vcpu0.pio)
[ "$p2" -gt "$p1" ] || fail "PIO round trips stopped after the refused freezes ($p1 -> $p2)"
kill -TERM $pid
wait $pid
rc=$?
grep -E 'FAIL|PASSED|pio' $out | indent
[ $rc -eq 0 ] || fail "nestvmm's verdict: exit $rc"
[ "$(stat_of $st vcpu0.pio_errors)" = 0 ] || fail "PIO errors: $(stat_of $st vcpu0.pio_errors)"
[ $failures -eq 0 ]
