#!/bin/sh
# 30-freeze: nestckptctl freeze/thaw on the 4-vCPU nested test VMM (vCPU 0 in
# L2, vCPU 1 in L2 taking L1-injected interrupts, vCPU 2 in L1 with SVM/VMX
# on and no L2, vCPU 3 plain), many cycles in a row. Each cycle: while frozen
# every guest counter stands still and status reports each vCPU's level and
# nested record; after thaw they move again. At the end nestvmm's own verdict
# must pass: L1 saw only the exits L2 caused (no spurious, none lost), every
# register pattern held, no PIO/MMIO lost or doubled, injected == received
# interrupts. Also: the module cannot be unloaded while frozen; a VMM killed
# while frozen releases its freeze; thaw of a VMM not frozen is refused; the
# VM state no ioctl returns (memslot, irqfd, routing, enabled capability,
# ioeventfds and coalesced zones read through KVM's BTF) is reported as
# nestvmm set it up, and the raw VM_STATE ABI for the BTF-read components
# holds (test_vm_state_io, running and frozen); a
# caller without capabilities or without ptrace rights over the VMM is refused.
#
# Environment: NC_EMU=qemu|bochs (cycle count), NC_FREEZE_CYCLES overrides.
# Exit: 0 pass, 77 skip, anything else fail.  Diagnostics start with "# ".
. /opt/nestckpt/lib/common.sh

[ -c /dev/kvm ] || { note "no /dev/kvm"; exit 77; }
nestckpt_loaded || exit 1

if [ "${NC_EMU:-qemu}" = bochs ]; then
	cycles=${NC_FREEZE_CYCLES:-50} start_wait=180 settle=3
else
	cycles=${NC_FREEZE_CYCLES:-300} start_wait=60 settle=1
fi

# start NAME ARGS...: run nestvmm in the background until it is ready.
start() {
	name=$1
	shift
	st=/tmp/fz-$name.stats out=/tmp/fz-$name.out
	rm -f "$st" "$out"
	nestvmm --stats "$st" "$@" >"$out" 2>&1 &
	pid=$!
	vmm_ready "$st" $pid $start_wait && return 0
	fail "$name: nestvmm did not get ready"
	cat "$out" | indent
	return 1
}

# The counters that must stand still while frozen and move otherwise.
counters() { # STATS
	echo "$(stat_of "$1" vcpu0.l2_count) $(stat_of "$1" vcpu1.l2_count)" \
		"$(stat_of "$1" vcpu2.l1_count) $(stat_of "$1" vcpu3.l1_count)"
}

start mix --vcpu l2 --vcpu l2+irq --vcpu l1 --vcpu plain || exit 1
note "mix: pid $pid, $cycles freeze/thaw cycles"

# Thaw of a VMM that is not frozen is refused with a reason.
if nestckptctl thaw $pid >/tmp/fz-thaw0.out 2>&1; then
	fail "thaw of a running VMM succeeded"
else
	grep -q "not frozen" /tmp/fz-thaw0.out || fail "thaw refusal without reason: $(cat /tmp/fz-thaw0.out)"
fi
nestckptctl status $pid | indent

# Privilege: no capability, or no ptrace rights over the VMM: refused.
su nobody -s /bin/sh -c 'exec sleep 600' &
own=$!
sleep 1
/opt/nestckpt/tests/unit/test_freeze_perm $pid $own >/tmp/fz-perm.out 2>&1 ||
	fail "privilege checks ($(grep -c '^not ok' /tmp/fz-perm.out) failed)"
indent </tmp/fz-perm.out
kill $own

# vm_state_io WHEN: NESTCKPT_IOC_VM_STATE's ioeventfd/zone components, raw.
vm_state_io() {
	/opt/nestckpt/tests/unit/test_vm_state_io $pid >/tmp/fz-vsio.out 2>&1 ||
		{ fail "$1: VM_STATE ioeventfds/zones ($(grep -c '^not ok' /tmp/fz-vsio.out) failed)"; bad=1; }
	indent </tmp/fz-vsio.out
}

