#!/usr/bin/env bash
# Boot a stock Debian kernel under emulation with nestckpt.ko (built by DKMS
# from this tree), KVM with nested virtualization, CRIU and the test programs;
# run guest tests and judge the serial log.
#
#   tests/vm/run.sh [--emu qemu|bochs] [--kernel 6.1|6.12|d13|d13-backports|RELEASE] [--test NAME]...
#                   [--demo] [--bench] [--fault broken-module|l2-stall|kmsg-warn|no-init|hang]
#                   [--timeout SECONDS] [--ko PATH] [--label TEXT] [--verbose]
#                   [--disk FILE]   (FILE as the guest's disk, kept across boots: /dev/vda
#                                    under QEMU, /dev/sda under Bochs, which needs a size
#                                    of whole cylinders of 16 heads x 63 sectors)
#
# --bench runs tests/vm/guest/bench.sh instead (bench/run.sh).
# d13 and d13-backports name the kernels Debian 13 installs today (RELEASE
# X.Y.Z+deb13-amd64); their module is built by Debian 13's DKMS in a build
# root (tests/vm/debian13.sh). NC_FREEZE_CYCLES, NC_CRIU_CYCLES and
# NC_CRIU4_CYCLES, where set, go to the guest tests.
# NC_QEMU_VMM=0 leaves 60-qemu and 61-qemu-smp (QEMU as a VMM in the guest)
# out of the default plan, and QEMU out of 52-criu-fresh and the demo;
# --test 60-qemu runs it regardless.
# QEMU (TCG, -cpu max) gives nested SVM; Bochs gives nested VMX. Guest tests
# are tests/vm/guest/t/NAME.sh (all of them when no --test is given). Prints one
# line per test, "PASS: label/name", "FAIL: label/name: why" or "SKIP: ...",
# and exits non-zero when any test failed, the kernel warned or oopsed, the
# machine did not boot, or the run timed out.
set -euo pipefail
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/criu4.sh"

# Until the serial log is judged, any failure is a setup failure: nc_die prints
# it as a FAIL line of its own (to fd 3, this script's output, even from inside
# $(...)), and the exit trap names any other early exit.
exec 3>&1
export NC_FAIL_LABEL=run.sh NC_FAIL_MARK
NC_FAIL_MARK=$(mktemp -u "${TMPDIR:-/tmp}/nc-run-fail.XXXXXX")
judging=0
setup_exit() {
	local rc=$?
	if [ "$rc" != 0 ] && [ "$judging" = 0 ] && [ ! -e "$NC_FAIL_MARK" ]; then
		echo "FAIL: $NC_FAIL_LABEL/setup: exited $rc before the guest ran (see the error above)"
	fi
	rm -f "$NC_FAIL_MARK"
}
trap setup_exit EXIT

emu=qemu kernel=6.1 tests=() demo=0 fault= timeout= ko= label= verbose=0 disk=
while [ $# -gt 0 ]; do
	case $1 in
	--emu) emu=$2; shift ;;
	--kernel) kernel=$2; shift ;;
	--test) tests+=("$2"); shift ;;
	--demo) demo=1 ;;
	--bench) demo=bench ;;
	--fault) fault=$2; shift ;;
	--timeout) timeout=$2; shift ;;
	--ko) ko=$2; shift ;;
	--disk) disk=$2; shift ;;
	--label) label=$2; shift ;;
	--verbose) verbose=1 ;;
	-h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) nc_die "run.sh: unknown option $1 (see --help)" ;;
	esac
	shift
done

case $emu in
qemu) vendor=svm; : "${timeout:=1800}" ;;
bochs) vendor=vmx; : "${timeout:=3600}" ;;
*) nc_die "--emu must be qemu or bochs" ;;
esac
kver=$(nc_resolve_kver "$kernel")
label=${label:-$emu-$kver${fault:+-fault-$fault}}
NC_FAIL_LABEL=$label

if [ $demo = 1 ]; then
	plan=demo
elif [ $demo = bench ]; then
	plan=bench
