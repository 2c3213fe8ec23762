#!/bin/sh
# 54-criu-prove: before a dump is final the plugin replays the image into a
# scratch VM in criu's process with the restore's own code, and a refusal
# fails the dump, naming the item, with the VMM left running (issue 14, "a
# dump that cannot be restored never kills the VMM"). NESTCKPT_FAULT in
# criu's environment breaks that replay the way the restore was once broken
# (issue 14, findings 1-4); for each, criu dump must fail, its log must name
# the item, and the VMM must still run and count:
#   mce           nestvmm --qemu-msrs: MCG_CTL 0x17b without KVM_X86_SETUP_MCE;
#   msr-filter    nestvmm --qemu-msrs: the MSR filter not put back (the
#                 scratch VM is read back through the module);
#   async-pf-int  nestvmm --no-irqchip: MSR 0x4b564d06 written to a vCPU
#                 without an in-kernel LAPIC;
#   asid          QEMU 7.2 (SVM only; it shows L1 16 ASIDs where KVM
#                 suggests 8): the ASID count compared.
# Then one normal dump and restore of the --qemu-msrs VMM (proof passed, the
# restored VMM counts on). The proof's time per dump (from the plugin's log
# line) is printed next to the whole dump's wall time.
#
# Exit: 0 pass, 77 skip, anything else fail.  Diagnostics start with "# ".
. /opt/nestckpt/lib/common.sh
. /opt/nestckpt/lib/criu.sh

[ -c /dev/kvm ] || { note "no /dev/kvm"; exit 77; }
nestckpt_loaded || exit 1
command -v "$CRIU" >/dev/null || { fail "no $CRIU in the guest"; exit 1; }

if [ "${NC_EMU:-qemu}" = bochs ]; then
	start_wait=180 settle=4
else
	start_wait=60 settle=2
fi
QEMU=/usr/bin/qemu-system-x86_64
GUESTS=/opt/nestckpt/qemu-guests

# now_ms: milliseconds since boot (busybox date has no %N).
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
# proof_time LOG: the plugin's "proven on this host in N us" of a dump.
proof_time() { sed -n 's/.*nestckpt: VMM [0-9]*: proven on this host in \([0-9]*\) us.*/\1/p' "$1" | head -n 1; }

# fault_dump FAULT ITEM MOVED: criu dump of $pid with NESTCKPT_FAULT=FAULT
# must fail with ITEM named in a "nestckpt:" line of its log, and the VMM
# must run on (MOVED: a command that succeeds once it has counted further).
fault_dump() {
	d=/tmp/cr-prove-$1
	rm -rf "$d" && mkdir -p "$d"
	t0=$(now_ms)
	if env NESTCKPT_FAULT="$1" $CRIU dump -t "$pid" -D "$d" -v4 -o dump.log; then
		fail "$1: criu dump succeeded with the replay broken"
		grep 'nestckpt: ' "$d/dump.log" | sed -E 's/^\([0-9. ]+\) *//' | tail -n 4 | indent
		nestckptctl inspect "$d" 2>&1 | grep -E '^caps\.' | indent
		return
	fi
	note "$1: dump failed after $(($(now_ms) - t0)) ms, as it must:"
	grep 'nestckpt: ' "$d/dump.log" | grep -E 'refus|missing' | head -n 2 |
		sed -E 's/^\([0-9. ]+\) *//' | indent
	grep 'nestckpt: ' "$d/dump.log" | grep -q -- "$2" || fail "$1: criu's log does not name $2"
	alive || { fail "$1: the VMM is gone after the failed dump"; return; }
	$3 || fail "$1: the VMM does not count on after the failed dump"
	alive || fail "$1: the VMM died after the failed dump"
}

# --- nestvmm as QEMU sets MSR state: mce, msr-filter, then a normal cycle.
img=/tmp/cr-prove st=/tmp/cr-prove.stats out=/tmp/cr-prove.out
rm -f "$st" "$out"
setsid nestvmm --qemu-msrs --stats "$st" --vcpu l2 --vcpu l2+irq --vcpu l1+msr \
	--vcpu plain+msr </dev/null >"$out" 2>&1 &
