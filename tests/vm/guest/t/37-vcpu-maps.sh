#!/bin/sh
# 37-vcpu-maps: the VMM's vCPU mappings served through /dev/nestckpt, which
# is how stock CRIU dumps and restores them. test_vcpu_maps maps a vCPU
# through /dev/nestckpt and checks it is the vCPU's own mapping (bytes
# written through one are read through KVM's), from a read-only fd as
# CRIU's restorer may hold, each refusal's errno, and FREEZE_MAPS freezes of
# child VMMs: swapped to /dev/nestckpt with the same bytes, swapped back on
# thaw, and refused (nothing left frozen) for a private mapping.
#
# Exit: 0 pass, 77 skip, anything else fail.  Diagnostics start with "# ".
. /opt/nestckpt/lib/common.sh

[ -c /dev/kvm ] || { note "no /dev/kvm"; exit 77; }
nestckpt_loaded || exit 1

t=/opt/nestckpt/tests/unit/test_vcpu_maps
[ -x $t ] || { fail "test_vcpu_maps not shipped in the guest"; exit 1; }
if out=$($t self 2>&1); then
	note "test_vcpu_maps: $(echo "$out" | grep -c '^ok') checks passed"
else
	fail "test_vcpu_maps failed"
	echo "$out" | indent
fi
echo "$out" | grep -q '^ok' || fail "test_vcpu_maps ran no check"
[ $failures -eq 0 ]