# io_bindings STATUS: every idle ioeventfd and zone of nestvmm's, as it set
# them up (values, fd numbers, flags), and nothing else.
io_bindings() {
	sf=/tmp/fz-mix.stats
	for w in "ioeventfd pio $(stat_of $sf vm.ioeventfd_pio_addr) len $(stat_of $sf vm.ioeventfd_pio_len) datamatch $(stat_of $sf vm.ioeventfd_pio_datamatch) fd $(stat_of $sf vm.ioeventfd_pio_fd)" \
		 "ioeventfd mmio $(stat_of $sf vm.ioeventfd_mmio_addr) len $(stat_of $sf vm.ioeventfd_mmio_len) datamatch any fd $(stat_of $sf vm.ioeventfd_mmio_fd)" \
		 "ioeventfd mmio $(stat_of $sf vm.ioeventfd_fast_addr) len $(stat_of $sf vm.ioeventfd_fast_len) datamatch any fd $(stat_of $sf vm.ioeventfd_fast_fd)" \
		 "coalesced mmio $(stat_of $sf vm.coalesced_mmio_addr) size $(stat_of $sf vm.coalesced_mmio_size)" \
		 "coalesced pio $(stat_of $sf vm.coalesced_pio_addr) size $(stat_of $sf vm.coalesced_pio_size)"; do
		echo "$1" | grep -q "^ *$w\$" || { fail "cycle $n: not reported: $w"; bad=1; }
	done
	[ "$(echo "$1" | grep -c '^ *ioeventfd ')" = 3 ] && [ "$(echo "$1" | grep -c '^ *coalesced ')" = 2 ] ||
		{ fail "cycle $n: not 3 ioeventfds and 2 zones: $(echo "$1" | grep -E 'ioeventfd|coalesced')"; bad=1; }
}

n=0 froze_l2=0 bad=0
vm_state_io running
while [ $n -lt $cycles ]; do
	if ! out=$(nestckptctl freeze $pid 2>&1); then
		fail "cycle $n: freeze: $out"
		break
	fi
	left=$(echo "$out" | sed -n 's/.*, \([0-9]*\) taken out of L2/\1/p')
	froze_l2=$((froze_l2 + left))
	# Sample some cycles closely: status, still counters, no unload.
	if [ $n -lt 3 ] || [ $((n % 100)) -eq 0 ]; then
		s=$(nestckptctl status $pid)
		if [ $n -eq 0 ]; then
			echo "$s" | indent
			j=$(nestckptctl status --json $pid)
			echo "$j" | indent
			# The flags as KVM_IOEVENTFD takes them: PIO|DATAMATCH = 3.
			echo "$j" | grep -q "{\"fd\":$(stat_of /tmp/fz-mix.stats vm.ioeventfd_pio_fd),\"pio\":true,\"addr\":\"$(stat_of /tmp/fz-mix.stats vm.ioeventfd_pio_addr)\",\"len\":2,\"datamatch\":\"$(stat_of /tmp/fz-mix.stats vm.ioeventfd_pio_datamatch)\",\"flags\":3}" ||
				{ fail "cycle $n: JSON: PIO ioeventfd not as set up"; bad=1; }
			vm_state_io frozen
		fi
		# The VM state no ioctl returns, against what nestvmm set up itself.
		hva=$(stat_of /tmp/fz-mix.stats vm.mem_hva) size=$(stat_of /tmp/fz-mix.stats vm.mem_size)
		ifd=$(stat_of /tmp/fz-mix.stats vm.irqfd_fd) igsi=$(stat_of /tmp/fz-mix.stats vm.irqfd_gsi)
		echo "$s" | grep -q "memslot 0 flags 0 gpa 0x0 size $size hva $hva" ||
			{ fail "cycle $n: memslot 0 is not $size at $hva"; bad=1; }
		echo "$s" | grep -q "irqfd fd $ifd gsi $igsi resample fd -1" ||
			{ fail "cycle $n: irqfd fd $ifd gsi $igsi not reported"; bad=1; }
		io_bindings "$s"
		echo "$s" | grep -q "enabled cap 143 arg0 $(printf %#x "$(stat_of /tmp/fz-mix.stats vm.disabled_exits)")" ||
			{ fail "cycle $n: KVM_CAP_X86_DISABLE_EXITS not reported"; bad=1; }
		routes=$(echo "$s" | sed -n 's/.*gsi routes \([0-9]*\)/\1/p')
		[ "${routes:-0}" -ge 24 ] || { fail "cycle $n: $routes GSI routes, the irqchip's default has 24+"; bad=1; }
		echo "$s" | grep -q "frozen, 1 VM(s), 4 vCPU(s)" || { fail "cycle $n: status: $s"; bad=1; }
		echo "$s" | grep -q "vcpu 2 .*L1-nested" || { fail "cycle $n: vCPU 2 not L1 with nesting on"; bad=1; }
		echo "$s" | grep -q "vcpu 3 .*: L1 " || { fail "cycle $n: vCPU 3 not plain L1"; bad=1; }
		# An L2 vCPU may be in its L1 (serving an L2 exit) at the freeze.
		for c in 0 1; do
			echo "$s" | grep -E -q "vcpu $c .*: (L2 .*vmc[sb]12=0x|L1-nested )" ||
				{ fail "cycle $n: vCPU $c neither in L2 with a nested record nor in L1"; bad=1; }
		done
		# The stats file is rewritten every 250 ms: let a pre-freeze copy age out.
		sleep 1
		a=$(counters /tmp/fz-mix.stats)
		sleep $settle
		b=$(counters /tmp/fz-mix.stats)
		[ "$a" = "$b" ] || { fail "cycle $n: guests ran while frozen: $a -> $b"; bad=1; }
		if rmmod nestckpt 2>/dev/null; then
			fail "cycle $n: module unloaded while frozen"
			bad=1
		fi
	fi
	if ! out=$(nestckptctl thaw $pid 2>&1); then
		fail "cycle $n: thaw: $out"
		break
	fi
	[ $bad = 0 ] || break
	n=$((n + 1))
