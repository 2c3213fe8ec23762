#!/bin/sh
# 30-capture: nestvmm --capture on this machine's KVM. An L2 vCPU and an L1
# vCPU run; SIGHUP makes every vCPU save its KVM state and hold; the files
# must all be there (nested state in guest mode for the L2 vCPU), the vCPUs
# must not run while held, and after the releasing SIGHUP nestvmm must run on
# and pass its own verdict (held time not counted).
# With NC_CAPTURE_DUMP=1 the capture directory is printed as base64 of a
# tar.gz between NC-CAPTURE-BEGIN and NC-CAPTURE-END (tests/fixtures/capture.sh).
# Environment: NC_VENDOR, NC_EMU, NC_CAPTURE_DUMP. Exit: 0 pass, 77 skip.

. /opt/nestckpt/lib/common.sh
. /opt/nestckpt/lib/capture.sh

[ -c /dev/kvm ] || { note "no /dev/kvm"; exit 77; }
if [ "${NC_EMU:-qemu}" = bochs ]; then
	dur=300 gap=3 wait_max=300
else
	dur=60 gap=1 wait_max=60
fi
out=/tmp/capture.out
capture_start /tmp/capture "$dur" "$out"
capture_take
note "done after $tries capture(s): $(cat "$cap/done" 2>/dev/null)"
grep -q 'errors 0$' "$cap/done" || fail "capture reported errors: $(cat "$cap/done")"

items="regs sregs xsave xcrs msrs lapic events debugregs mp_state cpuid tsc_khz nested"
for v in 0 1; do
	for f in $items; do
		[ -s "$cap/vcpu$v/$f.bin" ] || fail "vcpu$v/$f.bin missing or empty"
	done
done
for f in clock pic_master pic_slave ioapic pit2; do
	[ -s "$cap/vm/$f.bin" ] || fail "vm/$f.bin missing or empty"
done
case $NC_VENDOR in
svm) [ -s "$cap/vm/svm_cpuid.bin" ] || fail "vm/svm_cpuid.bin missing" ;;
vmx) [ -s "$cap/vm/vmx_cap_msrs.bin" ] || fail "vm/vmx_cap_msrs.bin missing" ;;
esac
# kvm_nested_state: flags (u16), format (u16), size (u32); vcpu0 runs L2.
hdr=$(od -A n -t u2 -N 4 "$cap/vcpu0/nested.bin" | tr -s ' ')
note "vcpu0 nested: flags,format =$hdr; size $(wc -c <"$cap/vcpu0/nested.bin")"
[ $((${flags:-0} & 1)) = 1 ] || fail "vcpu0 nested state is not in guest mode (flags $flags)"
ls -l "$cap"/vcpu0 "$cap"/vm | sed 's/^/#   /'

# Held: L2's counter does not move.
a=$(stat_of "$st" vcpu0.l2_count)
sleep $gap
b=$(stat_of "$st" vcpu0.l2_count)
note "held: l2_count $a -> $b over ${gap}s"
[ -n "$a" ] && [ "$a" = "$b" ] || fail "vCPU ran while held ($a -> $b)"

if [ "${NC_CAPTURE_DUMP:-0}" = 1 ]; then
	echo NC-CAPTURE-BEGIN
	tar czf - -C "$cap" . | base64
	echo NC-CAPTURE-END
fi

kill -HUP $pid
sleep $gap
c=$(stat_of "$st" vcpu0.l2_count)
note "released: l2_count $b -> $c"
[ -n "$c" ] && [ "$c" -gt "$b" ] 2>/dev/null || fail "L2 did not run on after the release ($b -> $c)"
kill -TERM $pid
wait $pid
rc=$?
grep -E 'capture|PASSED|FAILED' "$out" | sed 's/^/#   /'
[ $rc = 0 ] || { fail "nestvmm exited $rc"; tail -n 20 "$out" | sed 's/^/#   /'; }

[ $failures -eq 0 ] || { note "$failures failure(s)"; exit 1; }
exit 0
