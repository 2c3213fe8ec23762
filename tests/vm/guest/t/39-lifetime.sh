#!/bin/sh
# 39-lifetime: a freeze and the lives of the processes around it.
#  (a) attached: a holder (nestckptctl freeze --hold, as criu's plugin
#      freezes) is SIGKILLed while the VMM is frozen: the module thaws the VMM
#      when the holder's file goes; L2 counts on, L1 saw no exit it did not
#      cause (nestvmm's verdict at the end);
#  (b) detached: plain `nestckptctl freeze` exits, the VMM stays frozen until
#      a later `nestckptctl thaw`;
#  (c) the VMM's leader calls pthread_exit while frozen (its other threads
#      run on): still frozen, and thaw re-enters L2 (verdict passes);
#  (d) a thread of the frozen VMM (not a vCPU thread) exec()s: the freeze is
#      dropped (status shows none, thaw says why, a new freeze is refused by
#      name) and the module unloads while the new image still runs;
#  (e) the VMM write-protects the page of its vmcb12/vmcs12 with a
#      userfaultfd it never serves: freeze fails within its timeout with a
#      clear error and the VMM runs on (and freezes fine once it lets go).
# About 60-90 s under QEMU.
#
# Exit: 0 pass, 77 skip, anything else fail.  Diagnostics start with "# ".
. /opt/nestckpt/lib/common.sh

[ -c /dev/kvm ] || { note "no /dev/kvm"; exit 77; }
nestckpt_loaded || exit 1

# Bochs runs guests some 20 times slower than QEMU here.
start_wait=60 settle=1 slack=10
[ "${NC_EMU:-qemu}" != bochs ] || start_wait=180 settle=3 slack=30

# start NAME ARGS...: nestvmm in the background until it is ready ($pid, $st, $out).
start() {
	_s=$1
	shift
	vmm_start lt "$_s" $start_wait "$@"
}

l2() { stat_of "$st" vcpu0.l2_count; }

# moving WHAT: L2's counter moves (the stats file is rewritten every 250 ms).
moving() {
	_a=$(l2)
	sleep $((settle + 1))
	_b=$(l2)
	[ "${_b:-0}" -gt "${_a:-0}" ] && return 0
	fail "$1: L2 counter not moving ($_a -> $_b)"
	return 1
}

# still WHAT: L2's counter stands still (frozen).
still() {
	sleep 1
	_a=$(l2)
	sleep $settle
	_b=$(l2)
	[ "$_a" = "$_b" ] && return 0
	fail "$1: L2 ran while frozen ($_a -> $_b)"
	return 1
}

frozen() { nestckptctl status $1 2>/dev/null | grep -q "^pid [0-9]*: frozen"; }

# until_ SECONDS CMD...: poll CMD every 0.2 s.
until_() {
	_n=$(($1 * 5))
	shift
	while ! "$@"; do
		_n=$((_n - 1))
		[ $_n -gt 0 ] || return 1
		sleep 0.2
	done
}

# verdict NAME: stop nestvmm and want its verdict to pass.
verdict() {
	kill -TERM $pid
	wait $pid
	_rc=$?
	grep -E 'nestvmm:' "$out" | indent
	grep -E '^vcpu0\.(l2_count|l1_exits|unexpected|first_unexpected|missed|pattern)' "$st" | indent
	[ $_rc -eq 0 ] || fail "$1: nestvmm's verdict: exit $_rc"
}

# --- (a) the holder of an attached freeze dies
start held --vcpu l2 --vcpu l1 || exit 1
nestckptctl freeze --hold $pid >/tmp/lt-hold.out 2>&1 &
holder=$!
if until_ 20 grep -q frozen /tmp/lt-hold.out && frozen $pid; then
	still "(a) held"
	kill -KILL $holder
	wait $holder 2>/dev/null
	if until_ 10 eval '! frozen $pid'; then
		note "(a) thawed after its holder was killed"
		moving "(a) after the holder died"
	else
		fail "(a) still frozen 10 s after the process that froze it was killed"
		nestckptctl thaw $pid >/dev/null 2>&1
	fi
else
	fail "(a) freeze --hold: $(cat /tmp/lt-hold.out)"
	kill -KILL $holder 2>/dev/null
fi
verdict "(a)"

# --- (b) a detached freeze outlives its caller
start detached --vcpu l2 || exit 1
if out_b=$(nestckptctl freeze $pid 2>&1); then
	sleep 2
	frozen $pid || fail "(b) no longer frozen after nestckptctl freeze exited"
	still "(b) detached"
	if nestckptctl thaw $pid >/dev/null; then
		moving "(b) after thaw"
	else
		fail "(b) thaw failed"
	fi
else
	fail "(b) freeze: $out_b"
fi
verdict "(b)"

# --- (c) the leader exits alone while frozen
start leader --vcpu l2 --vcpu l1 --leader-exit-on PROF || exit 1
if out_c=$(nestckptctl freeze $pid 2>&1); then
	kill -PROF $pid
	until_ 10 grep -q '^State:.*Z' /proc/$pid/status ||
		fail "(c) the leader did not exit: $(grep State /proc/$pid/status)"
	sleep 2		# the module's watchdog looks every 0.5 s
	# Any live thread names the VMM (the leader is a zombie).
	tid=$(ls /proc/$pid/task | grep -v "^$pid\$" | head -n 1)
	frozen $tid || fail "(c) the freeze was dropped when the leader exited"
	still "(c) leader gone"
	if ! nestckptctl thaw $pid >/tmp/lt-thaw-c.out 2>&1; then
		note "(c) thaw by the leader's pid: $(cat /tmp/lt-thaw-c.out); by thread $tid"
		nestckptctl thaw $tid >/tmp/lt-thaw-c.out 2>&1 ||
			fail "(c) thaw: $(cat /tmp/lt-thaw-c.out)"
	fi
	moving "(c) after thaw"