pid=$!
vmm_ready "$st" $pid $start_wait || { fail "nestvmm did not get ready"; indent <"$out"; exit 1; }
sleep $settle
note "nestvmm --qemu-msrs pid $pid: $(counters $st)"
vmm_moved() { wait_moved "$a"; }
a=$(counters $st)
fault_dump mce 'MSR 0x17b' vmm_moved
a=$(counters $st)
fault_dump msr-filter 'MSR filter' vmm_moved
[ -z "$(checks $st)" ] || fail "after the failed dumps: $(checks $st)"

# A dump without a fault: proven, then restored; the VMM counts on.
before=$(counters $st)
t0=$(now_ms)
if dump; then
	t=$(($(now_ms) - t0))
	wait $pid 2>/dev/null
	p=$(proof_time "$img/dump.log")
	[ -n "$p" ] || fail "the dump's log has no proof line"
	note "proof: ${p:-?} us of a ${t} ms dump (4 vCPUs, nestvmm --qemu-msrs)"
	frozen=$(counters $st)
	not_below "$before" "$frozen" || fail "counters went back: $before -> $frozen"
	restore
	if wait_moved "$frozen"; then
		note "restored: $frozen -> $(counters $st)"
		[ -z "$(checks $st)" ] || fail "after the restore: $(checks $st)"
		grep -E '^vcpu[0-3]\.state failed' "$st" && fail "a vCPU failed after the restore"
	else
		fail "the restored VMM does not run"
		show_log "$img/restore.log"
	fi
	kill -TERM $pid 2>/dev/null
	wait $crpid
	rc=$?
	grep -E 'FAIL|PASSED|FAILED|nestvmm:' "$out" | indent
	[ $rc -eq 0 ] || fail "nestvmm's verdict after the restore: exit $rc"
else
	fail "criu dump without a fault failed"
	show_log "$img/dump.log"
	kill -KILL $pid 2>/dev/null
fi

# --- no in-kernel irqchip: async-pf-int.
st=/tmp/cr-prove-noirq.stats out=/tmp/cr-prove-noirq.out
rm -f "$st" "$out"
setsid nestvmm --no-irqchip --stats "$st" --vcpu l2 --vcpu l2 --vcpu l1 --vcpu plain \
	</dev/null >"$out" 2>&1 &
pid=$!
if vmm_ready "$st" $pid $start_wait; then
	sleep $settle
	a=$(counters $st)
	fault_dump async-pf-int 0x4b564d06 vmm_moved
	[ -z "$(checks $st)" ] || fail "no irqchip, after the failed dump: $(checks $st)"
else
	fail "nestvmm --no-irqchip did not get ready"
	indent <"$out"
fi
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null

# --- QEMU: asid (SVM: KVM_GET_SUPPORTED_CPUID's ASID count is what QEMU exceeds).
if [ "$NC_VENDOR" != svm ]; then
	note "asid: SVM only (VMX has no ASID count to compare)"
elif [ ! -x $QEMU ] || [ ! -f $GUESTS/plain.elf ]; then
	fail "asid: no $QEMU or guests in the guest (tests/vm/run.sh adds them when 54-criu-prove is planned)"
else
	d=/tmp/cr-prove-qemu
	rm -rf "$d" && mkdir -p "$d"
	log=$d/serial.log
	setsid $QEMU -enable-kvm -cpu host -m 64 -nodefaults -display none -no-reboot \
		-serial "file:$log" -kernel "$GUESTS/plain.elf" </dev/null >"$d/qemu.out" 2>&1 &
	pid=$!
	# qemu_count: the guest's last whole "NC-COUNT n" report.
	qemu_count() {
		_c=$(grep '^NC-COUNT ' "$log" 2>/dev/null | sed '$d' | tail -n 1 | awk '{ print $2 + 0 }')
		echo "${_c:-0}"
	}
	qemu_moved() {
		_i=0
		while [ "$(qemu_count)" -le "$a" ]; do
			_i=$((_i + 1))
			[ $_i -le 90 ] && alive || return 1
			sleep 1
		done
	}
	a=0
	if qemu_moved; then
		a=$(qemu_count)
		note "QEMU pid $pid counting: $a"
		fault_dump asid ASIDs qemu_moved
		note "QEMU after the failed dump: $(qemu_count)"
		grep -m 1 NC-GUEST-FAIL "$log" && fail "asid: the QEMU guest reports a failure"
	else
		fail "asid: QEMU does not count ($(alive && echo running || echo exited))"
		indent <"$d/qemu.out"
	fi
	kill -KILL $pid 2>/dev/null
	wait $pid 2>/dev/null
fi

[ $failures -eq 0 ]
