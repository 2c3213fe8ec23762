#!/usr/bin/env bash
# Assemble the initramfs of one test-bed boot.
# usage: mkinitramfs.sh --kver KVER --kroot DIR --vendor svm|vmx --emu qemu|bochs
#                       --ko NESTCKPT_KO --plan "t1 t2 ..." [--fault NAME]
#                       [--criu4 TREE] [--qemu-vmm] --out FILE
# --criu4: the tree nc_fetch_criu4 unpacked (tests/vm/criu4.sh); the guest
# gets it as the command criu4.
# --qemu-vmm: this host's QEMU (qemu-system-x86_64, what -enable-kvm needs of
# it) and the test guests of tests/qemu-guests go in, for 60-qemu,
# 61-qemu-smp, 52-criu-fresh and the demo.
set -euo pipefail
. "$(dirname "$0")/common.sh"

kver= kroot= vendor= emu= ko= plan= fault= out= criu4= qemu_vmm=0
while [ $# -gt 0 ]; do
	case $1 in
	--kver) kver=$2 ;;
	--kroot) kroot=$2 ;;
	--vendor) vendor=$2 ;;
	--emu) emu=$2 ;;
	--ko) ko=$2 ;;
	--plan) plan=$2 ;;
	--fault) fault=$2 ;;
	--out) out=$2 ;;
	--criu4) criu4=$2 ;;
	--qemu-vmm) qemu_vmm=1; shift; continue ;;
	*) nc_die "mkinitramfs.sh: unknown option $1" ;;
	esac
	shift 2
done
for v in kver kroot vendor emu ko plan out; do
	[ -n "${!v}" ] || nc_die "mkinitramfs.sh: --$v is required"
done

root=$(mktemp -d "${TMPDIR:-/tmp}/nc-initramfs.XXXXXX")
chmod 0755 "$root" # mktemp makes it 0700; the guest's / must be searchable by all
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,run,root,var/tmp,usr/lib/criu} \
	"$root"/opt/nestckpt/{bin,t}
: >"$root/etc/nc-modules"

# busybox provides the shell and every tool the guest scripts use.
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done

# KVM with nested virtualization, then what CRIU needs (TESTBED.md).
case $vendor in
svm) nc_add_module "$root" "$kroot" "$kver" kvm-amd nested=1 ;;
vmx) nc_add_module "$root" "$kroot" "$kver" kvm-intel nested=1 ;;
*) nc_die "unknown vendor $vendor" ;;
esac
# The disk that carries checkpoint images to a fresh boot (run.sh --disk):
# virtio under QEMU, IDE under Bochs.
disk_modules="virtio_pci virtio_blk"
[ "$emu" = bochs ] && disk_modules="ata_piix sd_mod"
for m in unix_diag netlink_diag inet_diag tcp_diag udp_diag af_packet_diag; do
	nc_add_module "$root" "$kroot" "$kver" "$m"
done
# Modules that later kernels build in (nfnetlink in Debian 13's 7.x) or
# dropped (libcrc32c, folded into the crc32 library): loaded where they are
# modules; whatever the others need is still resolved by modprobe.
for m in libcrc32c nfnetlink; do
	if modprobe -d "$kroot" -S "$kver" --show-depends "$m" >/dev/null 2>&1; then
		nc_add_module "$root" "$kroot" "$kver" "$m"
	else
		nc_log "kernel $kver has no module $m (built in or gone): not loaded"
	fi
done
for m in nf_tables nf_conntrack nft_ct tun veth $disk_modules; do
	nc_add_module "$root" "$kroot" "$kver" "$m"
done

cp "$ko" "$root/opt/nestckpt/nestckpt.ko"
case $fault in
broken-module)
	# A module that cannot load: the suite must notice.
	head -c 4096 "$ko" >"$root/opt/nestckpt/nestckpt.ko"
	;;
esac

