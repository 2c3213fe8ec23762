#!/bin/sh
# 52-criu-fresh: criu restore in a fresh boot of the same kernel, the images
# carried over on a virtual disk (tests/vm/run.sh --disk FILE, booted twice;
# /dev/vda under QEMU, /dev/sda under Bochs;
# tests/run-all.sh does it).  First boot: start the 4-vCPU nested test VMM,
# let it run, criu dump it, write the images, its stats and its output file
# to the disk.  Second boot (the disk starts with the marker): restore; every
# guest counter continues from where it stood at the dump, nothing fails,
# and nestvmm's verdict at the end passes.  Where QEMU is in the boot
# (nested SVM, tests/vm/run.sh ships it), the same for Debian's QEMU 7.2
# running the nested-svm guest of tests/qemu-guests: dumped after nestvmm in
# the first boot; in the second, restored after nestvmm's verdict: L2's
# counter goes on from the dump, no guest failure, the monitor answers.
# Without a disk: skipped.
. /opt/nestckpt/lib/common.sh
. /opt/nestckpt/lib/criu.sh
. /opt/nestckpt/lib/qemu.sh

grep -q 'nc\.disk=1' /proc/cmdline || { note "no disk (tests/vm/run.sh --disk FILE)"; exit 77; }
# virtio under QEMU, IDE under Bochs (whose disk may take a while to appear).
disk=
i=0
while [ -z "$disk" ] && [ $i -lt 60 ]; do
	for d in /dev/vda /dev/sda; do [ -b $d ] && disk=$d; done
	[ -n "$disk" ] || sleep 1
	i=$((i + 1))
done
[ -n "$disk" ] || { fail "nc.disk=1 but no /dev/vda or /dev/sda"; exit 1; }
nestckpt_loaded || exit 1
if [ "${NC_EMU:-qemu}" = bochs ]; then
	start_wait=180 settle=4
else
	start_wait=60 settle=3
fi
img=/tmp/cr-img st=/tmp/fresh.stats out=/tmp/fresh.out
marker=nestckpt-fresh-images
# QEMU's serial log, its image and its count at the dump.
qd=/tmp/qemu-fresh
qimg=$qd/img qat=$qd/at-dump

# qemu_dump: QEMU with the nested-svm guest, counting, dumped into $qimg.
qemu_dump() {
	qemu_start nested-svm $qd
	wait_reports 2 $start_wait || { fail "QEMU: no 2 counter reports: $(tail -n 3 $qd/qemu.out)"; return 1; }
	mkdir -p $qimg
	if ! $CRIU dump -t $pid -D $qimg -v4 -o dump.log; then
		fail "criu dump of QEMU: $(criu_error $qimg/dump.log)"
		stop_qemu
		return 1
	fi
	wait $pid 2>/dev/null
	last_count >$qat
	note "QEMU (pid $pid) dumped at $(reports | tail -n 1)"
}

# qemu_restore: QEMU from $qimg, its guest counting on from $qat.
qemu_restore() {
	pid=$(ls $qimg | sed -n 's/^nestckpt-kvm-\([0-9]*\)\.img$/\1/p')
	log=$qd/serial.log sock=$qd/monitor.sock
	at=$(cat $qat) pre=$(counts) seg=$(($(log_lines) + 1))
	if ! $CRIU restore -D $qimg -d -v4 -o restore.log; then
		fail "criu restore of QEMU: $(criu_error $qimg/restore.log)"
		show_log $qimg/restore.log
		return 1
	fi
	grep 'nestckpt:' $qimg/restore.log | indent
	if ! wait_reports $((pre + 2)) $start_wait; then
		fail "restored QEMU: no new counter report (at the dump: $at)$(guest_failed | sed 's/^/; /')"
	else
		first=$(reports $seg | head -n 1 | cut -d' ' -f2)
		note "QEMU restored in a fresh boot: L2 count $at at the dump, then $first, $(last_count)"
		[ "$first" -gt "$at" ] && [ "$(last_count)" -gt "$first" ] ||
			fail "restored QEMU: L2 count $at at the dump, then $first, $(last_count)"
		[ "$(grep -c '^NC-GUEST-START' $log)" = 1 ] || fail "QEMU's guest started again"
	fi
	monitor_running || fail "restored QEMU's monitor: $(monitor_status)"
	[ -z "$(guest_failed)" ] || fail "QEMU's guest: $(guest_failed)"
	stop_qemu
}

if [ "$(dd if=$disk bs=512 count=1 2>/dev/null | head -c ${#marker})" != $marker ]; then
	note "first boot: dump"
	setsid nestvmm --stats "$st" --vcpu l2 --vcpu l2+irq --vcpu l1 --vcpu plain \
		</dev/null >"$out" 2>&1 &
	pid=$!
	vmm_ready "$st" $pid $start_wait || { fail "nestvmm did not get ready"; exit 1; }
	sleep $settle
	mkdir -p $img
	$CRIU dump -t $pid -D $img -v4 -o dump.log || { fail "criu dump"; grep Error $img/dump.log | indent; exit 1; }
	grep 'nestckpt:' $img/dump.log | indent
	note "at the dump: $(counters $st)"
	qfiles=
	if qemu_present; then
		qemu_dump || exit 1
		# What QEMU has open (criu reopens them by path) and its image.
		qfiles="$qd/serial.log $qd/qemu.out $qimg $qat"
	fi
	printf '%s\n' $marker | dd of=$disk bs=512 conv=sync 2>/dev/null
	# nestvmm writes its stats to $st.tmp and renames it: dumped between
	# the two, it holds $st.tmp open, and criu reopens it by path.
	tar cf - $img $st $(ls $st.tmp 2>/dev/null) $out $qfiles | dd of=$disk bs=512 seek=1 conv=notrunc 2>/dev/null ||
		fail "writing the disk"
	sync
	[ $failures -eq 0 ]
	exit
fi

note "second boot: restore from the disk"
dd if=$disk bs=512 skip=1 2>/dev/null | tar xf - -C / || { fail "reading the disk"; exit 1; }
ls -l $img | grep nestckpt | indent
at_dump=$(counters $st)
note "at the dump: $at_dump (uptime now $(cut -d' ' -f1 /proc/uptime) s)"
$CRIU restore -D $img -v4 -o restore.log &
crpid=$!
pid=$(ls $img | sed -n 's/^nestckpt-kvm-\([0-9]*\)\.img$/\1/p')
if ! wait_moved "$at_dump"; then
	fail "restored VMM does not run: $at_dump -> $(counters $st)"
	grep -E 'Error|nestckpt:' $img/restore.log | indent
	kill -KILL $pid 2>/dev/null
	exit 1
fi
grep 'nestckpt:' $img/restore.log | indent
sleep $settle
now=$(counters $st)
note "restored in a fresh boot: $at_dump -> $now"
[ -z "$(checks $st)" ] || fail "after the restore: $(checks $st)"
kill -TERM $pid
wait $crpid
rc=$?
grep -E 'FAIL|PASSED|FAILED' "$out" | indent
[ $rc -eq 0 ] || fail "nestvmm's verdict after the restore in a fresh boot: exit $rc"
[ -d $qimg ] && qemu_restore
[ $failures -eq 0 ]
