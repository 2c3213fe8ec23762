#!/bin/sh
# 50-criu: stock criu with nestckpt_plugin.so dumps and restores the 4-vCPU
# nested test VMM (vCPU 0 in L2, vCPU 1 in L2 taking L1-injected interrupts,
# vCPU 2 in L1 with nesting on, vCPU 3 plain), with nothing but
# "criu dump -t PID" and "criu restore".
#  1. dump, then restore in the same boot: every guest counter continues from
#     where it stood (not from zero, not from a later value), and moves on;
#  2. criu dump --leave-running: the VMM keeps running, counters move on;
#  3. a dump into a directory that fills up fails and leaves the VMM running;
#  4. NC_CRIU_CYCLES (QEMU 10, Bochs 5) more restore/run/dump cycles;
#  5. a restore from a corrupted vCPU component fails before any process is
#     created, naming the cause; so does a restore on a host without nested
#     virtualization (kvm_amd/kvm_intel reloaded with nested=0);
#  6. the last restore runs on, and nestvmm's own verdict at the end covers
#     the whole life of the VMM across all of it: L1 saw only the exits L2
#     caused, register patterns held, no PIO/MMIO lost or doubled, every
#     injected interrupt arrived;
#  7. a VMM without an in-kernel irqchip (userspace LAPIC: KVM refuses
#     MSR_KVM_ASYNC_PF_INT writes there) dumps and restores, and runs on to
#     a passing verdict.
# Every image dumped here passes "nestckptctl compat" on this, its own host.
# With NC_CRIU_IMAGES=DIR the last images are left in DIR (fresh-boot test);
# with NC_CRIU=PROGRAM that criu runs instead of the one in the PATH.
#
# Exit: 0 pass, 77 skip, anything else fail.  Diagnostics start with "# ".
. /opt/nestckpt/lib/common.sh
. /opt/nestckpt/lib/criu.sh

[ -c /dev/kvm ] || { note "no /dev/kvm"; exit 77; }
nestckpt_loaded || exit 1
command -v "$CRIU" >/dev/null || { fail "no $CRIU in the guest"; exit 1; }

# Cycle counts are traded for the suite's time budget (75 min on 2 cores).
if [ "${NC_EMU:-qemu}" = bochs ]; then
	cycles=${NC_CRIU_CYCLES:-5} start_wait=180 settle=4
else
	cycles=${NC_CRIU_CYCLES:-10} start_wait=60 settle=2
fi
img=/tmp/cr-img st=/tmp/cr-mix.stats out=/tmp/cr-mix.out

# own_host_compat: the image just dumped passes this host's own check.
own_host_compat() {
	c=$(nestckptctl compat "$img" 2>&1) || { fail "this host refuses its own image:"; echo "$c" | indent; }
}

rm -f "$st" "$out"
# Its own session, no terminal: what criu dumps without --shell-job.
setsid nestvmm --stats "$st" --vcpu l2 --vcpu l2+irq --vcpu l1 --vcpu plain \
	</dev/null >"$out" 2>&1 &
pid=$!
vmm_ready "$st" $pid $start_wait || { fail "nestvmm did not get ready"; indent <"$out"; exit 1; }
sleep $settle
note "nestvmm pid $pid running: $(counters $st)"

# vm_tables: the VM state no ioctl returns, as the module reads it.
vm_tables() {
	nestckptctl status "$pid" | grep -E 'memslot|irqfd|ioeventfd|coalesced|enabled cap|gsi routes' |
		sed 's/^ *//'
}

# 1. dump and restore, same boot.
tables_before=$(vm_tables)
[ "$(echo "$tables_before" | grep -c -E '^(ioeventfd|coalesced|irqfd|memslot)')" -ge 7 ] ||
	fail "before the dump: not the memslot, irqfd, 3 ioeventfds and 2 zones: $tables_before"
before=$(counters $st)
if ! dump; then
	fail "criu dump failed"
	show_log "$img/dump.log"
	kill -KILL $pid
	exit 1
fi
wait $pid 2>/dev/null	# reap it: the restore needs its pid free
alive && fail "the VMM still runs after criu dump"
grep -q "nestckpt: froze VMM $pid" "$img/dump.log" || fail "the plugin did not freeze the VMM"
grep "nestckpt:" "$img/dump.log" | indent
own_host_compat
ls -l "$img" | grep nestckpt | indent
# The plugin's phases, as a script reads them (issue 17): all there, 4 vCPUs.
plugin_times dump "$img/nestckpt-stats-dump.json" freeze status capture.vcpus capture.vm \
	encode prove write-image shared-pages write-file-refs thaw