done
note "mix: $n cycles done, $froze_l2 L2 exits forced in total"
[ $froze_l2 -gt 0 ] || fail "no cycle found a vCPU in L2"

a=$(counters /tmp/fz-mix.stats)
sleep $settle
sleep $settle
b=$(counters /tmp/fz-mix.stats)
note "after thaw: $a -> $b"
set -- $a
a0=$1 a1=$2 a2=$3 a3=$4
set -- $b
[ "$1" -gt "$a0" ] && [ "$2" -gt "$a1" ] && [ "$3" -gt "$a2" ] && [ "$4" -gt "$a3" ] ||
	fail "a counter did not move after the last thaw"

kill -TERM $pid
wait $pid
rc=$?
note "mix: nestvmm exit $rc"
grep -E 'FAIL|PASSED|FAILED|nestvmm:' /tmp/fz-mix.out | indent
grep -E '^vcpu[01]\.(l2_count|l2_hypercalls|l1_exits|l1_exit\.|unexpected|missed|pattern|irq_|pio |mmio |kvm_eintr)' /tmp/fz-mix.stats | indent
[ $rc -eq 0 ] || fail "nestvmm's verdict after $n freeze/thaw cycles: exit $rc"

# A VMM killed while frozen: its freeze is released and the module unloads.
start killed --vcpu l2 || exit 1
nestckptctl freeze $pid >/dev/null || fail "killed: freeze failed"
kill -KILL $pid
wait $pid 2>/dev/null
i=0
while [ "$(cat /sys/module/nestckpt/refcnt)" != 0 ] && [ $i -lt 20 ]; do
	sleep 1
	i=$((i + 1))
done
note "killed: module refcount $(cat /sys/module/nestckpt/refcnt) after ${i}s"
if rmmod nestckpt; then
	insmod "$NC_KO" || fail "re-insmod failed"
else
	fail "killed: the module cannot be unloaded after the frozen VMM died"
fi

[ $failures -eq 0 ]
