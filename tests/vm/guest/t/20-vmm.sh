#!/bin/sh
# 20-vmm: the nested test VMM (nestvmm) runs each scenario on this machine's
# KVM: a plain vCPU, an L1 with SVM/VMX enabled, an L1 running an L2 with
# every workload, and a 4-vCPU mix. For each run, nestvmm's own verdict must
# pass, and its stats file, read from outside while it runs, must show every
# vCPU's counter (L2's for l2 vCPUs) advancing between two reads. Then the
# checks themselves are shown to work: `--fault l2-stall` (L2 stops counting)
# and `--fault regs-clobber` (L1 corrupts an L2 register) must both FAIL.
#
# Under Bochs (slower, one CPU) each run is longer and read over a longer gap.
# With NC_FAULT=l2-stall the positive runs get the stall too, so this test
# must fail: the suite proves it notices.
#
# Environment: NC_VENDOR=svm|vmx, NC_EMU=qemu|bochs, NC_FAULT; nestvmm on PATH.
# Exit: 0 pass, 77 skip, anything else fail.  Diagnostics start with "# ".

# shellcheck disable=SC2086 # $fault_args is empty or two words
. /opt/nestckpt/lib/common.sh

if ! command -v nestvmm >/dev/null 2>&1; then
	note "nestvmm not on PATH ($PATH)"
	exit 1
fi
if [ ! -c /dev/kvm ]; then
	note "no /dev/kvm"
	exit 77
fi

fault_args=
[ "${NC_FAULT:-}" = l2-stall ] && fault_args="--fault l2-stall" &&
	note "NC_FAULT=l2-stall: positive runs get --fault l2-stall and must fail"

if [ "${NC_EMU:-qemu}" = bochs ]; then
	dur=10 gap=3 start_wait=120
else
	dur=5 gap=1 start_wait=60
fi

# run NAME EXPECT KEYS -- NESTVMM-ARGS...
# EXPECT is pass or fail; KEYS are counters that must grow while it runs.
run() {
	name=$1 expect=$2 keys=$3
	shift 4
	st=/tmp/vmm-$name.stats out=/tmp/vmm-$name.out
	rm -f "$st" "$out"
	note "$name: nestvmm --duration $dur --stats $st $*"
	nestvmm --duration "$dur" --stats "$st" "$@" >"$out" 2>&1 &
	pid=$!

	# Wait until every vCPU reported ready (state running) and counted.
	i=0
	while [ $i -lt $start_wait ]; do
		if [ -s "$st" ] && ! grep -q '^vcpu[0-9]*\.state created' "$st"; then
			break
		fi
		kill -0 $pid 2>/dev/null || break
		sleep 1
		i=$((i + 1))
	done
	growth=ok
	for k in $keys; do
		eval "a_$(echo "$k" | tr . _)=\$(stat_of \"\$st\" \"\$k\")"
	done
	sleep $gap
	for k in $keys; do
		v=$(echo "$k" | tr . _)
		eval "a=\$a_$v"
		b=$(stat_of "$st" "$k")
		note "$name: $k $a -> $b over ${gap}s (read from outside)"
		if [ -z "$a" ] || [ -z "$b" ] || [ "$b" -le "$a" ] 2>/dev/null; then
			growth="$k did not grow ($a -> $b)"
		fi
	done

	wait $pid
	rc=$?
	note "$name: exit $rc"
	grep -E 'FAIL|PASSED|FAILED|nestvmm:' "$out" | indent
	if [ "$expect" = pass ]; then
		if [ $rc -ne 0 ]; then
			fail "$name: nestvmm exited $rc"
			grep -E '(count|exits|unexpected|pattern|irq_|pio|mmio|state)' "$out" | indent
		fi
		[ "$growth" = ok ] || fail "$name: $growth"
	else
		if [ $rc -ne 1 ]; then
			fail "$name: nestvmm must fail its check with exit 1, got $rc"
			grep -v ' 0$' "$out" | indent
		fi
	fi
}

# expect_msg NAME REGEX: the failing run named the check that caught it.
expect_msg() {
	if grep -q -E "$2" "/tmp/vmm-$1.out"; then
		note "$1: caught as expected"
	else
		fail "$1: no message matching '$2'"
	fi
}

run plain pass "vcpu0.l1_count vcpu0.pio" -- --vcpu plain $fault_args
run l1 pass "vcpu0.l1_count" -- --vcpu l1 $fault_args
run l2-all pass "vcpu0.l2_count vcpu0.l1_exits vcpu0.irq_received vcpu0.pio vcpu0.mmio" -- \
	--vcpu l2:count+regs+irq+pio+mmio $fault_args
run mix pass "vcpu0.l2_count vcpu1.l2_count vcpu2.l1_count vcpu3.l1_count" -- \
	--vcpu l2 --vcpu l2+irq --vcpu l1 --vcpu plain $fault_args

# The checks catch what they are for.
run stall fail "vcpu0.l1_exits" -- --vcpu l2 --fault l2-stall
expect_msg stall 'L2 made no progress'
run clobber fail "vcpu0.l1_exits" -- --vcpu l2 --fault regs-clobber
expect_msg clobber 'register pattern failures'

if [ $failures -gt 0 ]; then
	note "$failures failure(s)"
	exit 1
fi
exit 0