grep -q '"vcpus": 4,' "$img/nestckpt-stats-dump.json" || fail "dump stats: not 4 vCPUs"
frozen=$(counters $st)
not_below "$before" "$frozen" || fail "counters went back before the dump: $before -> $frozen"
nestckptctl inspect "$img" 2>&1 | head -n 20 | indent
restore
if ! wait_moved "$frozen"; then
	fail "restored VMM does not run: $frozen -> $(counters $st)"
	show_log "$img/restore.log"
	kill -KILL $pid 2>/dev/null
	exit 1
fi
after=$(counters $st)
note "restored: $frozen -> $after"
plugin_times restore "$img/nestckpt-stats-restore-$pid.json" read-and-check-images \
	create-and-replay shared-pages bind-eventfds
grep "nestckpt:" "$img/restore.log" | indent
[ -z "$(checks $st)" ] || fail "after the restore: $(checks $st)"
grep -q 'anon_inode:kvm-vcpu' /proc/$pid/maps || fail "restored VMM does not map its vCPUs from KVM"
# Memslots, irqfd and ioeventfds (bound to the restored eventfds, by the
# same fd numbers), coalesced zones, routing, enabled caps: as before.
tables_after=$(vm_tables)
if [ "$tables_after" = "$tables_before" ]; then
	note "VM tables as before the dump ($(echo "$tables_after" | wc -l) lines):"
	echo "$tables_after" | indent
else
	fail "VM tables differ after the restore"
	echo "$tables_before" | indent
	echo "---" | indent
	echo "$tables_after" | indent
fi

# 2. --leave-running: the VMM keeps running.
a=$(counters $st)
dump --leave-running || { fail "criu dump --leave-running failed"; show_log "$img/dump.log"; }
alive || fail "--leave-running: the VMM is gone"
wait_moved "$a" || fail "--leave-running: the VMM does not run on"
grep -q 'anon_inode:kvm-vcpu' /proc/$pid/maps || fail "--leave-running: vCPU mappings not back to KVM's"

# 3. A dump into a directory that fills up fails; the VMM runs on.
mkdir -p /tmp/cr-full
mount -t tmpfs -o size=256k tmpfs /tmp/cr-full
a=$(counters $st)
if $CRIU dump -t "$pid" -D /tmp/cr-full -v4 -o /tmp/cr-full-dump.log 2>/dev/null; then
	fail "a dump into a 256 KiB directory succeeded"
fi
alive || fail "failed dump: the VMM is gone"
wait_moved "$a" || fail "failed dump: the VMM does not run on"
grep -E 'Error|nestckpt:' /tmp/cr-full-dump.log | tail -n 5 | indent
umount /tmp/cr-full

# 4. Restore, run, dump again, $cycles times.
n=0
while [ $n -lt $cycles ]; do
	a=$(counters $st)
	dump || { fail "cycle $n: dump failed"; show_log "$img/dump.log"; break; }
	own_host_compat
	wait $crpid 2>/dev/null
	b=$(counters $st)
	not_below "$a" "$b" || { fail "cycle $n: counters went back: $a -> $b"; break; }
	restore
	wait_moved "$b" || { fail "cycle $n: restored VMM does not run"; show_log "$img/restore.log"; break; }
	[ -z "$(checks $st)" ] || { fail "cycle $n: $(checks $st)"; break; }
	n=$((n + 1))
done
note "$n dump/restore cycles; now: $(counters $st)"

# 5. Restores that must fail, leaving no process.
dump || fail "dump for the failure tests failed"
wait $crpid 2>/dev/null
cp -a "$img" /tmp/cr-good
# 5a. one byte of a vCPU component flipped.
kimg=$(ls "$img"/nestckpt-kvm-*.img)
off=$(nestckptctl inspect "$img" 2>/dev/null |
	sed -n 's/.*components\.vm0\/vcpu1: vcpu at \([0-9]*\),.*/\1/p')
[ -n "$off" ] || fail "no offset of vm0/vcpu1 in the image"
printf '\377' | dd of="$kimg" bs=1 seek=$((${off:-0} + 40)) conv=notrunc 2>/dev/null
if $CRIU restore -D "$img" -v4 -o restore-bad.log -d; then
	fail "restore of a corrupted image succeeded"