elif [ ${#tests[@]} -gt 0 ]; then
	plan="${tests[*]}"
else
	plan=$(cd "$NC_TOP/tests/vm/guest/t" && ls ./*.sh | sed 's|^\./||; s|\.sh$||' | tr '\n' ' ')
	[ "${NC_QEMU_VMM:-1}" = 0 ] && plan=$(echo "$plan" | sed -E 's/\b6[01]-qemu[a-z-]* //g')
fi

[ -x "$NC_BUILD/bin/nestckptctl" ] || make -s -C "$NC_TOP" userspace >&2 ||
	nc_die "building userspace failed"
kroot=$(nc_fetch_kernel "$kver")
[ -n "$ko" ] || ko=$(nc_dkms_build "$kver")

work=$NC_BUILD/vm/$label
rm -rf "$work"
mkdir -p "$work"
log=$work/serial.log
# CRIU 4.x goes in only for the test that runs it (it adds 20 MB).
criu4=
case " $plan " in *" 51-criu4 "*) criu4=$(nc_fetch_criu4) ;; esac
# QEMU as a VMM (about 50 MB of binary and libraries before compression) only
# for the tests that run it (60-qemu, 61-qemu-smp, 54-criu-prove's asid
# fault; 52-criu-fresh and the demo beside nestvmm), and only under QEMU: its
# guests need SVM (no nested-VMX guest yet), and Bochs would pay for every
# byte at boot.
qemu_vmm=
case " $plan " in
*" 60-qemu "* | *" 61-qemu-smp "* | *" 54-criu-prove "*) [ "$emu" = qemu ] && qemu_vmm=--qemu-vmm ;;
*" 52-criu-fresh "* | " demo ")
	[ "$emu" = qemu ] && [ "${NC_QEMU_VMM:-1}" != 0 ] && qemu_vmm=--qemu-vmm ;;
esac
"$NC_TOP/tests/vm/mkinitramfs.sh" --kver "$kver" --kroot "$kroot" --vendor "$vendor" \
	--emu "$emu" --ko "$ko" --plan "$plan" ${fault:+--fault "$fault"} ${criu4:+--criu4 "$criu4"} \
	$qemu_vmm --out "$work/initrd.gz"

cmdline="console=ttyS0,115200 panic=-1"
[ "$fault" = no-init ] && cmdline="$cmdline rdinit=/no-such-init"
# The demonstration is for people: keep the kernel's boot chatter off its console.
[ $demo = 1 ] && cmdline="$cmdline quiet"
# Tells the guest tests to wait for the disk rather than skip.
[ -n "$disk" ] && cmdline="$cmdline nc.disk=1"

case $emu in
bochs)
	iso=$work/iso
	mkdir -p "$iso/isolinux"
	cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$iso/isolinux/"
	cp "$kroot/boot/vmlinuz-$kver" "$iso/vmlinuz"
	cp "$work/initrd.gz" "$iso/initrd.gz"
	# The guest clock crawls without hpet (TESTBED.md).
	printf 'DEFAULT nc\nLABEL nc\n  KERNEL /vmlinuz\n  APPEND initrd=/initrd.gz %s clocksource=hpet\n' \
		"$cmdline" >"$iso/isolinux/isolinux.cfg"
	genisoimage -quiet -o "$work/boot.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
		-no-emul-boot -boot-load-size 4 -boot-info-table -R "$iso" || nc_die "genisoimage failed"
	cat >"$work/bochsrc" <<EOF
megs: 2048
cpu: model=corei7_skylake_x, count=1, ips=100000000, reset_on_triple_fault=1, ignore_bad_msrs=1
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path=$work/boot.iso, status=inserted
boot: cdrom
display_library: rfb, options="timeout=0"
speaker: enabled=0
sound: driver=dummy
clock: sync=none
com1: enabled=1, mode=file, dev=$log
log: $work/bochs.log
panic: action=fatal
error: action=report
EOF
	if [ -n "$disk" ]; then
		# A flat image; Bochs wants its geometry, 16 heads of 63 sectors.
		dsize=$(stat -c %s "$disk")
		[ $((dsize % (16 * 63 * 512))) = 0 ] && [ "$dsize" -gt 0 ] ||
			nc_die "--disk $disk: Bochs needs a size that is a multiple of $((16 * 63 * 512)) bytes"
		echo "ata0-slave: type=disk, path=$disk, mode=flat, cylinders=$((dsize / (16 * 63 * 512))), heads=16, spt=63" \
			>>"$work/bochsrc"
	fi
	echo c >"$work/bochs.cont"
	boot_limit=900
	;;
qemu) boot_limit=120 ;;
esac

start_emulator() {
	rm -f "$log"
	case $emu in
	qemu)
		# One emulated CPU: with two, TCG's nested SVM misbehaved under several
		# guest vCPUs doing VMRUN at once: 4 of 20 4-vCPU nestvmm runs hit triple
		# faults or vCPUs stuck in kvm-amd (multi-threaded TCG, 6.1 and 6.12), 12
		# of 20 runs saw an L1-injected interrupt delivered twice (thread=single),
		# and a 6.12 guest once oopsed on a stale int3 from its own text patching.
		# With -smp 1: 0 of 20 on both kernels. NC_QEMU_SMP/NC_QEMU_ACCEL
		# override, to study those.
		timeout -s KILL "$timeout" qemu-system-x86_64 -accel "${NC_QEMU_ACCEL:-tcg}" -cpu max -m 2048 -smp "${NC_QEMU_SMP:-1}" \
			-nographic -no-reboot -monitor none -serial "file:$log" \
			-kernel "$kroot/boot/vmlinuz-$kver" -initrd "$work/initrd.gz" \
			${disk:+-drive "file=$disk,format=raw,if=virtio"} \
			-append "$cmdline" </dev/null >"$work/qemu.out" 2>&1 &
		;;
	bochs)
		(cd "$work" && exec timeout -s KILL "$timeout" bochs -q -f "$work/bochsrc" -rc "$work/bochs.cont") \
			</dev/null >"$work/bochs.out" 2>&1 &
		;;
	esac
	emu_pid=$!
}

# Wait for /init to announce itself. An emulator still running without it
# after boot_limit seconds hung before any of our code ran (seen once under
# TCG): that boot is killed, reported, and tried once more.
wait_for_boot() {
	local t0
	t0=$(date +%s)
	while kill -0 "$emu_pid" 2>/dev/null; do
		grep -a -q NC-BOOTED "$log" 2>/dev/null && return 0
		if [ $(($(date +%s) - t0)) -ge "$boot_limit" ]; then
			# emu_pid is timeout(1); the emulator is its child and would
			# outlive it.
			pkill -KILL -P "$emu_pid" 2>/dev/null
			kill -KILL "$emu_pid" 2>/dev/null
			return 1
		fi
		sleep 1
	done
	return 0
}

nc_log "$label: booting $kver under $emu (plan: $plan; limit ${timeout}s; log $log)"
set +e
for attempt in 1 2; do
	start=$(date +%s)
	start_emulator
	if [ $verbose = 1 ]; then
		touch "$log"
		tail -n +1 -F "$log" 2>/dev/null &
		tail_pid=$!
	fi
	wait_for_boot
	booted=$?
	wait $emu_pid
	emu_rc=$?
	[ $verbose = 1 ] && kill "$tail_pid" 2>/dev/null
	[ $booted = 0 ] && break
	cp "$log" "$work/serial.hung-boot-$attempt.log" 2>/dev/null
	echo "# $label: no /init after ${boot_limit}s, boot attempt $attempt hung (log kept as serial.hung-boot-$attempt.log):"
	tail -n 5 "$log" 2>/dev/null | sed 's/^/#   /'
done
set -e
secs=$(($(date +%s) - start))
touch "$log"

# Judge the serial log: from here on failures are the guest's, named below.
judging=1
# Strip carriage returns and the firmware's terminal escapes.
tr -d '\r' <"$log" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g' >"$work/serial.txt"
failures=0
fail() { echo "FAIL: $label/$1: $2"; failures=$((failures + 1)); }
if ! grep -q 'NC-BOOTED' "$work/serial.txt"; then
	fail boot "the machine did not reach /init (emulator exit $emu_rc after ${secs}s)"
fi
# A guest test may report its own steps as TAP subtests: its output is
# indented by four spaces (guest/init), so they arrive as "    ok N - STEP"
# and are judged as label/TEST/STEP.
test_name=
while IFS= read -r line; do
	case $line in
	'# --- '*)
		test_name=$(echo "$line" | sed -E 's/^# --- ([^ ]+) .*/\1/')
		continue
		;;
	'    '*) prefix=$test_name/; line=${line#    } ;;
	*) prefix= ;;
	esac
	name=$prefix$(echo "$line" | sed -E 's/^(not )?ok [0-9]+ - ([^ #]+).*/\2/')
	case $line in
	not\ ok*) fail "$name" "$(echo "$line" | sed -n 's/.*# //p')" ;;
	*'# SKIP'*) echo "SKIP: $label/$name" ;;
	*) echo "PASS: $label/$name" ;;
	esac
