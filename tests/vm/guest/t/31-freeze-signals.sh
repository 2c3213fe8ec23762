#!/bin/sh
# 31-freeze-signals: freeze/thaw must work whatever a VMM does with signals.
# nestvmm (vCPU 0 in L2, vCPU 1 in L1 with SVM/VMX on, vCPU 2 plain) gets a
# real-time signal at every vCPU thread every 1-10 ms from a thread of its
# own (as QEMU kicks its vCPU threads), first with a counting handler, then
# blocked but inside KVM_RUN (KVM_SET_SIGNAL_MASK, taken with sigtimedwait).
# Each freeze must succeed (no "did not stop in time"); while frozen no
# guest counter moves and no signal reaches the VMM's code; after the last
# thaw they move again; and nestvmm's verdict must pass: every signal sent
# was received exactly once (real-time signals queue: sent == received),
# KVM_RUN's EINTRs were retried, L1 saw only the exits L2 caused.
#
# Environment: NC_EMU=qemu|bochs (cycle count), NC_FREEZE_CYCLES overrides
# (the handler run; the blocked run does a fifth of them).  Each run stops
# early at a time budget (NC_SIGNAL_BUDGET seconds, the blocked run half of
# it) so that a loaded machine reports how far it got instead of hitting the
# test's time limit; it must still have done 50 cycles (or all).
# Exit: 0 pass, 77 skip, anything else fail.  Diagnostics start with "# ".
. /opt/nestckpt/lib/common.sh

[ -c /dev/kvm ] || { note "no /dev/kvm"; exit 77; }
nestckpt_loaded || exit 1

if [ "${NC_EMU:-qemu}" = bochs ]; then
	cycles=${NC_FREEZE_CYCLES:-50} start_wait=180 settle=3
	budget=${NC_SIGNAL_BUDGET:-1500}
else
	cycles=${NC_FREEZE_CYCLES:-1000} start_wait=60 settle=1
	budget=${NC_SIGNAL_BUDGET:-200}
fi
# Give up on a run after this many failed freezes (each may take the
# module's 10 s timeout); the count so far is reported.
max_fail=5

# The counters that must stand still while frozen and move otherwise.
counters() { # STATS
	echo "$(stat_of "$1" vcpu0.l2_count) $(stat_of "$1" vcpu1.l1_count)" \
		"$(stat_of "$1" vcpu2.l1_count)"
}

# What the VMM's vCPU threads received: must not move while frozen either.
received() { # STATS
	for c in 0 1 2; do
		printf '%s ' $(($(stat_of "$1" vcpu$c.sig_handled) + $(stat_of "$1" vcpu$c.sig_taken)))
	done
}

# run MODE CYCLES SECONDS: one nestvmm, CYCLES freeze/thaw cycles (fewer
# if SECONDS run out first), its verdict.
run() {
	mode=$1 want=$2 secs=$3
	st=/tmp/fs-$mode.stats out=/tmp/fs-$mode.out
	rm -f "$st" "$out"
	nestvmm --stats "$st" --vcpu l2 --vcpu l1 --vcpu plain \
		--signal-every-us 1000-10000 --signal-mode "$mode" >"$out" 2>&1 &
	pid=$!
	if ! vmm_ready "$st" $pid $start_wait; then
		fail "$mode: nestvmm did not get ready"
		indent <"$out"
		return
	fi
	note "$mode: pid $pid, $want freeze/thaw cycles, signals every 1-10 ms"
	n=0 nfail=0 froze_l2=0 bad=0 t0=$(date +%s)
	while [ $n -lt $want ] && [ $nfail -lt $max_fail ] && [ $bad = 0 ] &&
	      [ $(($(date +%s) - t0)) -lt "$secs" ]; do
		if ! fout=$(nestckptctl freeze $pid 2>&1); then
			nfail=$((nfail + 1))
			fail "$mode: cycle $n: freeze: $fout"
			n=$((n + 1))
			continue
		fi
		left=$(echo "$fout" | sed -n 's/.*, \([0-9]*\) taken out of L2/\1/p')
		froze_l2=$((froze_l2 + ${left:-0}))
		if [ $n -lt 2 ] || [ $((n % 100)) -eq 0 ]; then
			# The stats file is rewritten every 250 ms: let a pre-freeze copy age out.
			sleep 1
			a=$(counters "$st") ra=$(received "$st")
			sleep $settle
			b=$(counters "$st") rb=$(received "$st")
			[ "$a" = "$b" ] || { fail "$mode: cycle $n: guests ran while frozen: $a -> $b"; bad=1; }
			[ "$ra" = "$rb" ] || { fail "$mode: cycle $n: signals reached the VMM while frozen: $ra -> $rb"; bad=1; }
		fi
		if ! tout=$(nestckptctl thaw $pid 2>&1); then
			fail "$mode: cycle $n: thaw: $tout"
			bad=1
		fi
		n=$((n + 1))
		[ $((n % 100)) -ne 0 ] || note "$mode: $n cycles, $(($(date +%s) - t0)) s"
	done
	note "$mode: $n cycles in $(($(date +%s) - t0)) s, $nfail failed freezes, $froze_l2 L2 exits forced"
	[ $froze_l2 -gt 0 ] || fail "$mode: no cycle found vCPU 0 in L2"
	if [ $n -lt $want ] && [ $nfail -lt $max_fail ] && [ $bad = 0 ]; then
		note "$mode: time budget of ${secs} s used up after $n of $want cycles"
		[ $n -ge 50 ] || fail "$mode: only $n cycles in ${secs} s"
	fi

	a=$(counters "$st")
	sleep $settle
	sleep $settle
	b=$(counters "$st")
	note "$mode: after thaw: $a -> $b"
	set -- $a
	a0=$1 a1=$2 a2=$3
	set -- $b
	[ "$1" -gt "$a0" ] && [ "$2" -gt "$a1" ] && [ "$3" -gt "$a2" ] ||
		fail "$mode: a counter did not move after the last thaw"

	kill -TERM $pid
	wait $pid
	rc=$?
	note "$mode: nestvmm exit $rc"
	grep -E 'FAIL|PASSED|FAILED|nestvmm:' "$out" | indent
	grep -E '^vcpu[0-9]\.(l2_count|l1_count|unexpected|missed|pattern|kvm_eintr|sig_)' "$st" | indent
	[ $rc -eq 0 ] || fail "$mode: nestvmm's verdict after $n freeze/thaw cycles: exit $rc"
	for c in 0 1 2; do
		[ "$(stat_of "$st" vcpu$c.sig_sent)" -gt 0 ] 2>/dev/null ||
			fail "$mode: vcpu$c was sent no signal"
	done
}

run handler "$cycles" "$budget"
run blocked $(((cycles + 4) / 5)) $((budget / 2))

[ $failures -eq 0 ]
