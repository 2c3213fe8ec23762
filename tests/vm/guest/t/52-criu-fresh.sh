#!/bin/sh
# 52-criu-fresh: criu restore in a fresh boot of the same kernel, the images
# carried over on a virtual disk (tests/vm/run.sh --disk FILE, booted twice;
# /dev/vda under QEMU, /dev/sda under Bochs;
# tests/run-all.sh does it).  First boot: start the 4-vCPU nested test VMM,
# let it run, criu dump it, write the images, its stats and its output file
# to the disk.  Second boot (the disk starts with the marker): restore; every
# guest counter continues from where it stood at the dump, nothing fails,
# and nestvmm's verdict at the end passes.  Without a disk: skipped.
. /opt/nestckpt/lib/common.sh
. /opt/nestckpt/lib/criu.sh

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
	printf '%s\n' $marker | dd of=$disk bs=512 conv=sync 2>/dev/null
	tar cf - $img $st $out | dd of=$disk bs=512 seek=1 conv=notrunc 2>/dev/null ||
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
[ $failures -eq 0 ]
