#!/bin/sh
# 53-criu-vmstate: VM and vCPU state QEMU sets up survives criu dump and
# restore (issue 14, findings 2 and 3). nestvmm --qemu-msrs enables
# KVM_CAP_X86_USER_SPACE_MSR with an MSR filter that sends RDMSR of MSR 0x35
# to the VMM (which answers a known value), and runs KVM_X86_SETUP_MCE on
# every vCPU (10 banks, MCG_CTL all ones). Its vCPUs 2 (L1) and 3 (plain)
# read MSR 0x35, MCG_CAP and MCG_CTL all the time and fail on any other value
# (a #GP, as after a restore without the filter, is reported too).
#  1. status shows the filter as the module reads it (default allow, one
#     read range at 0x35 of 1 MSR, none allowed);
#  2. criu dump; the image holds the filter and each vCPU's MCG_CAP/MCG_CTL;
#  3. criu restore: the guest goes on reading MSR 0x35 from the VMM (served
#     reads grow), the filter reads back the same, no vCPU failed;
#  4. a second dump/restore cycle, then nestvmm's own verdict over its whole
#     life (every read was the VMM's value, MCG_CAP and MCG_CTL as set up).
#
# Exit: 0 pass, 77 skip, anything else fail.  Diagnostics start with "# ".
. /opt/nestckpt/lib/common.sh
. /opt/nestckpt/lib/criu.sh

[ -c /dev/kvm ] || { note "no /dev/kvm"; exit 77; }
nestckpt_loaded || exit 1
command -v "$CRIU" >/dev/null || { fail "no $CRIU in the guest"; exit 1; }

if [ "${NC_EMU:-qemu}" = bochs ]; then
	start_wait=180 settle=4
else
	start_wait=60 settle=2
fi
img=/tmp/cr-vms st=/tmp/cr-vms.stats out=/tmp/cr-vms.out

# served: RDMSR 0x35 the VMM answered, vCPUs 2 and 3.
served() { echo "$(stat_of $st vcpu2.msr_exits) $(stat_of $st vcpu3.msr_exits)"; }
# filter: the MSR filter as the module reads it (status).
filter() { nestckptctl status "$pid" | grep -E 'msr filter|range flags' | sed 's/^ *//'; }
# failed: vCPUs nestvmm marked failed so far.
failed() { grep -E '^vcpu[0-3]\.state failed' "$st"; }

rm -f "$st" "$out"
setsid nestvmm --qemu-msrs --stats "$st" --vcpu l2 --vcpu l2+irq --vcpu l1+msr \
	--vcpu plain+msr </dev/null >"$out" 2>&1 &
pid=$!
vmm_ready "$st" $pid $start_wait || { fail "nestvmm did not get ready"; indent <"$out"; exit 1; }
sleep $settle
mcg_cap=$(stat_of $st vm.mcg_cap)
note "nestvmm pid $pid running: $(counters $st), MSR 0x35 served $(served), MCG_CAP $mcg_cap"
set -- $(served)
[ "${1:-0}" -gt 0 ] && [ "${2:-0}" -gt 0 ] || fail "the guest does not read MSR 0x35 through the VMM"
if ! alive || [ -n "$(failed)" ]; then
	fail "nestvmm failed before any checkpoint"
	indent <"$out"
	kill -KILL $pid 2>/dev/null
	exit 1
fi

# 1. The filter as the module reads it.
filter_before=$(filter)
echo "$filter_before" | indent
echo "$filter_before" | grep -q '^msr filter: allow by default, 1 range' &&
	echo "$filter_before" | grep -q '^range flags 0x1 base 0x35 nmsrs 1 allowed 0$' ||
	fail "status does not show the filter nestvmm set"

# 2. Dump: the image holds the filter and the MCE state.
before=$(counters $st)
if ! dump; then
	fail "criu dump failed"
	show_log "$img/dump.log"
	kill -KILL $pid
	exit 1
fi
wait $pid 2>/dev/null
alive && fail "the VMM still runs after criu dump"
served_frozen=$(served)
nestckptctl inspect "$img" >/tmp/cr-vms.inspect 2>&1 || fail "inspect failed"
grep -E 'msr_filter|mcg_|mce_banks' /tmp/cr-vms.inspect | head -n 12 | indent
grep -q '^vm0.msr_filter_default: allow by default$' /tmp/cr-vms.inspect || fail "the image has no MSR filter"
grep -q '^vm0.msr_filter.range0.r base 0x35 nmsrs 1 allowed 0$' /tmp/cr-vms.inspect ||
	fail "the image's filter range is not nestvmm's"
for v in 0 1 2 3; do
	grep -q "^vm0.vcpu$v.mcg_cap: $mcg_cap$" /tmp/cr-vms.inspect || fail "vcpu$v: MCG_CAP $mcg_cap not in the image"
	grep -q "^vm0.vcpu$v.mcg_ctl: 0xffffffffffffffff$" /tmp/cr-vms.inspect || fail "vcpu$v: MCG_CTL all ones not in the image"
done

# 3. Restore: the guest reads MSR 0x35 from the VMM again.
restore
if ! wait_moved "$before"; then
	fail "restored VMM does not run: $before -> $(counters $st)"
	show_log "$img/restore.log"
	kill -KILL $pid 2>/dev/null
	exit 1
fi
sleep $settle
served_after=$(served)
note "restored: MSR 0x35 served $served_frozen -> $served_after"
set -- $served_frozen $served_after
[ "$3" -gt "$1" ] && [ "$4" -gt "$2" ] || fail "after the restore the VMM serves no RDMSR 0x35"
[ -z "$(failed)" ] || { fail "after the restore: $(failed)"; grep -E 'nestvmm|vcpu' "$out" | head -n 5 | indent; }
[ -z "$(checks $st)" ] || fail "after the restore: $(checks $st)"
filter_after=$(filter)
[ "$filter_after" = "$filter_before" ] || { fail "the filter differs after the restore"; echo "$filter_after" | indent; }

# 4. Once more, then the verdict.
a=$(counters $st)
dump || { fail "second dump failed"; show_log "$img/dump.log"; }
wait $crpid 2>/dev/null
restore
wait_moved "$a" || fail "second restore does not run"
sleep $settle
kill -TERM $pid
wait $crpid
rc=$?
note "nestvmm (restored twice) exit $rc"
grep -E 'FAIL|PASSED|FAILED|nestvmm:' "$out" | indent
grep -E '^(vm\.mcg_cap|vcpu[23]\.(msr_exits|msr_reads|state))' "$st" | indent
[ $rc -eq 0 ] || fail "nestvmm's verdict after the checkpoints: exit $rc"

[ $failures -eq 0 ]