fi
alive && { fail "corrupted image: a VMM process runs"; kill -KILL $pid; }
grep -E 'nestckpt:.*(checksum|vcpu)' "$img/restore-bad.log" | head -n 3 | indent
grep -q -E "nestckpt:.*vm0/vcpu1.*checksum" "$img/restore-bad.log" ||
	fail "corrupted image: vm0/vcpu1's checksum not named"
[ -e "$img/restore-bad.log" ] && ! grep -q 'Forking task' "$img/restore-bad.log" ||
	fail "corrupted image: criu created a task before refusing"
# 5b. a host without nested virtualization.
vmod=kvm_amd
[ -d /sys/module/kvm_intel ] && vmod=kvm_intel
vko=$(grep -E "/kvm-(amd|intel)\.ko" /etc/nc-modules | awk '{print $1}')
rm -rf "$img" && cp -a /tmp/cr-good "$img"
if rmmod $vmod && insmod "$vko" nested=0; then
	if $CRIU restore -D "$img" -v4 -o restore-nonested.log -d; then
		fail "restore on a host without nesting succeeded"
	fi
	alive && { fail "no nesting: a VMM process runs"; kill -KILL $pid; }
	grep -E 'nestckpt:' "$img/restore-nonested.log" | head -n 4 | indent
	grep -q 'nestckpt: .*missing' "$img/restore-nonested.log" || fail "no nesting: cause not named"
	rmmod $vmod && insmod "$vko" nested=1 || fail "cannot reload $vmod with nested=1"
else
	fail "cannot reload $vmod with nested=0"
fi

# 6. The last restore runs on; nestvmm's verdict covers everything.
rm -rf "$img" && cp -a /tmp/cr-good "$img"
a=$(counters $st)
restore
wait_moved "$a" || fail "final restore does not run"
sleep $settle
kill -TERM $pid
wait $crpid
rc=$?
note "nestvmm (restored $((n + 2)) times) exit $rc"
grep -E 'FAIL|PASSED|FAILED|nestvmm:' "$out" | indent
grep -E '^vcpu[01]\.(l2_count|l2_hypercalls|l1_exits|unexpected|missed|pattern|irq_|pio |mmio |kvm_eintr)' "$st" | indent
[ $rc -eq 0 ] || fail "nestvmm's verdict after the checkpoints: exit $rc"
if [ -n "$NC_CRIU_IMAGES" ]; then
	rm -rf "$NC_CRIU_IMAGES" && cp -a /tmp/cr-good "$NC_CRIU_IMAGES"
fi

# 7. No in-kernel irqchip: the VMM emulates the LAPIC itself.
img=/tmp/cr-img-noirq st=/tmp/cr-noirq.stats out=/tmp/cr-noirq.out
rm -f "$st" "$out"
# The same four counters as above (counters() reads vcpu0-3).
setsid nestvmm --no-irqchip --stats "$st" --vcpu l2 --vcpu l2 --vcpu l1 --vcpu plain \
	</dev/null >"$out" 2>&1 &
pid=$!
if vmm_ready "$st" $pid $start_wait; then
	sleep $settle
	before=$(counters $st)
	if dump; then
		wait $pid 2>/dev/null
		grep "nestckpt:" "$img/dump.log" | indent
		own_host_compat
		nestckptctl inspect "$img" 2>&1 | grep -E 'irqchip|lapic|cpuid' | head -n 6 | indent
		frozen=$(counters $st)
		restore
		if wait_moved "$frozen"; then
			note "no irqchip: restored: $frozen -> $(counters $st)"
			grep "nestckpt:" "$img/restore.log" | indent
			[ -z "$(checks $st)" ] || fail "no irqchip, after the restore: $(checks $st)"
			sleep $settle
			kill -TERM $pid
			wait $crpid
			rc=$?
			grep -E 'FAIL|PASSED|FAILED|nestvmm:' "$out" | indent
			[ $rc -eq 0 ] || fail "no irqchip: nestvmm's verdict after the restore: exit $rc"
		else
			fail "no irqchip: restored VMM does not run: $frozen -> $(counters $st)"
			show_log "$img/restore.log"
			kill -KILL $pid 2>/dev/null
		fi
	else
		fail "no irqchip: criu dump failed"
		show_log "$img/dump.log"
		kill -KILL $pid
	fi
else
	fail "no irqchip: nestvmm did not get ready"
	indent <"$out"
	kill -KILL $pid 2>/dev/null
fi

[ $failures -eq 0 ]
