#!/usr/bin/env bash
# The whole nestckpt test suite, as CI runs it (bash .ci/run). As root on a
# Debian 12 machine: installs what it needs, builds everything, then runs
#   - the userspace build (warning-free) and the unit tests, plain and under ASan/UBSan;
#   - the image decoder's libFuzzer target for 30 s on its corpus (a regression run;
#     tests/fuzz/README.md has the long run);
#   - DKMS add/build/install of the module for Debian 12's 6.1 and 6.12 kernels, warning-free;
#   - the guest tests inside the stock 6.1 and 6.12 kernels under QEMU (nested SVM),
#     among them criu dump/restore of the nested test VMM with Debian 12's criu 3.17
#     (50-criu) and with Debian 13's criu 4.1 (51-criu4), and a restore in a fresh
#     boot of each kernel from images carried over on a virtual disk (52-criu-fresh:
#     the nested test VMM and QEMU 7.2 with our nested-svm guest),
#     and Debian's own QEMU 7.2 as a VMM frozen, thawed, dumped and restored with
#     guests of ours, one of them nested, one with 2 vCPUs (60-qemu, 61-qemu-smp;
#     NC_QEMU_VMM=0 leaves them out);
#   - the same guest tests and fresh-boot restore inside the stock 6.1 kernel under
#     Bochs (nested VMX), in parallel with the QEMU runs because Bochs is slow
#     (NC_BOCHS=0 leaves it out);
#   - fault-injection runs proving the harness catches a broken module, a stalled L2,
#     a kernel warning, a boot failure and a hung guest.
# Ends with "N passed, N failed, N skipped"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
. tests/vm/common.sh
. tests/vm/criu4.sh

: "${NC_BOCHS:=1}"
results=$NC_BUILD/results
mkdir -p "$NC_BUILD"
rm -rf "$results"
mkdir -p "$results"
passed=0 failed=0 skipped=0
suite_start=$(date +%s)

record() { # STATUS NAME [WHY]
	case $1 in
	PASS) passed=$((passed + 1)); echo "PASS: $2" ;;
	SKIP) skipped=$((skipped + 1)); echo "SKIP: $2${3:+: $3}" ;;
	*) failed=$((failed + 1)); echo "FAIL: $2${3:+: $3}" ;;
	esac
}

# Run a command as one test; its output goes to a log shown on failure.
check() { # NAME COMMAND...
	local name=$1 log
	shift
	log=$results/$(echo "$name" | tr '/ ' '__').log
	if ("$@") >"$log" 2>&1; then
		record PASS "$name"
	else
		record FAIL "$name" "see $log"
		tail -n 30 "$log" | sed 's/^/#   /'
	fi
}

# Fold the PASS/FAIL/SKIP lines of a tests/vm/run.sh output into the totals.
absorb() { # RUN_OUTPUT_FILE RUN_EXIT_STATUS LABEL
	local line n=0
	while IFS= read -r line; do
		case $line in
		PASS:*) record PASS "${line#PASS: }"; n=$((n + 1)) ;;
		SKIP:*) record SKIP "${line#SKIP: }"; n=$((n + 1)) ;;
		FAIL:*) record FAIL "${line#FAIL: }"; n=$((n + 1)) ;;
		esac
	done <"$1"
	if [ "$2" != 0 ] && ! grep -q '^FAIL:' "$1"; then
		record FAIL "$3" "run.sh exited $2 without naming a failure"
	fi
	[ $n -gt 0 ] || record FAIL "$3" "no results"
	grep '^#' "$1" | tail -n 45
}

# A run that must fail in a given way: proves the judge catches that fault.
expect_failure() { # NAME FAILURE_REGEX RUN.SH-ARGS...
	local name=$1 want=$2 out rc
	shift 2
	out=$results/$(echo "$name" | tr / _).out
	tests/vm/run.sh "$@" >"$out" 2>&1
	rc=$?
	if [ $rc != 0 ] && grep -E -q "$want" "$out"; then
		record PASS "$name"
	else
		record FAIL "$name" "expected exit != 0 and a line matching '$want' (exit $rc)"
		tail -n 20 "$out" | sed 's/^/#   /'
	fi
}

if [ "${NC_SKIP_DEPS:-0}" != 1 ]; then
	tests/install-deps.sh >"$results/install-deps.log" 2>&1 ||
		{ tail -n 30 "$results/install-deps.log"; echo "0 passed, 1 failed"; exit 1; }
fi
k61=$(nc_resolve_kver 6.1)
k612=$(nc_resolve_kver 6.12)
# What this run resolved; README's kernel table names these from a CI run.
for k in "$k61" "$k612"; do
	echo "# kernel: $k (linux-headers-$k $(dpkg-query -W -f '${Version}' "linux-headers-$k" 2>/dev/null))"
done
echo "# criu: $(dpkg-query -W -f '${Version}' criu 2>/dev/null) (Debian 12); qemu: $(dpkg-query -W -f '${Version}' qemu-system-x86 2>/dev/null)"

