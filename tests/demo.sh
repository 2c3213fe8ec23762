#!/usr/bin/env bash
# The demonstration, from a fresh Debian 12 machine as root: install what is
# needed, build everything, build nestckpt.ko with DKMS for Debian's stock 6.1
# kernel, boot that kernel under QEMU (nested SVM), load the module, check the
# host with nestckptctl; then, inside it, Debian's own QEMU 7.2 as the VMM
# (-enable-kvm), its guest an L1 hypervisor running an L2 that counts:
# nestckptctl status, criu dump with the nestckpt plugin, criu restore, L2
# counting on from where it was, QEMU's monitor answering
# (tests/vm/guest/demo.sh); then, briefly, the same with our own nested test
# VMM, whose counters are shown from outside.
#   bash tests/demo.sh [--vmx]     (--vmx: under Bochs with nested VMX, minutes;
#                                   our own VMM only: no nested-VMX QEMU guest yet)
# NC_SKIP_DEPS=1 skips the apt-get installs; downloads go to NC_CACHE
# (/var/cache/nestckpt).
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
