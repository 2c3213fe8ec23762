#!/bin/sh
# The demonstration, inside the stock kernel: load nestckpt.ko and check the
# host; then, as a user would with the VMM they have, Debian's QEMU 7.2
# (-enable-kvm) running an L1 hypervisor whose L2 counts (the nested-svm
# guest of tests/qemu-guests): L2 counting, nestckptctl status, criu dump
# with the nestckpt plugin, criu restore, L2 counting on from where it was,
# QEMU's monitor answering. Then, briefly, the same with our own nested
# test VMM, read from outside through its stats file. Under Bochs (nested
# VMX) there is no QEMU guest yet: only the second part runs.
set -u
. /opt/nestckpt/lib/common.sh
. /opt/nestckpt/lib/criu.sh
. /opt/nestckpt/lib/qemu.sh
say() { echo "demo: $*"; }
# Read every value of a line from one copy: the VMM replaces the file 4 times a second.
stat() { sed -n "s/^$1 //p" /tmp/demo.snap 2>/dev/null; }
snap() { cp /tmp/demo.stats /tmp/demo.snap 2>/dev/null; }
plugin_lines() { grep 'nestckpt:' "$1" | sed 's/^.*nestckpt:/demo: plugin:/'; }
# demo_criu dump|restore WHY CRIU-ARGS...: criu as shown, its log in $img;
# the plugin's lines, or criu's errors and a failure.
demo_criu() {
	_op=$1 _why=$2
	shift 2
	say "$ criu $_op $* -v4 -o $_op.log   $_why"
	mkdir -p $img
	if ! criu "$_op" "$@" -v4 -o "$_op.log"; then
		grep -E 'Error|nestckpt' "$img/$_op.log" | sed 's/^/demo: criu: /'
		say "FAILED: criu $_op"
		return 1
	fi
	plugin_lines "$img/$_op.log"
}

# l2_watch SECONDS: QEMU's guest's last report each second.
l2_watch() {
	j=0
	while [ $j -lt "$1" ]; do
		sleep 1
		j=$((j + 1))
		set -- "$1" $(reports | tail -n 1)
		say "t=${j}s  L2 count $3  L1 saw $4 exits, each a VMMCALL L2 made"
	done
}

qemu_demo() {
	d=/tmp/demo-qemu
	img=$d/img
	say "--- Part 1: $($QEMU --version | head -n 1) as the VMM"
	say "its guest (nested-svm.elf) is an L1 hypervisor that runs an L2 with VMRUN; L2 counts and"
	say "calls VMMCALL every 65536 counts; L1 checks each exit and reports on the serial port"
	say "$ qemu-system-x86_64 -enable-kvm -cpu host -smp 1 -m 64 -nodefaults -display none -no-reboot \\"
	say "      -chardev file,id=ser0,path=$d/serial.log,append=on -serial chardev:ser0 \\"
	say "      -monitor unix:$d/monitor.sock,server=on,wait=off -kernel nested-svm.elf &"
	qemu_start nested-svm $d
	wait_reports 2 90 || { say "FAILED: QEMU does not run its guest"; cat $d/qemu.out; return 1; }
	l2_watch 4
	say "$ nc-hmp $d/monitor.sock 'info status'   (QEMU's human monitor):  $(monitor_status | grep 'VM status')"
	say "$ nestckptctl freeze $pid; nestckptctl status $pid; nestckptctl thaw $pid"
	nestckptctl freeze $pid | sed 's/^/demo:   /'
	nestckptctl status $pid | grep -E 'frozen|vcpu|msr filter' | sed 's/^/demo:   /'
	nestckptctl thaw $pid | sed 's/^/demo:   /'

	demo_criu dump "(the nestckpt plugin freezes QEMU's vCPUs first)" -t $pid -D $img || return 1
	wait $pid 2>/dev/null
	alive && { say "FAILED: QEMU still runs after the dump"; return 1; }
	at=$(last_count) pre=$(counts) seg=$(($(log_lines) + 1))
	say "QEMU $pid is gone; its guest's last report: L2 count $at"
	ls -l $img | grep nestckpt | sed 's/^/demo: image: /'

	demo_criu restore "(detached: criu exits, QEMU runs on)" -D $img -d || return 1
	wait_reports $((pre + 1)) 60 || { say "FAILED: the restored QEMU's guest does not report"; return 1; }
	first=$(reports $seg | head -n 1 | cut -d' ' -f2)
	say "QEMU $pid runs again; first report after the restore: L2 count $first"
	l2_watch 4
	last=$(last_count)
	mon=$(monitor_status | grep 'VM status')
	say "$ nc-hmp $d/monitor.sock 'info status':  $mon"
	stop_qemu
	if [ "$first" -gt "$at" ] && [ "$last" -gt "$first" ] && [ -n "$mon" ] && [ -z "$(guest_failed)" ]; then
		say "L2 counted to $at before the dump and on from there to $last after the restore;"
		say "L1 saw only the exits L2 made, QEMU's monitor answered before and after"
		return 0
	fi
	say "FAILED: L2 count $at at the dump, then $first, $last; monitor: '$mon'; $(guest_failed)"
	return 1
}

say "kernel $(uname -r), vendor $NC_VENDOR ($NC_EMU)"
insmod "$NC_KO" || { say "FAILED: insmod $NC_KO"; exit 1; }
say "nestckpt.ko loaded: $(ls -l /dev/nestckpt)"
nestckptctl check || { say "FAILED: nestckptctl check"; exit 1; }
if qemu_present; then
	qemu_demo || exit 1
else
	say "(no QEMU guest for nested $NC_VENDOR yet: the demonstration uses our own test VMM)"
fi

say "--- Part 2: nestvmm, our own test VMM: vCPU0 = L1 running L2 (count, L1-injected interrupts,"
say "PIO, MMIO), vCPU1 = L1 with virtualization on and no L2, vCPU2 = plain guest"
# Its own session and no terminal, so that criu needs no --shell-job.
setsid nestvmm --vcpu l2+irq --vcpu l1 --vcpu plain --stats /tmp/demo.stats \
	</dev/null >/tmp/demo.out 2>&1 &
pid=$!
secs=2
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

img=/tmp/demo-img
demo_criu dump "" -t $pid -D $img || exit 1
wait $pid 2>/dev/null # reap it: the restore needs its pid free
alive && { say "FAILED: the VMM still runs after the dump"; exit 1; }
show "dumped, VMM $pid is gone; its last stats:"
at_dump=$(stat vcpu0.l2_count) exits_at_dump=$(stat vcpu0.l1_exits)
nestckptctl inspect $img | grep -E 'note|vendor|vcpus' | sed 's/^/demo: inspect: /'

say "$ criu restore -D $img -v4 -o restore.log"
criu restore -D $img -v4 -o restore.log &
crpid=$!
i=0
while [ $i -lt 120 ]; do
	sleep 1
	i=$((i + 1))
	snap
	[ "$(stat vcpu0.l2_count)" -gt "$at_dump" ] 2>/dev/null && break
done
plugin_lines $img/restore.log
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