# Build and unit tests.
check build/userspace make -C "$top" userspace
# test_dev_ioctl* need the live device: they run in the guest (10-module).
for t in "$NC_BUILD"/tests/unit/test_* "$NC_BUILD"/tests/unit-asan/test_*; do
	case $t in */test_dev_ioctl*) continue ;; esac
	[ -x "$t" ] || continue
	check "unit/$(basename "$(dirname "$t")")/$(basename "$t")" "$t"
done

# The image decoder under libFuzzer, briefly: the corpus must still pass and
# 30 s of new inputs must find nothing.
check fuzz/image-30s tests/fuzz/run.sh 30

# Two runs fetching at once into an empty cache both succeed (a cache of its own).
check fetch/race-on-empty-cache tests/vm/fetch-race-test.sh "$k61"

# DKMS on both kernels; every shared artifact the emulated runs use (kernel
# images, the criu 4 tree) is fetched here, before the runs go parallel.
for k in "$k61" "$k612"; do
	check "dkms/$k" nc_dkms_build "$k"
	check "kernel-image/$k" nc_fetch_kernel "$k"
done
check "criu4/$NC_CRIU4_SUITE" nc_fetch_criu4
ko61=$NC_BUILD/ko/$k61/nestckpt.ko
ko612=$NC_BUILD/ko/$k612/nestckpt.ko

# make install, as the README has it: the tool, the plugin where criu looks,
# the module through DKMS (for 6.1 here: this host runs another kernel).
install_check() {
	local p=$results/install
	rm -rf "$p"
	make -s install INSTALL_KVER="$k61" PREFIX="$p/usr" CRIU_PLUGIN_DIR="$p/criu" &&
		[ -x "$p/usr/bin/nestckptctl" ] && [ -f "$p/criu/nestckpt_plugin.so" ] &&
		dkms status -m nestckpt -k "$k61" | grep -q installed &&
		ls /lib/modules/"$k61"/updates/dkms/nestckpt.ko*
}
check make-install install_check

# criu restore in a fresh boot: the first boot dumps the VMM onto a virtual
# disk, the second restores from it (52-criu-fresh skips in the other runs).
# Boots LABEL twice; run.sh arguments follow. The disk is 130 cylinders of
# 16 heads x 63 sectors (65 MiB), a size Bochs takes as well.
fresh_boot_pair() { # LABEL RUN.SH-ARGS...
	local label=$1 disk=$results/$1.disk phase
	shift
	rm -f "$disk"
	truncate -s $((130 * 16 * 63 * 512)) "$disk"
	for phase in dump restore; do
		tests/vm/run.sh "$@" --test 52-criu-fresh --disk "$disk" --label "$label-$phase" \
			>"$results/$label-$phase.out" 2>&1
		echo $? >"$results/$label-$phase.rc"
	done
}
absorb_pair() { # LABEL
	local phase
	for phase in dump restore; do
		absorb "$results/$1-$phase.out" "$(cat "$results/$1-$phase.rc")" "$1-$phase"
	done
}

# Bochs (VMX) is slow and single-threaded: its runs go beside the QEMU runs.
if [ "$NC_BOCHS" = 1 ]; then
	(
		tests/vm/run.sh --emu bochs --kernel "$k61" --ko "$ko61" >"$results/bochs.out" 2>&1
		echo $? >"$results/bochs.rc"
		fresh_boot_pair fresh-boot-bochs-"$k61" --emu bochs --kernel "$k61" --ko "$ko61"
	) &
	bochs_pid=$!
fi

for k in "$k61" "$k612"; do
	tests/vm/run.sh --emu qemu --kernel "$k" --ko "$NC_BUILD/ko/$k/nestckpt.ko" >"$results/qemu-$k.out" 2>&1
	absorb "$results/qemu-$k.out" $? "qemu-$k"
done

for k in "$k61" "$k612"; do
	fresh_boot_pair fresh-boot-qemu-"$k" --emu qemu --kernel "$k" --ko "$NC_BUILD/ko/$k/nestckpt.ko"
	absorb_pair fresh-boot-qemu-"$k"
done

# The judge itself: every kind of failure it claims to catch, caught.
expect_failure fault/broken-module 'FAIL: .*/10-module' \
	--kernel "$k61" --ko "$ko61" --test 10-module --fault broken-module
expect_failure fault/l2-stall 'FAIL: .*/20-vmm' \
	--kernel "$k61" --ko "$ko61" --test 20-vmm --fault l2-stall
expect_failure fault/kernel-warning 'FAIL: .*/dmesg-clean' \
	--kernel "$k61" --ko "$ko61" --test 10-module --fault kmsg-warn
expect_failure fault/boot-failure 'FAIL: .*/boot: ' \
	--kernel "$k61" --ko "$ko61" --test 10-module --fault no-init
expect_failure fault/hung-guest 'FAIL: .*/run: timed out' \
	--kernel "$k61" --ko "$ko61" --test 10-module --fault hang --timeout 30

if [ "$NC_BOCHS" = 1 ]; then
	wait "$bochs_pid"
	absorb "$results/bochs.out" "$(cat "$results/bochs.rc")" "bochs-$k61"
	absorb_pair fresh-boot-bochs-"$k61"
else
	record SKIP "bochs-$k61" "NC_BOCHS=0"
fi

echo "# suite time: $(($(date +%s) - suite_start))s"
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed = 0 ]