else
	fail "(c) freeze: $out_c"
fi
verdict "(c)"

# --- (d) exec while frozen
start exec --vcpu l2 --exec-on PROF || exit 1
if out_d=$(nestckptctl freeze $pid 2>&1); then
	kill -PROF $pid
	if until_ 10 grep -q '^sleep$' /proc/$pid/comm; then
		sleep 1
		s=$(nestckptctl status $pid 2>&1)
		note "(d) after exec: $s"
		echo "$s" | grep -q frozen && fail "(d) status still shows a freeze after exec"
		if t=$(timeout 30 nestckptctl thaw $pid 2>&1); then
			fail "(d) thaw after exec succeeded: $t"
		else
			note "(d) thaw: $t"
			echo "$t" | grep -E -q "not frozen|exec" || fail "(d) thaw after exec: no clear reason: $t"
		fi
		if f=$(timeout 30 nestckptctl freeze $pid 2>&1); then
			fail "(d) freeze of the new image succeeded: $f"
			nestckptctl thaw $pid >/dev/null 2>&1
		else
			note "(d) freeze of the new image: $f"
			echo "$f" | grep -q "no KVM VM" || fail "(d) freeze of the new image not refused by name: $f"
		fi
		# The record is gone while the new image still runs: the module unloads.
		until_ 10 eval '[ "$(cat /sys/module/nestckpt/refcnt)" = 0 ]'
		if rmmod nestckpt 2>/tmp/lt-rmmod.out; then
			insmod "$NC_KO" || { fail "(d) re-insmod failed"; exit 1; }
		else
			fail "(d) rmmod after exec while frozen: $(cat /tmp/lt-rmmod.out), refcnt $(cat /sys/module/nestckpt/refcnt)"
		fi
	else
		fail "(d) the VMM did not exec: $(cat /proc/$pid/comm)"
	fi
else
	fail "(d) freeze: $out_d"
fi
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null
nestckpt_loaded || exit 1

# --- (e) a userfaultfd on the vmcb12/vmcs12 page
# No L2 exit to L1 (hypercalls every 2^40 iterations, no I/O): nothing but
# the freeze writes that page while it is write-protected.
start uffd --vcpu l2:count --hc-every 1099511627776 --uffd-vmcb-on PROF || exit 1
kill -PROF $pid
if until_ 10 grep -q "write-protected" "$out"; then
	moving "(e) write-protected, before the freeze"
	t0=$(date +%s)
	nestckptctl freeze --timeout 3000 $pid >/tmp/lt-uffd.out 2>&1 &
	fpid=$!
	if until_ $((3 + slack)) eval '! kill -0 $fpid 2>/dev/null'; then
		wait $fpid
		frc=$? t1=$(date +%s)
		note "(e) freeze: exit $frc after $((t1 - t0)) s: $(cat /tmp/lt-uffd.out)"
		[ $frc -ne 0 ] || fail "(e) freeze succeeded through a write-protected vmcb page"
		grep -q "timed out" /tmp/lt-uffd.out || fail "(e) freeze failed without a clear reason"
		frozen $pid && { fail "(e) left frozen"; nestckptctl thaw $pid >/dev/null 2>&1; }
		moving "(e) after the failed freeze"
	else
		fail "(e) freeze did not return within $((3 + slack)) s (blocked on the userfaultfd)"
	fi
	kill -PROF $pid		# let go of the page: a blocked freeze ends now
	until_ 10 grep -q "writable again" "$out" || fail "(e) the VMM did not let go of the page"
	wait $fpid 2>/dev/null
	frozen $pid && nestckptctl thaw $pid >/dev/null 2>&1
	if out_e=$(nestckptctl freeze $pid 2>&1); then
		still "(e) frozen once the page is writable"
		nestckptctl thaw $pid >/dev/null || fail "(e) thaw failed"
	else
		fail "(e) freeze once the page is writable: $out_e"
	fi
	moving "(e) at the end"
else
	fail "(e) nestvmm could not write-protect its vmcb page: $(grep uffd "$out")"
fi
# No full verdict: L1 runs only every 2^40 L2 iterations, so it makes no
# progress nestvmm could see; what L1 and L2 saw is checked instead.
kill -TERM $pid
wait $pid
grep -E '^vcpu0\.(state|l2_count|l1_exits|unexpected|first_unexpected|pattern)' "$st" | indent
[ "$(stat_of "$st" vcpu0.unexpected_exits)" = 0 ] || fail "(e) unexpected L1 exits"
[ "$(stat_of "$st" vcpu0.pattern_failures)" = 0 ] || fail "(e) pattern failures"
[ "$(stat_of "$st" vcpu0.state)" != failed ] || fail "(e) vCPU 0 failed: $(grep -i fail "$out")"

[ $failures -eq 0 ]
