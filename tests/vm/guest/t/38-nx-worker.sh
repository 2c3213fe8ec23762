#!/bin/sh
# 38-nx-worker: KVM's NX-huge-page recovery worker, which 6.12+ runs as a
# thread of the VMM (kvm-nx-lpage-re, a vhost task), with kvm's default
# parameters.  On the 4-vCPU nested test VMM:
#  1. the worker thread is in the VMM and `nestckptctl check` says handled;
#  2. freeze: the thread is gone when the freeze returns; thaw: KVM starts a
#     new one (another TID) once the VMM runs; 20 more freeze/thaw cycles
#     while kvm's recovery parameters are written (the setters wake the
#     worker through the pointer the freeze takes away);
#  3. criu dump --leave-running: the VMM runs on, the worker is back;
#  4. criu dump + restore: the restored VMM has its worker;
#  5. the worker works as before: with recovery on and a 100 ms period it
#     wakes about ten times a second (voluntary context switches), before
#     the checkpoints and after the restore alike;
#  6. nestvmm's own verdict at the end (L1 saw only the exits L2 caused, no
#     lost or doubled I/O, patterns held).
# On a kernel whose KVM runs the worker as a kernel thread (6.1): skipped,
# with the reason.
# Exit: 0 pass, 77 skip, anything else fail.  Diagnostics start with "# ".
. /opt/nestckpt/lib/common.sh
. /opt/nestckpt/lib/criu.sh

[ -c /dev/kvm ] || { note "no /dev/kvm"; exit 77; }
nestckpt_loaded || exit 1

if [ "${NC_EMU:-qemu}" = bochs ]; then
	start_wait=180 settle=4 back_wait=60
else
	start_wait=60 settle=2 back_wait=20
fi
img=/tmp/nx-img st=/tmp/nx.stats out=/tmp/nx.out
P=/sys/module/kvm/parameters

nxline=$(nestckptctl check 2>&1 | grep '^nx-worker')
note "check: $nxline"
case $nxline in
*"kernel thread"*)
	note "SKIP: this kernel's KVM runs its NX recovery worker as a kernel thread outside the VMM ($(uname -r)): nothing to take out"
	exit 77 ;;
*handled*) ;;
*) fail "nestckptctl check does not say the worker is handled: $nxline"; exit 1 ;;
esac
[ "$(cat $P/nx_huge_pages)" != never ] || { fail "kvm loaded with nx_huge_pages=never"; exit 1; }
note "kvm parameters: nx_huge_pages=$(cat $P/nx_huge_pages)" \
	"ratio=$(cat $P/nx_huge_pages_recovery_ratio) period_ms=$(cat $P/nx_huge_pages_recovery_period_ms)"

