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
#   - Debian 13's own kernels, resolved at run time (its 6.12 from trixie and its
#     security updates; NC_D13_CHANNELS="stable backports" adds the newest
#     trixie-backports kernel, 7.x, which does not pass yet): DKMS builds
#     the module inside a Debian 13 build root (tests/vm/debian13.sh), and under
#     QEMU a reduced plan (10-module, 30-freeze with fewer cycles, 38-nx-worker,
#     50-criu, 51-criu4) and a fresh-boot restore pair run on each, with kvm's
#     parameters at their defaults (NC_D13=0 leaves them out);
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
: "${NC_D13:=1}"
# Which of Debian 13's kernels: its stable one and/or the newest backport.
: "${NC_D13_CHANNELS:=stable}"
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

# timed NAME COMMAND...: COMMAND, and a "# time:" line with how long it took.
timed() {
	local name=$1 t0=$SECONDS rc
	shift
	"$@"
	rc=$?
	echo "# time: $name $((SECONDS - t0))s"
	return $rc
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
		return 1
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
# Debian 13's kernels: what linux-image-amd64 gives a Debian 13 machine today,
# and with backports.
k13=() k13_why=
if [ "$NC_D13" = 1 ]; then
	for channel in $NC_D13_CHANNELS; do
		if r=$(nc_d13_resolve $channel 2>"$results/d13-resolve-$channel.log"); then
			read -r k suite imgv hdrv <<<"$r"
			k13+=("$k")
			echo "# kernel: $k (Debian 13 $suite: linux-image-$k $imgv, linux-headers-$k $hdrv)"
		else
			k13_why="resolving Debian 13's $channel kernel failed: $(tail -n 1 "$results/d13-resolve-$channel.log")"
		fi
	done
	if [ -n "$k13_why" ]; then
		record FAIL d13/resolve "$k13_why"
		k13=()
	fi
fi

# Build and unit tests.
check build/userspace make -C "$top" userspace
# test_dev_ioctl* and test_privilege need the live device: they run in the
# guest (10-module, 39-privilege).
for t in "$NC_BUILD"/tests/unit/test_* "$NC_BUILD"/tests/unit-asan/test_*; do
	case $t in */test_dev_ioctl* | */test_privilege) continue ;; esac
	[ -x "$t" ] || continue
	check "unit/$(basename "$(dirname "$t")")/$(basename "$t")" "$t"
done

# The image decoder under libFuzzer, briefly: the corpus must still pass and
# 30 s of new inputs must find nothing.
check fuzz/image-30s tests/fuzz/run.sh 30

# Two runs fetching at once into an empty cache both succeed (a cache of its own).
# Debian 13's last resolved kernel (the newest; from 7.x its image is in
# several packages) too.
check fetch/race-on-empty-cache tests/vm/fetch-race-test.sh "$k61" ${k13[@]:+"${k13[-1]}"}

# DKMS on both kernels; every shared artifact the emulated runs use (kernel
# images, the criu 4 tree) is fetched here, before the runs go parallel.
for k in "$k61" "$k612"; do
	check "dkms/$k" nc_dkms_build "$k"
	check "kernel-image/$k" nc_fetch_kernel "$k"
done
check "criu4/$NC_CRIU4_SUITE" nc_fetch_criu4
if [ "$NC_D13" != 1 ]; then
	record SKIP d13 "NC_D13=0"
fi
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

# Debian 13: one build root with the headers of its kernels, then DKMS in it.
# Only the QEMU lane uses these, so it prepares them itself (under the cache's
# locks, as every fetch) while Bochs runs beside it, not before the lanes start.
d13_prepare() {
	if [ ${#k13[@]} -gt 0 ]; then
		if timed d13/build-root check d13/build-root nc_d13_buildroot "${k13[@]}"; then
			d13root=$(nc_d13_buildroot "${k13[@]}")
			echo "# Debian 13 build root: $(grep -E '^(dkms|gcc-14|make) ' "$d13root/.packages" | tr '\n' ' ')"
			for k in "${k13[@]}"; do
				timed "dkms/$k" check "dkms/$k" nc_dkms_build "$k"
				timed "kernel-image/$k" check "kernel-image/$k" nc_fetch_kernel "$k"
				echo "# kernel image $k: $(cut -d' ' -f1,2 "$NC_CACHE/kernel-$k/.packages" 2>/dev/null | tr '\n' ' ')"
			done
		else
			k13=()
		fi
	fi
}

d13_prepare
# Debian 13's kernels: the reduced plan and a fresh-boot pair each, with
# 30-freeze at 50 cycles (300 on the kernels above).
d13_plan="--test 10-module --test 30-freeze --test 38-nx-worker --test 50-criu --test 51-criu4"
for k in "${k13[@]}"; do
	ko=$NC_BUILD/ko/$k/nestckpt.ko
	t0=$SECONDS
	# shellcheck disable=SC2086 # the plan is a list of options
	NC_FREEZE_CYCLES=50 tests/vm/run.sh --emu qemu --kernel "$k" --ko "$ko" $d13_plan \
		>"$results/qemu-$k.out" 2>&1
	absorb "$results/qemu-$k.out" $? "qemu-$k"
	echo "# time: qemu-$k $((SECONDS - t0))s"
	t0=$SECONDS
	fresh_boot_pair fresh-boot-qemu-"$k" --emu qemu --kernel "$k" --ko "$ko"
	absorb_pair fresh-boot-qemu-"$k"
	echo "# time: fresh-boot-qemu-$k $((SECONDS - t0))s"
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
