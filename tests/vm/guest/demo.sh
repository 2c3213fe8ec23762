#!/bin/sh
# The demonstration, inside the stock kernel: load nestckpt.ko, check the
# host, and run the nested test VMM with an L1 hypervisor running an L2,
# showing from outside (its stats file) that L2 keeps running and that L1
# sees only the exits it asked for.
set -u
say() { echo "demo: $*"; }
# Read every value of a line from one copy: the VMM replaces the file 4 times a second.
stat() { sed -n "s/^$1 //p" /tmp/demo.snap 2>/dev/null; }
snap() { cp /tmp/demo.stats /tmp/demo.snap 2>/dev/null; }

say "kernel $(uname -r), vendor $NC_VENDOR ($NC_EMU)"
insmod "$NC_KO" || { say "FAILED: insmod $NC_KO"; exit 1; }
say "nestckpt.ko loaded: $(ls -l /dev/nestckpt)"
nestckptctl check || { say "FAILED: nestckptctl check"; exit 1; }

say "starting nestvmm: vCPU0 = L1 running L2 (count, registers, L1-injected interrupts, PIO, MMIO),"
say "                  vCPU1 = L1 with virtualization on and no L2, vCPU2 = plain guest"
nestvmm --vcpu l2+irq --vcpu l1 --vcpu plain --stats /tmp/demo.stats >/tmp/demo.out 2>&1 &
pid=$!
secs=5
[ "$NC_EMU" = bochs ] && secs=20
i=0
while [ $i -lt 60 ] && ! grep -q '^vcpu0.state running' /tmp/demo.stats 2>/dev/null; do
	sleep 1
	i=$((i + 1))
done
snap
first=$(stat vcpu0.l2_count)
i=0
while [ $i -lt $secs ]; do
	sleep 1
	i=$((i + 1))
	snap
	say "t=${i}s  L2 count $(stat vcpu0.l2_count)  L1 saw $(stat vcpu0.l1_exits) exits" \
		"($(stat vcpu0.unexpected_exits) unexpected)  irqs injected/received" \
		"$(stat vcpu0.irq_injected)/$(stat vcpu0.irq_received)  PIO $(stat vcpu0.pio)" \
		"MMIO $(stat vcpu0.mmio)  vCPU1 count $(stat vcpu1.l1_count)  vCPU2 count $(stat vcpu2.l1_count)"
done
snap
last=$(stat vcpu0.l2_count)
kill -TERM $pid
wait $pid
rc=$?
if [ $rc = 0 ] && [ -n "$first" ] && [ -n "$last" ] && [ "$last" -gt "$first" ]; then
	grep -E 'PASSED|FAILED|FAIL' /tmp/demo.out | sed 's/^/demo: /'
	say "L2 counted from $first to $last while we watched; every check of the VMM passed"
	rmmod nestckpt
	exit 0
fi
sed 's/^/demo: nestvmm: /' /tmp/demo.out
say "FAILED: nestvmm exit $rc, L2 count $first -> $last"
exit 1