# nx_tid: the TID of the VMM's NX worker thread, empty if none.
nx_tid() {
	for c in /proc/$pid/task/*/comm; do
		[ "$(cat "$c" 2>/dev/null)" = kvm-nx-lpage-re ] || continue
		c=${c%/comm}
		echo "${c##*/}"
		return
	done
}
# wait_nx: until the VMM has a worker again (it needs a KVM_RUN).
wait_nx() {
	i=0
	while [ $i -lt $((back_wait * 10)) ]; do
		t=$(nx_tid)
		[ -n "$t" ] && { echo "$t"; return 0; }
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
# wakeups TID SECONDS: the worker's voluntary context switches in that time.
wakeups() {
	a=$(sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' /proc/$pid/task/$1/status)
	sleep "$2"
	b=$(sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' /proc/$pid/task/$1/status)
	echo $((${b:-0} - ${a:-0}))
}

orig_nx=$(cat $P/nx_huge_pages) orig_ratio=$(cat $P/nx_huge_pages_recovery_ratio)
orig_period=$(cat $P/nx_huge_pages_recovery_period_ms)
restore_params() {
	echo "$orig_period" >$P/nx_huge_pages_recovery_period_ms
	echo "$orig_ratio" >$P/nx_huge_pages_recovery_ratio
	echo "$orig_nx" >$P/nx_huge_pages
}

rm -f "$st" "$out"
setsid nestvmm --stats "$st" --vcpu l2 --vcpu l2+irq --vcpu l1 --vcpu plain \
	</dev/null >"$out" 2>&1 &
pid=$!
vmm_ready "$st" $pid $start_wait || { fail "nestvmm did not get ready"; indent <"$out"; exit 1; }
sleep $settle

# 1. The worker is a thread of the VMM.
t0=$(wait_nx) || { fail "no kvm-nx-lpage-re thread in VMM $pid"; ls /proc/$pid/task | indent; kill -KILL $pid; exit 1; }
flags=$(sed 's/.*) //' /proc/$pid/task/$t0/stat | awk '{ print $7 }')
note "VMM $pid: worker thread $t0, flags $flags"
[ $((flags & 0x4000)) -ne 0 ] || fail "thread $t0 is not a PF_USER_WORKER"

# 5a. Recovery on, 100 ms period: the worker wakes every period.
echo on >$P/nx_huge_pages || fail "cannot set nx_huge_pages=on"
echo 1 >$P/nx_huge_pages_recovery_ratio
echo 100 >$P/nx_huge_pages_recovery_period_ms
w_before=$(wakeups $t0 3)
note "worker $t0: $w_before wakeups in 3 s (100 ms period)"
[ "$w_before" -ge 10 ] || fail "the original worker does not run its period: $w_before wakeups"

# 2. Freeze: gone; thaw: back, a new thread.
a=$(counters $st)
r=$(nestckptctl freeze "$pid" 2>&1) || { fail "freeze failed: $r"; kill -KILL $pid; restore_params; exit 1; }
echo "$r" | indent
t=$(nx_tid)
[ -z "$t" ] || fail "worker thread $t still there after the freeze"
nestckptctl status "$pid" | head -n 2 | indent
r=$(nestckptctl thaw "$pid" 2>&1) || fail "thaw failed: $r"
t1=$(wait_nx) || fail "no worker within ${back_wait}s after thaw"
note "after thaw: worker $t1 (was $t0)"
[ "$t1" != "$t0" ] || fail "the worker after thaw is the old thread"
wait_moved "$a" || fail "the VMM does not run after thaw"

# 2b. Freeze/thaw cycles while kvm's recovery parameters change (a shorter
# period wakes every worker through KVM's pointer).
touch /tmp/nx-writer
( while [ -e /tmp/nx-writer ]; do
	echo 100 >$P/nx_huge_pages_recovery_period_ms
	echo 50 >$P/nx_huge_pages_recovery_period_ms
done ) &
writer=$!
t_start=$(cut -d' ' -f1 /proc/uptime)
n=0
while [ $n -lt 20 ]; do
	nestckptctl freeze "$pid" >/dev/null || { fail "cycle $n: freeze failed"; break; }
	[ -z "$(nx_tid)" ] || { fail "cycle $n: worker still there while frozen"; break; }
	nestckptctl thaw "$pid" >/dev/null || { fail "cycle $n: thaw failed"; break; }
	wait_nx >/dev/null || { fail "cycle $n: no worker after thaw"; break; }
	n=$((n + 1))
done
rm -f /tmp/nx-writer
wait $writer 2>/dev/null
echo 100 >$P/nx_huge_pages_recovery_period_ms
t_end=$(cut -d' ' -f1 /proc/uptime)
note "$n freeze/thaw cycles with parameter writes in $(echo "$t_start $t_end" | awk '{ printf "%.1f", $2 - $1 }') s; worker $(nx_tid)"

# 3. criu dump --leave-running.
rm -rf "$img" && mkdir -p "$img"
a=$(counters $st)
if $CRIU dump -t "$pid" -D "$img" -v4 -o dump.log --leave-running; then
	grep -E "nestckpt: (froze|thawed)" "$img/dump.log" | indent
else
	fail "criu dump --leave-running failed"
	show_log "$img/dump.log"
fi
alive || { fail "--leave-running: the VMM is gone"; restore_params; exit 1; }
t2=$(wait_nx) || fail "--leave-running: no worker within ${back_wait}s"
note "after --leave-running: worker $t2"
wait_moved "$a" || fail "--leave-running: the VMM does not run on"

# 4. criu dump + restore.
rm -rf "$img" && mkdir -p "$img"
if ! $CRIU dump -t "$pid" -D "$img" -v4 -o dump.log; then
	fail "criu dump failed"
	show_log "$img/dump.log"
	kill -KILL $pid
	restore_params
	exit 1
fi
wait $pid 2>/dev/null
alive && fail "the VMM still runs after criu dump"
frozen=$(counters $st)
$CRIU restore -D "$img" -v4 -o restore.log &
crpid=$!
wait_moved "$frozen" || { fail "restored VMM does not run"; show_log "$img/restore.log"; }
t3=$(wait_nx) || fail "restored VMM: no worker within ${back_wait}s"
note "restored VMM $pid: worker $t3"
grep 'nestckpt:' "$img/restore.log" | tail -n 3 | indent

# 5b. The restored VMM's worker runs its period as before.
w_after=$(wakeups "$t3" 3)
note "worker $t3: $w_after wakeups in 3 s (before the checkpoints: $w_before)"
[ "$w_after" -ge 10 ] || fail "the restored VMM's worker does not run its period: $w_after wakeups"
restore_params

# 6. nestvmm's verdict.
[ -z "$(checks $st)" ] || fail "nestvmm counted failures: $(checks $st)"
kill -TERM $pid
wait $crpid
rc=$?
note "nestvmm exit $rc"
grep -E 'FAIL|PASSED|FAILED|nestvmm:' "$out" | indent
[ $rc -eq 0 ] || fail "nestvmm's verdict: exit $rc"

[ $failures -eq 0 ]