# Our binaries and CRIU, with their shared libraries.
for bin in "$NC_BUILD"/bin/*; do
	[ -x "$bin" ] && nc_copy_with_libs "$root" "$bin" "/opt/nestckpt/bin/$(basename "$bin")"
done
# Unit tests that need the live device run in the guest.
for t in test_dev_ioctl test_dev_ioctl32 test_frozen_state test_frozen_ptrace test_freeze_perm \
	 test_dev_fuzz test_kvm_op_race test_vm_state_io test_vcpu_maps test_privilege; do
	[ -x "$NC_BUILD/tests/unit/$t" ] &&
		nc_copy_with_libs "$root" "$NC_BUILD/tests/unit/$t" "/opt/nestckpt/tests/unit/$t"
done
if [ -f "$NC_BUILD/lib/nestckpt_plugin.so" ]; then
	nc_copy_with_libs "$root" "$NC_BUILD/lib/nestckpt_plugin.so" /usr/lib/criu/nestckpt_plugin.so
fi
criu_bin=$(command -v criu) || nc_die "criu is not installed (run tests/install-deps.sh)"
nc_copy_with_libs "$root" "$criu_bin" /usr/sbin/criu
if [ -n "$criu4" ]; then
	# Debian 13's criu with its own loader and libraries, apart from the
	# guest's; the plugin's own libraries come from the guest's /lib.
	mkdir -p "$root/opt/criu4/lib"
	cp "$criu4/usr/sbin/criu" "$root/opt/criu4/criu"
	find "$criu4/usr/lib/x86_64-linux-gnu" -maxdepth 1 -name '*.so*' \
		-exec cp -a {} "$root/opt/criu4/lib/" \;
	cat >"$root/usr/sbin/criu4" <<'EOF4'
#!/bin/sh
exec /opt/criu4/lib/ld-linux-x86-64.so.2 --library-path /opt/criu4/lib /opt/criu4/criu "$@"
EOF4
	chmod +x "$root/usr/sbin/criu4"
fi

if [ $qemu_vmm = 1 ]; then
	# QEMU as a VMM inside the test bed: the binary with its libraries, the
	# firmware a multiboot -kernel boot under KVM reads (SeaBIOS, the vAPIC
	# option ROM, the multiboot loader ROM), and the TCG accelerator module,
	# which QEMU 7.2 loads at start even with -enable-kvm (TESTBED.md); no
	# other module: -display none and -nodefaults need none.
	qemu_bin=$(command -v qemu-system-x86_64) || nc_die "qemu-system-x86_64 is not installed"
	nc_copy_with_libs "$root" "$qemu_bin" /usr/bin/qemu-system-x86_64
	qemu_mods=/usr/lib/x86_64-linux-gnu/qemu
	nc_copy_with_libs "$root" "$qemu_mods/accel-tcg-x86_64.so" "$qemu_mods/accel-tcg-x86_64.so"
	mkdir -p "$root/usr/share/qemu" "$root/usr/share/seabios"
	for f in /usr/share/seabios/bios-256k.bin /usr/share/qemu/kvmvapic.bin \
		/usr/share/qemu/multiboot_dma.bin; do
		[ -f "$f" ] || nc_die "QEMU firmware $f missing"
		cp -L "$f" "$root$f"
	done
	mkdir -p "$root/opt/nestckpt/qemu-guests"
	for g in plain nested-svm; do
		[ -f "$NC_BUILD/qemu-guests/$g.elf" ] ||
			nc_die "$NC_BUILD/qemu-guests/$g.elf not built (make userspace)"
		cp "$NC_BUILD/qemu-guests/$g.elf" "$root/opt/nestckpt/qemu-guests/"
	done
fi

cp "$NC_TOP"/tests/vm/guest/init "$root/init"
cp "$NC_TOP"/tests/vm/guest/t/*.sh "$root/opt/nestckpt/t/"
cp "$NC_TOP"/tests/vm/guest/demo.sh "$root/opt/nestckpt/demo.sh"
cp "$NC_TOP"/tests/vm/guest/bench.sh "$root/opt/nestckpt/bench.sh"
mkdir -p "$root/opt/nestckpt/lib"
cp "$NC_TOP"/tests/vm/guest/lib/*.sh "$root/opt/nestckpt/lib/"
chmod +x "$root/init" "$root"/opt/nestckpt/t/*.sh "$root/opt/nestckpt/demo.sh" \
	"$root/opt/nestckpt/bench.sh"

printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
cat >"$root/etc/nc.conf" <<EOF
NC_KVER='$kver'
NC_VENDOR='$vendor'
NC_EMU='$emu'
NC_PLAN='$plan'
NC_FAULT='$fault'
NC_CAPTURE_DUMP='${NC_CAPTURE_DUMP:-0}'
EOF
# Cycle counts of the guest tests (30-freeze, 50-criu, 51-criu4), where the
# caller sets them: runs of fewer repetitions (tests/run-all.sh).
for v in NC_FREEZE_CYCLES NC_CRIU_CYCLES NC_CRIU4_CYCLES; do
	[ -n "${!v:-}" ] || continue
	case ${!v} in *[!0-9]*) nc_die "$v must be a number, not '${!v}'" ;; esac
	echo "export $v=${!v}" >>"$root/etc/nc.conf"
done

(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$out"