done < <(grep -E '^((    )?(not )?ok [0-9]+ - |# --- [^ ]+ \(limit)' "$work/serial.txt")
if ! grep -q '^NC-DONE' "$work/serial.txt"; then
	if [ "$secs" -ge "$timeout" ]; then
		fail run "timed out after ${timeout}s"
	else
		fail run "the guest stopped before finishing (emulator exit $emu_rc after ${secs}s)"
	fi
fi
# Kernel messages on the console once /init ran (test output is indented,
# comments start with #); boot-time messages are judged by the guest's
# boot-dmesg-clean, which knows the emulators' own boot warnings. A panic
# counts wherever it is.
kmsgs=$( (sed -n '/NC-BOOTED/,$p' "$work/serial.txt" | grep -v -e '^    ' -e '^#' |
	grep -E 'BUG:|Oops|WARNING: CPU: [0-9]+ PID|cut here|general protection fault|Call Trace'
	grep -E 'Kernel panic' "$work/serial.txt") | head -n 3 || true)
[ -z "$kmsgs" ] || fail kernel-log "the kernel reported a problem: $(echo "$kmsgs" | tr '\n' '|')"
if [ $failures -gt 0 ]; then
	nc_log "$label: $failures failure(s) in ${secs}s; last lines of $log:"
	tail -n 40 "$work/serial.txt" | sed 's/^/#   /' >&2
	exit 1
fi
nc_log "$label: all passed in ${secs}s"
