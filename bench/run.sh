#!/bin/bash
# bench/run.sh [--kernel 6.1|6.12] [--ko PATH]: boot the stock kernel under
# QEMU (nested SVM) and print the benchmark table of tests/vm/guest/bench.sh:
# per-vCPU capture cost and system calls, io_uring against ioctls, for 1, 4,
# 16 and 64 vCPUs, and criu dump/restore wall time of the VMM against a
# plain process with the same memory, and against one that also has as many
# threads, as busy as the vCPUs (criu's own cost of threads and of waiting
# for a CPU among them).  Everything in the table comes from this one run.
# Emulated (TCG) times: compare ratios, not absolute values.  NC_QEMU_SMP=2
# gives the guest two CPUs, where TCG's nested SVM corrupts vCPUs now and then
# (tests/vm/run.sh): rows it spoils show "-" and the run reports a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
kernel=6.1 ko=()
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$2; shift ;;
	--ko) ko=(--ko "$2"); shift ;;
	*) echo "usage: bench/run.sh [--kernel 6.1|6.12] [--ko PATH]" >&2; exit 2 ;;
	esac
	shift
done
make -s userspace
label=bench-$kernel${NC_QEMU_SMP:+-smp$NC_QEMU_SMP}
tests/vm/run.sh --emu qemu --kernel "$kernel" --bench "${ko[@]}" --label "$label" --timeout 3600 ||
	echo "bench/run.sh: the guest run reported a failure (see build/vm/$label/serial.log)" >&2
rows=$(grep -a '^ *BENCH' "build/vm/$label/serial.log" | sed 's/^ *BENCH *//')
# The table, then each row's details (lines in parentheses) under it.
grep -v '^(' <<<"$rows" | column -t -s '|' -o ' |'
grep '^(' <<<"$rows" || true
