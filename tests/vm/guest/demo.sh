#!/bin/sh
# The demonstration, inside the stock kernel: load nestckpt.ko, check the
# host, run the nested test VMM with an L1 hypervisor running an L2,
# checkpoint it with "criu dump", restore it with "criu restore", and show
# from outside (its stats file) that L2's counter continues from where it
# was and that L1 never saw an exit it did not cause.
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
# Its own session and no terminal, so that criu needs no --shell-job.
setsid nestvmm --vcpu l2+irq --vcpu l1 --vcpu plain --stats /tmp/demo.stats \
	</dev/null >/tmp/demo.out 2>&1 &
pid=$!
secs=5
[ "$NC_EMU" = bochs ] && secs=20
i=0
while [ $i -lt 120 ] && ! grep -q '^vcpu0.state running' /tmp/demo.stats 2>/dev/null; do
	sleep 1
	i=$((i + 1))
done
show() { # LABEL
	snap
	say "$1  L2 count $(stat vcpu0.l2_count)  L2 hypercalls $(stat vcpu0.l2_hypercalls)" \
		"L1 saw $(stat vcpu0.l1_exits) exits ($(stat vcpu0.unexpected_exits) unexpected," \
		"$(stat vcpu0.missed_exits) missed)  irqs injected/received" \
		"$(stat vcpu0.irq_injected)/$(stat vcpu0.irq_received)  PIO $(stat vcpu0.pio)" \
		"MMIO $(stat vcpu0.mmio)"
}
watch() { # SECONDS
	j=0
	while [ $j -lt "$1" ]; do
		sleep 1
		j=$((j + 1))
		show "t=${j}s"
	done
}
watch $secs
snap
first=$(stat vcpu0.l2_count)

mkdir -p /tmp/demo-img
say "criu dump -t $pid -D /tmp/demo-img   (the nestckpt plugin freezes the VMM first)"
if ! criu dump -t $pid -D /tmp/demo-img -o dump.log; then
	grep -E 'Error|nestckpt' /tmp/demo-img/dump.log | sed 's/^/demo: criu: /'
	say "FAILED: criu dump"
	exit 1
fi
grep 'nestckpt:' /tmp/demo-img/dump.log | sed 's/^.*nestckpt:/demo: plugin:/'
kill -0 $pid 2>/dev/null && { say "FAILED: the VMM still runs after the dump"; exit 1; }
show "dumped, VMM $pid is gone; its last stats:"
at_dump=$(stat vcpu0.l2_count) exits_at_dump=$(stat vcpu0.l1_exits)
ls -l /tmp/demo-img | grep nestckpt | sed 's/^/demo: image: /'
nestckptctl inspect /tmp/demo-img | grep -E 'note|vendor|vcpus' | sed 's/^/demo: inspect: /'

say "criu restore -D /tmp/demo-img"
criu restore -D /tmp/demo-img -o restore.log &
crpid=$!
i=0
while [ $i -lt 120 ]; do
	sleep 1
	i=$((i + 1))
	snap
	[ "$(stat vcpu0.l2_count)" -gt "$at_dump" ] 2>/dev/null && break
done
grep 'nestckpt:' /tmp/demo-img/restore.log | sed 's/^.*nestckpt:/demo: plugin:/'
watch $secs
snap
last=$(stat vcpu0.l2_count)
kill -TERM $pid
wait $crpid
rc=$?
if [ $rc = 0 ] && [ -n "$first" ] && [ -n "$last" ] && [ "$last" -gt "$at_dump" ] &&
   [ "$at_dump" -ge "$first" ]; then
	grep -E 'PASSED|FAILED|FAIL' /tmp/demo.out | sed 's/^/demo: /'
	say "L2 counted from $first to $at_dump before the dump and from there on to $last after the restore;"
	say "L1 had seen $exits_at_dump exits at the dump and no unexpected or missed one, before or after;"
	say "every check of the VMM passed"
	rmmod nestckpt
	exit 0
fi
sed 's/^/demo: nestvmm: /' /tmp/demo.out
say "FAILED: nestvmm exit $rc, L2 count $first -> $at_dump (dump) -> $last"
exit 1
