#!/usr/bin/env bash
# The demonstration, from a fresh Debian 12 machine as root: install what is
# needed, build everything, build nestckpt.ko with DKMS for Debian's stock 6.1
# kernel, boot that kernel under QEMU (nested SVM), load the module, check the
# host with nestckptctl, and run the nested test VMM: an L1 hypervisor whose
# L2 guest counts, while the VMM's counters are shown from outside.
#   bash tests/demo.sh [--vmx]     (--vmx: the same under Bochs with nested VMX; minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/vm/common.sh

emu=qemu
[ "${1:-}" = --vmx ] && emu=bochs

if [ "${NC_SKIP_DEPS:-0}" != 1 ]; then
	echo "== installing dependencies (apt-get)"
	mkdir -p "$NC_BUILD"
	tests/install-deps.sh >"$NC_BUILD/demo-install.log" 2>&1 ||
		{ tail -n 30 "$NC_BUILD/demo-install.log" >&2; exit 1; }
fi
echo "== building userspace"
make -s userspace
kver=$(nc_resolve_kver 6.1)
echo "== building nestckpt.ko for $kver with DKMS"
ko=$(nc_dkms_build "$kver" 2>"$NC_BUILD/demo-dkms.log") ||
	{ cat "$NC_BUILD/demo-dkms.log" >&2; exit 1; }
echo "== booting stock $kver under $emu; the guest's console follows"
exec tests/vm/run.sh --emu "$emu" --kernel "$kver" --ko "$ko" --demo --verbose
